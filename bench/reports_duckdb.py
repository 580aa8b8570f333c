"""The monthly report's aggregates in DuckDB over a Parquet export of the same tables (issue 6 benchmark).

:func:`export` copies the columns the report reads from PostgreSQL (``COPY (SELECT …) TO STDOUT (FORMAT csv)``
with the session in UTC, so timestamps carry their offset) to CSV and converts each to Parquet with DuckDB.

:func:`compute` is an independent re-implementation of every number of
``liftsafe.reports.selectors.report_data`` as DuckDB SQL (same definitions, same half-open local-date period
bounds in Asia/Shanghai through DuckDB's ICU time zones, same scoping for an administrator: elevators,
cases and hazards whose area path starts with the report area's path). Only the final shaping (ordering
rows, percentages rounded to 2 or 3 decimals, durations to minutes with 2 decimals) is done in Python,
re-written here, not imported, so that a bug in the product's helpers would show as a mismatch.

It returns ``{"indicators": {key: (value, previous, last_year, numerator, denominator)},
"tables": {key: [row, …]}}`` with the product's row layout, and :func:`compare` lists every difference
against a product ReportData.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

TABLES = {
    "areas": ("core_area", "id, code, name, name_en, path, level",
              "id BIGINT, code VARCHAR, name VARCHAR, name_en VARCHAR, path VARCHAR, level VARCHAR"),
    "orgs": ("registry_organisation", "id, kind, name", "id BIGINT, kind VARCHAR, name VARCHAR"),
    "elevators": ("registry_elevator",
                  "id, source_id, registration_code, equipment_code, address, area_id, category, place_type, status, "
                  "installation_date, use_unit_id, manufacturer_id, manufacturer_name_raw, status_date",
                  "id BIGINT, source_id VARCHAR, registration_code VARCHAR, equipment_code VARCHAR, address VARCHAR, area_id BIGINT, "
                  "category VARCHAR, place_type SMALLINT, status VARCHAR, installation_date DATE, use_unit_id BIGINT, "
                  "manufacturer_id BIGINT, manufacturer_name_raw VARCHAR, status_date DATE"),
    "lifecycle": ("registry_lifecycleevent", "id, elevator_id, kind, occurred_on",
                  "id BIGINT, elevator_id BIGINT, kind VARCHAR, occurred_on DATE"),
    "contracts": ("registry_maintenancecontract", "id, elevator_id, maintenance_unit_id, start_date, end_date",
                  "id BIGINT, elevator_id BIGINT, maintenance_unit_id BIGINT, start_date DATE, end_date DATE"),
    "cases": ("emergency_emergencycase",
              "id, elevator_id, channel, case_type, state, received_at, released_count, dispatched_at, responded_at, "
              "arrived_at, released_at, cause_class, cause_item",
              "id BIGINT, elevator_id BIGINT, channel VARCHAR, case_type VARCHAR, state VARCHAR, received_at TIMESTAMPTZ, "
              "released_count SMALLINT, dispatched_at TIMESTAMPTZ, responded_at TIMESTAMPTZ, arrived_at TIMESTAMPTZ, "
              "released_at TIMESTAMPTZ, cause_class VARCHAR, cause_item VARCHAR"),
    "hazards": ("hazards_hazard", "id, elevator_id, area_id, state, level, filed_at, closed_at, closed_on_time",
                "id BIGINT, elevator_id BIGINT, area_id BIGINT, state VARCHAR, level VARCHAR, filed_at TIMESTAMPTZ, "
                "closed_at TIMESTAMPTZ, closed_on_time BOOLEAN"),
    "rechecks": ("hazards_recheck", "id, hazard_id, result, checked_at",
                 "id BIGINT, hazard_id BIGINT, result VARCHAR, checked_at TIMESTAMPTZ"),
}


def connect():
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute(f"SET threads = {os.cpu_count() or 2}")
    con.execute("SET memory_limit = '4GB'")
    con.execute("SET preserve_insertion_order = false")
    return con


def export(db_url: str, out_dir: str | Path, log=print) -> dict:
    """PostgreSQL → CSV → Parquet for :data:`TABLES`. Returns {table: (rows, seconds, bytes)}."""
    import psycopg

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = connect()
    stats = {}
    with psycopg.connect(db_url) as pg:
        pg.execute("SET TimeZone = 'UTC'")
        for name, (table, cols, types) in TABLES.items():
            t = time.perf_counter()
            csv = out / f"{name}.csv"
            with open(csv, "wb") as f, pg.cursor().copy(f"COPY (SELECT {cols} FROM {table}) TO STDOUT (FORMAT csv, HEADER)") as cp:
                for chunk in cp:
                    f.write(chunk)
            coldefs = ", ".join(f"'{c.split()[0]}': '{' '.join(c.split()[1:])}'" for c in types.split(", "))
            pq = out / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM read_csv('{csv}', header = true, columns = {{{coldefs}}}, nullstr = '')) "
                        f"TO '{pq}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
            csv.unlink()
            rows = con.execute(f"SELECT count(*) FROM '{pq}'").fetchone()[0]
            stats[name] = (rows, time.perf_counter() - t, pq.stat().st_size)
            log(f"  {name:10s} {rows:>12,} rows  {stats[name][1]:6.1f} s  {pq.stat().st_size / 1e6:8.1f} MB")
    con.close()
    return stats


# --------------------------------------------------------------------------- Python shaping (re-written, not imported)
def _pct(num, den, scale=100.0, digits=2):
    if num is None or not den:
        return None
    return round(num * scale / den, digits)


def _minus_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


class Rules:
    def __init__(self, rule):
        self.resp = rule("report_response_kpi_s")
        self.arr = rule("report_arrival_kpi_s")
        self.min_fleet = int(rule("report_min_fleet_size"))
        self.top = int(rule("report_top_n"))
        self.age = list(rule("report_age_bands_years"))
        self.hours = list(rule("report_hour_bands"))
        self.repeat = int(rule("report_repeat_min_entrapments"))


def compute(con, parquet_dir: str | Path, *, area_code: str | None, start: dt.date, months: int, rules: Rules,
            channels: list[str], case_types: list[str], hazard_levels: list[str], cause_order: list[str],
            timings: dict | None = None, materialize: bool = False) -> dict:
    """All numbers of the monthly/quarterly report of ``area_code`` over ``[start, start + months)`` (local dates).

    ``materialize`` False: one DuckDB query per aggregate, each scanning the Parquet files with the area filter
    (the product's query shape). True: the area's elevators and each period's cases in the area are read once
    into temporary tables and every aggregate runs on those (how one would write it for a columnar engine).
    """
    d = Path(parquet_dir)
    timings = timings if timings is not None else {}

    def q(label, sql, params=()):
        t = time.perf_counter()
        rows = con.execute(sql, params).fetchall()
        timings[label] = timings.get(label, 0.0) + time.perf_counter() - t
        return rows

    for name in TABLES:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{d / (name + '.parquet')}')")
    root = ""
    if area_code:
        r = con.execute("SELECT path FROM areas WHERE code = ?", [area_code]).fetchone()
        if r is None:
            raise ValueError(f"unknown area {area_code}")
        root = r[0]
    # scope: admin sees all; the report area narrows by path prefix
    con.execute("CREATE OR REPLACE TEMP TABLE a_in AS SELECT id, path FROM areas WHERE starts_with(path, ?)", [root])
    # elevators in use in the area
    kind = "TABLE" if materialize else "VIEW"
    t0 = time.perf_counter()
    sfx = "_m" if materialize else "_v"  # a temp view and a temp table may not share a name
    con.execute(f"CREATE OR REPLACE TEMP {kind} e_area{sfx} AS SELECT e.* FROM elevators e WHERE e.area_id IN (SELECT id FROM a_in)")

    def in_use_at(end: dt.date) -> str:  # selectors.fleet_q: in use at the period's end (exclusive local date)
        d = f"DATE '{end.isoformat()}'"
        return (f"(e.installation_date IS NULL OR e.installation_date < {d}) AND (e.status = 'in_use' OR "
                f"(e.status = 'scrapped' AND e.status_date >= {d})) AND e.id NOT IN "
                f"(SELECT elevator_id FROM lifecycle WHERE kind = 'scrapped' AND occurred_on < {d})")

    con.execute(f"CREATE OR REPLACE TEMP {kind} e_in{sfx} AS SELECT e.* FROM e_area{sfx} e "
                f"WHERE {in_use_at(_add_months(start, months))}")
    ELEV = f"e_area{sfx}" if materialize else "elevators"
    timings["materialize"] = timings.get("materialize", 0.0) + time.perf_counter() - t0

    def bounds(s: dt.date, m: int):
        e = _add_months(s, m)
        return (f"{s.isoformat()} 00:00:00", f"{e.isoformat()} 00:00:00", s, e)

    cur = bounds(start, months)
    prev = bounds(_add_months(start, -months), months)
    ly = bounds(start.replace(year=start.year - 1), months)

    made: dict = {}

    def cases_sql(b):  # cases received in the period on elevators in the area (any elevator status)
        sql = (f"(SELECT c.* FROM cases c WHERE c.received_at >= TIMESTAMPTZ '{b[0]}' AND c.received_at < TIMESTAMPTZ '{b[1]}' "
               f"AND c.elevator_id IN (SELECT id FROM e_area{sfx}))")
        if not materialize:
            return sql
        if b not in made:
            t = time.perf_counter()
            made[b] = f"c_p{len(made)}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {made[b]} AS {sql[1:-1]}")
            timings["materialize"] = timings.get("materialize", 0.0) + time.perf_counter() - t
        return made[b]

    # selectors.FAULT_Q: entrapments and fault reports that are not false alarms or cancelled (enquiries are not faults)
    NOT_FAULT = "c.state IN ('false_alarm', 'cancelled')"
    FAULT = f"(NOT {NOT_FAULT} AND c.case_type IN ('entrapment', 'fault_report'))"
    ENTR = f"({FAULT} AND c.case_type = 'entrapment')"

    def headline(b):
        out = {}
        # each period its own fleet, at its end
        fleet = q("fleet", f"SELECT count(*) FROM e_area{sfx} e WHERE {in_use_at(b[3])}")[0][0]
        n, f, e, people, nf, disp = q("headline: counts", f"""SELECT count(*), count(*) FILTER ({FAULT}), count(*) FILTER ({ENTR}),
            sum(c.released_count) FILTER ({FAULT}), count(*) FILTER ({NOT_FAULT}),
            count(*) FILTER ({ENTR} AND c.dispatched_at IS NOT NULL) FROM {cases_sql(b)} c""")[0]
        people = int(people or 0)
        out["elevators_in_use"] = (fleet, fleet, None)
        out["cases"] = (n, n, None)
        out["faults"] = (f, f, None)
        out["entrapments"] = (e, e, None)
        out["false_alarms"] = (nf, nf, None)
        out["people_released"] = (people, people, None)
        out["fault_rate"] = (_pct(f, fleet), f, fleet)
        out["entrapment_rate"] = (_pct(e, fleet), e, fleet)
        out["monthly_entrapment_rate"] = (_pct(e, fleet * months, digits=3), e, fleet * months)
        out["entrapments_per_10k"] = (_pct(e, fleet, scale=10000.0), e, fleet)
        for kind, a, z, limit in (("response", "dispatched_at", "responded_at", rules.resp),
                                  ("arrival", "dispatched_at", "arrived_at", rules.arr),
                                  ("on_site", "arrived_at", "released_at", None)):
            lim = f"count(*) FILTER (us <= {int(limit * 1_000_000)})" if limit is not None else "NULL"
            n_, s_, med, p90, within = q(f"headline: {kind}", f"""
                SELECT count(*), sum(us), median(us),
                       CASE WHEN count(*) > 0 THEN list_sort(list(us))[greatest(1, ceil({90 / 100.0} * count(*))::BIGINT)] END, {lim}
                FROM (SELECT epoch_us(c.{z}) - epoch_us(c.{a}) AS us FROM {cases_sql(b)} c
                      WHERE {ENTR} AND c.{a} IS NOT NULL AND c.{z} IS NOT NULL)""")[0]
            stats = {"mean": round(s_ / 1e6 / n_ / 60.0, 2) if n_ else None,
                     "median": round(float(med) / 1e6 / 60.0, 2) if n_ else None,
                     "p90": round(p90 / 1e6 / 60.0, 2) if n_ else None}
            for st in ("mean", "median", "p90"):
                out[f"{kind}_{st}"] = (stats[st], None, n_)
            if limit is not None:
                # finished period: every dispatched entrapment is in the denominator (a missing time is a miss)
                out[f"{kind}_kpi_rate"] = (_pct(within, disp), within, disp)
        rep = q("headline: repeat", f"""SELECT count(*) FROM (SELECT c.elevator_id FROM {cases_sql(b)} c WHERE {ENTR}
                                          GROUP BY 1 HAVING count(*) >= {rules.repeat})""")[0][0]
        out["repeat_elevators"] = (rep, rep, None)
        hz = "(SELECT * FROM hazards WHERE state NOT IN ('lead', 'dismissed') AND area_id IN (SELECT id FROM a_in))"
        filed, closed = q("headline: hazards", f"""SELECT count(*), count(*) FILTER (state = 'closed' AND closed_at < TIMESTAMPTZ '{b[1]}')
            FROM {hz} h WHERE filed_at >= TIMESTAMPTZ '{b[0]}' AND filed_at < TIMESTAMPTZ '{b[1]}'""")[0]
        cn, on_time = q("headline: hazards", f"""SELECT count(*), count(*) FILTER (closed_on_time) FROM {hz} h WHERE state = 'closed'
            AND closed_at >= TIMESTAMPTZ '{b[0]}' AND closed_at < TIMESTAMPTZ '{b[1]}'""")[0]
        done, rec = q("headline: hazards", f"""SELECT count(*), count(*) FILTER (result = 'recurrence') FROM rechecks r
            WHERE r.hazard_id IN (SELECT id FROM {hz}) AND checked_at >= TIMESTAMPTZ '{b[0]}' AND checked_at < TIMESTAMPTZ '{b[1]}'
            AND result <> 'pending'""")[0]
        out["hazards_filed"] = (filed, filed, None)
        out["rectification_rate"] = (_pct(closed, filed), closed, filed)
        out["on_time_rate"] = (_pct(on_time, cn), on_time, cn)
        out["recurrence_rate"] = (_pct(rec, done), rec, done)
        return out

    h_cur, h_prev, h_ly = headline(cur), headline(prev), headline(ly)
    indicators = {k: (v[0], h_prev[k][0], h_ly[k][0], v[1], v[2]) for k, v in h_cur.items()}

    # ---- breakdowns of the report period
    C = cases_sql(cur)
    tables = {}

    def fleet_cases(label, ekey, ckey, join_e=False):
        fl = dict(q(label, f"SELECT {ekey} AS k, count(*) FROM e_in{sfx} e GROUP BY 1"))
        src = f"{C} c JOIN {ELEV} e ON e.id = c.elevator_id" if join_e else f"{C} c"
        cs = {k: (f, e) for k, f, e in q(label, f"SELECT {ckey} AS k, count(*), count(*) FILTER ({ENTR}) FROM {src} WHERE {FAULT} GROUP BY 1")}
        return fl, cs

    def fleet_rows(keys, fl, cs):
        rows = []
        for k in keys:
            n = fl.get(k, 0)
            f, e = cs.get(k, (0, 0))
            rows.append([k, n, f, e, _pct(f, n), _pct(e, n), _pct(e, n * months, digits=3)])
        return rows

    fl, cs = fleet_cases("by_category", "e.category", "e.category", join_e=True)
    tables["by_category"] = fleet_rows(sorted(set(fl) | set(cs), key=lambda k: (k is None, k or "")), fl, cs)
    fl, cs = fleet_cases("by_place_type", "e.place_type", "e.place_type", join_e=True)
    tables["by_place_type"] = fleet_rows(sorted(set(fl) | set(cs), key=lambda k: (k is None, k or 0)), fl, cs)
    ref = cur[3] - dt.timedelta(days=1)
    whens, lo, keys = [f"WHEN e.installation_date > DATE '{ref.isoformat()}' THEN 'unknown'"], 0, []
    for hi in rules.age:
        whens.append(f"WHEN e.installation_date > DATE '{_minus_years(ref, hi + 1).isoformat()}' THEN '{lo}-{hi}'")
        keys.append(f"{lo}-{hi}")
        lo = hi + 1
    whens.append(f"WHEN e.installation_date IS NOT NULL THEN '>{rules.age[-1]}'")
    keys += [f">{rules.age[-1]}", "unknown"]
    band = "CASE " + " ".join(whens) + " ELSE 'unknown' END"
    fl, cs = fleet_cases("by_age_band", band, band, join_e=True)
    tables["by_age_band"] = fleet_rows(keys, fl, cs)
    # by area: the child of the report area holding the elevator's area
    grp = f"CASE WHEN length(a.path) > {len(root)} THEN '{root}' || split_part(substr(a.path, {len(root) + 1}), '/', 1) || '/' ELSE '{root}' END"
    fl = dict(q("by_area", f"SELECT {grp}, count(*) FROM e_in{sfx} e JOIN areas a ON a.id = e.area_id GROUP BY 1"))
    cs = {k: (f, e) for k, f, e in q("by_area", f"""SELECT {grp}, count(*), count(*) FILTER ({ENTR}) FROM {C} c
        JOIN {ELEV} e ON e.id = c.elevator_id JOIN areas a ON a.id = e.area_id WHERE {FAULT} GROUP BY 1""")}
    codes = dict(q("by_area", "SELECT path, code FROM areas"))
    keys = sorted(set(fl) | set(cs), key=lambda p: codes.get(p, p))
    tables["by_area"] = [[r[0], codes.get(r[0], r[0])] + r[1:] for r in fleet_rows(keys, fl, cs)]
    # channel, type
    got = {k: (n, f, e) for k, n, f, e in q("by_channel", f"SELECT channel, count(*), count(*) FILTER ({FAULT}), count(*) FILTER ({ENTR}) FROM {C} c GROUP BY 1")}
    tables["by_channel"] = [[k, *got.get(k, (0, 0, 0))] for k in channels] + [[k, *v] for k, v in sorted(got.items()) if k not in channels]
    got = {k: (n, f) for k, n, f in q("by_type", f"SELECT case_type, count(*), count(*) FILTER ({FAULT}) FROM {C} c GROUP BY 1")}
    tables["by_type"] = [[k, *got.get(k, (0, 0))] for k in case_types]
    # hour band, month (local time)
    got = {h: (f, e) for h, f, e in q("by_hour_band", f"SELECT hour(c.received_at), count(*), count(*) FILTER ({ENTR}) FROM {C} c WHERE {FAULT} GROUP BY 1")}
    tables["by_hour_band"] = [[f"{lo:02d}-{hi:02d}", sum(got.get(h, (0, 0))[0] for h in range(lo, hi)), sum(got.get(h, (0, 0))[1] for h in range(lo, hi))]
                              for lo, hi in zip(rules.hours[:-1], rules.hours[1:])]
    got = {(y, m): (f, e) for y, m, f, e in q("by_month", f"SELECT year(c.received_at), month(c.received_at), count(*), count(*) FILTER ({ENTR}) FROM {C} c WHERE {FAULT} GROUP BY 1, 2")}
    tables["by_month"] = [[f"{s.year}-{s.month:02d}", *got.get((s.year, s.month), (0, 0))] for s in (_add_months(start, i) for i in range(months))]
    # causes
    rows = q("causes", f"SELECT c.cause_class, c.cause_item, count(*), count(*) FILTER ({ENTR}) FROM {C} c WHERE {FAULT} GROUP BY 1, 2")
    rows = [(cc or "", ci or "", f, e) for cc, ci, f, e in rows]
    total_f = sum(r[2] for r in rows if r[0])
    by_class: dict = {}
    for cc, _ci, f, e in rows:
        acc = by_class.setdefault(cc, [0, 0])
        acc[0] += f
        acc[1] += e
    order = cause_order + sorted(k for k in by_class if k and k not in cause_order)
    cls_rows = [[k, *by_class[k], _pct(by_class[k][0], total_f)] for k in order if k in by_class]
    if "" in by_class:
        cls_rows.append(["", *by_class[""], None])
    tables["causes_by_class"] = cls_rows
    tables["causes_by_item"] = [[cc, ci, f, e, _pct(f, total_f)] for cc, ci, f, e in sorted((r for r in rows if r[0]), key=lambda r: (-r[2], r[0], r[1]))]
    # repeat elevators (top n)
    rep = q("repeat_elevators", f"""SELECT c.elevator_id, count(*) AS n FROM {C} c WHERE {ENTR} GROUP BY 1
                                     HAVING count(*) >= {rules.repeat} ORDER BY n DESC, c.elevator_id LIMIT {rules.top}""")
    src = dict(q("repeat_elevators", f"SELECT id, source_id FROM elevators WHERE id IN ({','.join(str(r[0]) for r in rep) or 'NULL'})"))
    tables["repeat_elevators"] = [[src[i], n] for i, n in rep]

    def ranking(fl, cs, names):
        cand = []
        for k, n in fl.items():
            f, e = cs.get(k, (0, 0))
            if k is None or n < rules.min_fleet or f == 0:
                continue
            cand.append((-(f / n), -(e / n), str(names.get(k, k)), str(k), n, f, e))
        cand.sort()
        return [[i + 1, name, n, f, e, _pct(f, n), _pct(e, n), _pct(e, n * months, digits=3)]
                for i, (_a, _b, name, _k, n, f, e) in enumerate(cand[:rules.top])]

    fl, cs = fleet_cases("top_use_units", "e.use_unit_id", "e.use_unit_id", join_e=True)
    names = dict(q("top_use_units", "SELECT id, name FROM orgs WHERE kind = 'use_unit'"))
    tables["top_use_units"] = ranking(fl, cs, names)
    fl = dict(q("top_maintenance_units", f"""SELECT k.maintenance_unit_id, count(DISTINCT k.elevator_id) FROM contracts k
        WHERE k.start_date <= DATE '{ref.isoformat()}' AND (k.end_date IS NULL OR k.end_date >= DATE '{ref.isoformat()}')
        AND k.elevator_id IN (SELECT id FROM e_in{sfx}) GROUP BY 1"""))
    cs = {k: (f, e) for k, f, e in q("top_maintenance_units", f"""
        SELECT k.maintenance_unit_id, count(*), count(*) FILTER (c.case_type = 'entrapment')
        FROM {C} c JOIN contracts k ON k.elevator_id = c.elevator_id
             AND k.start_date <= CAST(c.received_at AS DATE) AND (k.end_date IS NULL OR k.end_date >= CAST(c.received_at AS DATE))
        WHERE {FAULT} GROUP BY 1""")}
    names = dict(q("top_maintenance_units", "SELECT id, name FROM orgs WHERE kind = 'maintenance_unit'"))
    tables["top_maintenance_units"] = ranking(fl, cs, names)
    brand = "nullif(upper(trim(regexp_replace(coalesce(nullif(m.name, ''), e.manufacturer_name_raw, ''), '\\s+', ' ', 'g'))), '')"
    fl = dict(q("top_brands", f"SELECT {brand}, count(*) FROM e_in{sfx} e LEFT JOIN orgs m ON m.id = e.manufacturer_id GROUP BY 1"))
    cs = {k: (f, e) for k, f, e in q("top_brands", f"""SELECT {brand}, count(*), count(*) FILTER ({ENTR}) FROM {C} c
        JOIN {ELEV} e ON e.id = c.elevator_id LEFT JOIN orgs m ON m.id = e.manufacturer_id WHERE {FAULT} GROUP BY 1""")}
    tables["top_brands"] = ranking(fl, cs, {k: k for k in fl})
    got = {lv: (n, c) for lv, n, c in q("hazards_by_level", f"""SELECT level, count(*), count(*) FILTER (state = 'closed' AND closed_at < TIMESTAMPTZ '{cur[1]}')
        FROM hazards WHERE state NOT IN ('lead', 'dismissed') AND area_id IN (SELECT id FROM a_in)
        AND filed_at >= TIMESTAMPTZ '{cur[0]}' AND filed_at < TIMESTAMPTZ '{cur[1]}' GROUP BY 1""")}
    tables["hazards_by_level"] = [[lv, *got.get(lv, (0, 0)), _pct(got.get(lv, (0, 0))[1], got.get(lv, (0, 0))[0])] for lv in hazard_levels]
    return {"indicators": indicators, "tables": tables, "fleet": h_cur["elevators_in_use"][0]}


# --------------------------------------------------------------------------- comparison with the product's ReportData
# leading label columns (translated in the product, codes here) dropped from both sides before comparing
LABEL_COLUMNS = {"by_category": 1, "by_place_type": 1, "by_age_band": 1, "by_area": 1, "by_channel": 1, "by_type": 1,
                 "by_hour_band": 1, "by_month": 0, "causes_by_class": 1, "causes_by_item": 2, "hazards_by_level": 1,
                 "top_use_units": 0, "top_maintenance_units": 0, "top_brands": 0}


def compare(product: dict, duck: dict) -> tuple[int, list[str]]:
    """(number of values compared, [mismatch descriptions]). Every number and the names of ranked units are compared."""
    n, bad = 0, []
    p_ind = {i["key"]: i for s in product["sections"] for i in s["indicators"]}
    for key, (v, prev, ly, num, den) in duck["indicators"].items():
        p = p_ind.get(key)
        if p is None:
            bad.append(f"indicator {key}: missing in the product")
            continue
        for field, dv in (("value", v), ("previous", prev), ("last_year", ly), ("numerator", num), ("denominator", den)):
            n += 1
            if p[field] != dv:
                bad.append(f"indicator {key}.{field}: product {p[field]!r} != duckdb {dv!r}")
    extra = set(p_ind) - set(duck["indicators"])
    if extra:
        bad.append(f"product indicators not re-computed: {sorted(extra)}")
    p_tab = {t["key"]: t for s in product["sections"] for t in s["tables"]}
    for key, drows in duck["tables"].items():
        t = p_tab.get(key)
        if t is None:
            bad.append(f"table {key}: missing in the product")
            continue
        if key == "repeat_elevators":  # product: [display code, source id, address, area, n, …per month]
            prows = [[r[1], r[4]] for r in t["rows"]]
        else:
            k = LABEL_COLUMNS[key]
            prows = [list(r[k:]) for r in t["rows"]]
            drows = [list(r[k:]) for r in drows]
        if len(prows) != len(drows):
            bad.append(f"table {key}: {len(prows)} product rows != {len(drows)} duckdb rows")
        for i, (pr, dr) in enumerate(zip(prows, drows)):
            n += len(dr)
            if list(pr) != list(dr):
                bad.append(f"table {key} row {i}: product {pr} != duckdb {dr}")
    missing = set(p_tab) - set(duck["tables"])
    if missing:
        bad.append(f"product tables not re-computed: {sorted(missing)}")
    return n, bad
