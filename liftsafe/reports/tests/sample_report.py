"""A realistic ReportData built by hand (Chinese labels, every kind of chart, a long table), for renderer tests."""
from __future__ import annotations


def _ind(key, label, unit, value, previous, last_year, num=None, den=None):
    return {"key": key, "label": label, "unit": unit, "value": value, "previous": previous, "last_year": last_year,
            "numerator": num, "denominator": den}


def sample_data(*, language: str = "zh-hans", long_rows: int = 60) -> dict:
    """Xuanwu district, May 2023: 12,480 elevators, 312 faults, 187 entrapments; a ``long_rows``-row table
    (to exercise page breaks with repeated headings)."""
    units = [f"南京第{i + 1}物业管理有限公司" for i in range(long_rows)]
    return {
        "version": 1,
        "language": language,
        "area": {"code": "320102", "name": "玄武区"},
        "period": {"kind": "month", "label": "2023-05", "start": "2023-05-01", "end": "2023-06-01", "months": 1},
        "compare": {"previous": {"label": "2023-04"}, "last_year": {"label": "2022-05"}},
        "generated_at": "2023-06-01T02:00:00+08:00",
        "empty": False,
        "sections": [
            {"key": "overview", "title": "总体情况：在用电梯、故障与困人",
             "indicators": [
                 _ind("elevators_in_use", "在用电梯数量", "count", 12480, 12480, 11902),
                 _ind("faults", "故障次数", "count", 312, 287, 355),
                 _ind("entrapments", "困人次数", "count", 187, 187, 201),
                 _ind("fault_rate", "故障率", "%", 2.5, 2.3, 2.98, 312, 12480),
                 _ind("entrapment_rate", "困人率", "%", 1.5, 1.5, 1.69, 187, 12480),
                 _ind("entrapments_per_10k", "万台困人数", "per 10k", 149.84, 149.84, 168.88, 187, 12480),
             ],
             "tables": [{"key": "by_category", "title": "按电梯品种统计", "columns": ["品种", "在用电梯", "故障", "困人", "故障率（%）"],
                         "rows": [["曳引驱动乘客电梯", 10211, 280, 176, 2.74], ["自动扶梯", 1502, 21, 0, 1.4],
                                  ["杂物电梯", 767, 11, 11, 1.43], ["未知", 0, 0, 0, None]]}],
             "charts": [{"key": "by_month", "title": "各月故障与困人", "kind": "line",
                         "x": ["2022-06", "2022-07", "2022-08", "2022-09", "2022-10", "2022-11", "2022-12", "2023-01",
                               "2023-02", "2023-03", "2023-04", "2023-05"],
                         "series": [{"name": "故障", "values": [301, 340, 362, 298, 280, 266, 270, 255, 249, 276, 287, 312]},
                                    {"name": "困人", "values": [180, 210, 224, 170, 166, 150, 160, 149, 140, 168, 187, 187]}],
                         "unit": "count"}],
             "notes": ["在用电梯数量按报告生成时的登记状态统计。"]},
            {"key": "causes", "title": "故障原因",
             "indicators": [],
             "tables": [{"key": "causes_by_class", "title": "按原因类别统计", "columns": ["原因类别", "故障", "占比（%）"],
                         "rows": [["门系统", 141, 45.19], ["外部原因", 62, 19.87], ["电气控制系统", 50, 16.03],
                                  ["曳引系统", 31, 9.94], ["人为原因", 28, 8.97]]}],
             "charts": [{"key": "causes_by_class", "title": "按原因类别统计的故障", "kind": "pie",
                         "x": ["门系统", "外部原因", "电气控制系统", "曳引系统", "人为原因"],
                         "series": [{"name": "故障", "values": [141, 62, 50, 31, 28]}], "unit": "count"},
                        {"key": "causes_barh", "title": "主要故障原因", "kind": "barh",
                         "x": ["门系统", "外部原因", "电气控制系统", "曳引系统", "人为原因"],
                         "series": [{"name": "故障", "values": [141, 62, 50, 31, 28]}], "unit": "count"}],
             "notes": []},
            {"key": "response", "title": "响应、到达与现场救援",
             "indicators": [
                 _ind("response_mean", "响应时间（平均）", "min", 2.35, 2.6, None, None, 187),
                 _ind("response_kpi_rate", "3分钟响应率", "%", 91.44, 88.2, 85.0, 171, 187),
                 _ind("arrival_median", "到达时间（中位数）", "min", 17.5, 18.25, 21.0, None, 187),
                 _ind("arrival_kpi_rate", "30分钟到达率", "%", 96.79, 96.79, None, 181, 187),
             ],
             "tables": [],
             "charts": [{"key": "durations", "title": "响应、到达和现场救援用时", "kind": "bar", "x": ["平均", "中位数", "90分位"],
                         "series": [{"name": "响应", "values": [2.35, 1.8, 4.2]}, {"name": "到达", "values": [18.4, 17.5, 27.9]},
                                    {"name": "现场救援", "values": [9.1, 7.5, None]}], "unit": "min"}],
             "notes": []},
            {"key": "rankings", "title": "使用单位、维保单位和品牌排名",
             "indicators": [],
             "tables": [{"key": "top_use_units", "title": "使用单位故障率排名", "columns": ["使用单位", "在用电梯", "故障", "故障率（%）"],
                         "rows": [[name, 40 + i, 20 - i % 20, round((20 - i % 20) * 100 / (40 + i), 2)] for i, name in enumerate(units)]}],
             "charts": [],
             "notes": ["仅对在用电梯不少于 20 台的单位和品牌排名。"]},
        ],
        "definitions": [
            {"key": "fault_rate", "label": "故障率", "formula": "故障次数 ÷ 在用电梯数量 × 100%", "source": "docs/domain §3.6：CPASE M001-2015"},
            {"key": "entrapment_rate", "label": "困人率", "formula": "困人次数 ÷ 在用电梯数量 × 100%", "source": "docs/domain §3.6"},
            {"key": "response_kpi_rate", "label": "3分钟响应率", "formula": "3分钟内响应数 ÷ 已测响应数 × 100%", "source": "docs/domain §3.4"},
        ],
    }
