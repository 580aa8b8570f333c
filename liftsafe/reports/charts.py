"""Report charts: a ReportData ``Chart`` dict drawn by matplotlib as SVG (HTML, dashboard) or PNG (PDF).

Shape read (liftsafe.reports.schema.Chart)::

    {"key", "title", "kind": "bar" | "line" | "pie" | "barh",
     "x": [label, ...], "series": [{"name", "values": [number | None, ...]}, ...], "unit": str}

- Headless: the Agg canvas and matplotlib's object API (``Figure()``), never
  pyplot's global state; a module lock serialises drawing, so concurrent requests
  and the worker can render at the same time.
- Chinese labels: the CJK font of :mod:`liftsafe.reports.fonts` (Debian
  ``fonts-noto-cjk``); SVG text is converted to paths, so a browser without a
  CJK font still shows the characters.
- Deterministic: fixed size and DPI, no creation date in the SVG metadata
  (``metadata={"Date": None}``), a fixed ``svg.hashsalt`` for element ids, no
  software tag in the PNG: the same chart dict gives the same bytes.
- The chart title is not drawn inside the image (the HTML/PDF print it as text,
  so it stays searchable); ``unit`` labels the value axis.
- Values of unit ``"%"`` are already percentages (12.5 = 12.5 %), like every
  rate in the ReportData (``selectors.pct``); the axis shows a % sign.
"""
from __future__ import annotations

import functools
import io
import json
import re
import math
import threading

from django.utils import translation
from django.utils.translation import gettext as _

from .fonts import cjk_font

WIDTH_IN, HEIGHT_IN = 7.2, 3.3  # inches: ~18 x 8 cm, fits an A4 text column
PNG_DPI = 160
PALETTE = ["#0b5cad", "#e07b00", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a"]

_lock = threading.Lock()
_ready = False
_family = [""]  # the CJK family name matplotlib knows (set by _setup)


def _setup():
    """Register the CJK font with matplotlib once (lazy: importing matplotlib costs ~1 s)."""
    global _ready
    if _ready:
        return
    import matplotlib

    from matplotlib import font_manager

    font = cjk_font()
    font_manager.fontManager.addfont(font.path)
    if font.bold_path:
        font_manager.fontManager.addfont(font.bold_path)
    matplotlib.rcParams["svg.hashsalt"] = "liftsafe-reports"  # stable ids instead of random uuids
    # matplotlib >= 3.10 registers every face of a collection; an older one only the first (for Noto CJK the
    # JP face, which has the same Chinese characters): draw with whichever face of the file it knows
    names = sorted({f.name for f in font_manager.fontManager.ttflist if f.fname == font.path})
    _family[0] = font.family if font.family in names or not names else names[0]
    _ready = True


def unit_label(unit: str) -> str:
    """Human label of a ReportData unit for axes and cells (translated): ``"s"`` → 秒, ``"per 10k"`` → 每万台, …"""
    return {"%": "%", "count": "", "s": _("seconds"), "min": _("minutes"), "per 10k": _("per 10,000 elevators"),
            "elevators": _("elevators"), "cases": _("cases"), "h": _("hours"), "years": _("years"),
            "days": _("days")}.get(unit, unit)


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def _is_empty(chart: dict) -> bool:
    values = [v for s in chart.get("series") or [] for v in s.get("values") or []]
    return not chart.get("x") or not any(v not in (None, 0) and not (isinstance(v, float) and math.isnan(v)) for v in values)


def _short(label, limit: int = 14) -> str:
    text = "" if label is None else str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _figure(chart: dict):
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=100)
    fig.patch.set_facecolor("white")
    ax = fig.add_subplot()
    family = [_family[0] or cjk_font().family, "DejaVu Sans"]
    kind = chart.get("kind") or "bar"
    unit = chart.get("unit") or ""
    x = [_short(v) for v in chart.get("x") or []]
    series = chart.get("series") or []
    pct = unit == "%"
    scale = 1.0

    def style(axis):
        axis.spines["top"].set_visible(False)
        axis.spines["right"].set_visible(False)
        axis.tick_params(labelsize=8)
        for lab in axis.get_xticklabels() + axis.get_yticklabels():
            lab.set_fontfamily(family)

    if _is_empty(chart):
        ax.set_axis_off()
        ax.text(0.5, 0.5, _("No data in this period"), ha="center", va="center", fontsize=11, color="#5d6877",
                fontfamily=family, transform=ax.transAxes)
        return fig

    fmt = FuncFormatter(lambda v, _pos: (f"{v:,.10g}%" if pct else f"{v:,.10g}"))
    whole = unit == "count" or all(isinstance(v, int) for s in series for v in s.get("values") or [] if v is not None)
    if kind == "line" and len(x) < 3:
        kind = "bar"  # one or two points make no line (e.g. "by month" of a monthly report)
    if kind == "pie":
        values = [_num(v) for v in (series[0]["values"] if series else [])]
        pairs = [(lab, v) for lab, v in zip(x, values) if not math.isnan(v) and v > 0]
        ax.set_aspect("equal")
        wedges, _t, autotexts = ax.pie([v for _l, v in pairs], labels=None, colors=PALETTE * 4, startangle=90,
                                       counterclock=False, autopct=lambda p: f"{p:.1f}%" if p >= 4 else "",
                                       pctdistance=0.72, wedgeprops={"linewidth": 1, "edgecolor": "white"},
                                       textprops={"fontsize": 8, "color": "white", "fontfamily": family})
        ax.legend(wedges, [f"{lab} ({v:,.10g})" for lab, v in pairs], loc="center left", bbox_to_anchor=(1.0, 0.5),
                  frameon=False, prop={"family": family, "size": 8})
        fig.subplots_adjust(left=0.02, right=0.62, top=0.96, bottom=0.04)
        return fig

    n = max(len(series), 1)
    if kind == "barh":
        pos = list(range(len(x)))[::-1]  # first category on top
        height = 0.8 / n
        for i, s in enumerate(series):
            vals = [_num(v) * scale for v in s["values"]]
            ax.barh([p + (n - 1 - 2 * i) * height / 2 for p in pos], vals, height=height, color=PALETTE[i % len(PALETTE)],
                    label=s.get("name") or "")
        ax.set_yticks(pos, x)
        ax.set_ylim(-0.6, max(len(x), 5) - 0.4)  # a short list keeps slim bars
        ax.xaxis.set_major_formatter(fmt)
        if whole:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="x", color="#e3e7ec", linewidth=0.6)
        ax.set_axisbelow(True)
        if unit_label(unit) and not pct:
            ax.set_xlabel(unit_label(unit), fontsize=8, fontfamily=family)
    else:
        pos = list(range(len(x)))
        if kind == "line":
            for i, s in enumerate(series):
                ax.plot(pos, [_num(v) * scale for v in s["values"]], marker="o", markersize=3.5, linewidth=1.6,
                        color=PALETTE[i % len(PALETTE)], label=s.get("name") or "")
        else:
            width = 0.8 / n
            for i, s in enumerate(series):
                ax.bar([p + (i - (n - 1) / 2) * width for p in pos], [_num(v) * scale for v in s["values"]], width=width,
                       color=PALETTE[i % len(PALETTE)], label=s.get("name") or "")
        rotate = len(x) > 8 or max((len(v) for v in x), default=0) > 6
        ax.set_xticks(pos, x, rotation=40 if rotate else 0, ha="right" if rotate else "center")
        ax.yaxis.set_major_formatter(fmt)
        if whole:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if len(x) < 4:
            ax.set_xlim(-0.5 - (4 - len(x)) / 2, len(x) - 0.5 + (4 - len(x)) / 2)  # a short list keeps slim bars
        ax.grid(axis="y", color="#e3e7ec", linewidth=0.6)
        ax.set_axisbelow(True)
        if unit_label(unit) and not pct:
            ax.set_ylabel(unit_label(unit), fontsize=8, fontfamily=family)
        ax.set_ylim(bottom=0)
    style(ax)
    if len(series) > 1:
        ax.legend(frameon=False, prop={"family": family, "size": 8})
    fig.tight_layout(pad=0.6)
    return fig


def chart_svg(chart: dict) -> str:
    """The chart as an SVG document string (``<svg ...>...</svg>``, no XML prolog), ready to inline in HTML.

    Output is deterministic, so it is memoised (LRU, 256 charts) by the chart's JSON and the active language:
    a stored report's page renders its charts once per process.

    Raises:
        liftsafe.reports.fonts.MissingFontError: no CJK font installed.
    """
    key = json.dumps(chart, sort_keys=True, ensure_ascii=False, default=str) + "|" + (translation.get_language() or "")
    return _chart_svg_cached(key)


@functools.lru_cache(maxsize=256)
def _chart_svg_cached(key: str) -> str:
    chart = json.loads(key.rsplit("|", 1)[0])
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    with _lock:
        _setup()
        fig = _figure(chart)
        FigureCanvasSVG(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return csp_safe_svg(text[start:] if start >= 0 else text)


# SVG presentation attributes (SVG 1.1 §propidx): a matplotlib style="…" made of these becomes attributes
_PRESENTATION = frozenset("""alignment-baseline baseline-shift clip-path clip-rule color display dominant-baseline fill
fill-opacity fill-rule filter font-family font-size font-style font-variant font-weight letter-spacing marker-end
marker-mid marker-start mask opacity overflow paint-order shape-rendering stop-color stop-opacity stroke
stroke-dasharray stroke-dashoffset stroke-linecap stroke-linejoin stroke-miterlimit stroke-opacity stroke-width
text-anchor text-decoration visibility word-spacing writing-mode""".split())
_TAG_WITH_STYLE = re.compile(r'<[A-Za-z][^<>]*?\sstyle="[^"]*"[^<>]*>')
_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
_ATTR_NAME = re.compile(r'\s([A-Za-z_:][-\w:.]*)=')
_MPL_STYLE = '<style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>'


def csp_safe_svg(svg: str) -> str:
    """matplotlib SVG without inline CSS, so it renders under ``style-src`` without ``'unsafe-inline'``
    (Content-Security-Policy, issue 18 item 16): each ``style="a: b; …"`` of presentation properties becomes
    attributes ``a="b"`` (values are already attribute-escaped), and matplotlib's global
    ``<style>*{stroke-linejoin: round; stroke-linecap: butt}</style>`` becomes the same two attributes on the
    root ``<svg>`` (both properties inherit; an element's own value still wins, as before). Same picture."""

    def tag(m: re.Match) -> str:
        t = m.group(0)
        style = _STYLE_ATTR.search(t)
        decls = [d.split(":", 1) for d in style.group(1).split(";") if d.strip()]
        if any(len(d) != 2 or d[0].strip() not in _PRESENTATION for d in decls):
            return t  # something that is not a presentation property: keep it as it was
        have = set(_ATTR_NAME.findall(t))
        attrs = "".join(f' {k.strip()}="{v.strip()}"' for k, v in decls if k.strip() not in have)
        return t[:style.start()] + attrs + t[style.end():]

    svg = _TAG_WITH_STYLE.sub(tag, svg)
    if _MPL_STYLE in svg:
        svg = svg.replace(_MPL_STYLE, "", 1).replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)
    return svg


def chart_png(chart: dict, *, dpi: int = PNG_DPI) -> bytes:
    """The chart as PNG bytes (``WIDTH_IN`` x ``HEIGHT_IN`` inches at ``dpi``).

    Raises:
        liftsafe.reports.fonts.MissingFontError: no CJK font installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with _lock:
        _setup()
        fig = _figure(chart)
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
