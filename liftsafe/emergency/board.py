"""Live board rendering (issue 4): the open cases of the user's scope as plain rows (:func:`board_data`, through
:func:`selectors.cases_for`), their HTML and timer classes (:func:`render_board_rows`), the state counts and the
page / 1 s poll delta contexts. The views (:mod:`.views`) only parse the request and choose the response.
"""
from __future__ import annotations

import datetime as dt
from html import escape as html_escape

from django.db.models import Case, IntegerField, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from liftsafe.rules import rule

from . import domain, selectors
from .models import OPEN_STATES, CaseType, Channel, State, trapped_text


def arrival_limit_s(urban: bool) -> int:
    """Arrival limit in seconds for an urban / other elevator (docs/domain §3.4, TSG T5002 Art. 5; same rules as
    :func:`services.arrival_limit_s`, which takes an elevator)."""
    return domain.arrival_limit_s(urban)


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _counts(user, now: dt.datetime | None = None) -> dict:
    """Open-case counts by state plus ``late`` (the rows shown red at ``now``) and ``open_total`` (:func:`selectors.case_counts`)."""
    counts = selectors.case_counts(user, now)
    counts["open_total"] = sum(counts.get(s.value, 0) for s in OPEN_STATES)
    return counts


def _case_base() -> str:
    """URL prefix of case pages (``/emergency/cases/``) so the board's 2,000 rows need no per-row reverse()."""
    return reverse("emergency:case_detail", args=[0])[: -len("0/")]


BOARD_OVERLAP = selectors.BOARD_OVERLAP  # one definition, shared with selectors.board_delta
_BOARD_FIELDS = ("pk", "order_number", "state", "level", "case_type", "channel", "trapped_count", "received_at", "level_dispatched_at",
                 "elevator__registration_code", "elevator__equipment_code", "elevator__source_id", "elevator__address",
                 "elevator__urban", "responder__name")


def board_data(user, since: dt.datetime | None = None) -> dict:
    """Open cases for the live board, as plain tuples (no model instances: 2,000 rows render in well under 300 ms).

    Reads through :func:`selectors.cases_for` (scoped; no personal data is selected). Without ``since``
    every open case; with it, open cases changed since ``since`` minus a 2 s overlap, and the ids of
    cases closed since. Shape: ``{"cursor": iso, "rows": [tuple per _BOARD_FIELDS], "closed": [id]}``.
    With ``since``, one indexed query on ``updated_at`` finds the changed cases' ids and states; the rows
    are read only when an open case changed (a nothing-changed poll costs that one query).
    """
    now = timezone.now()
    qs = selectors.cases_for(user).order_by()
    open_values = [s.value for s in OPEN_STATES]
    closed: list[int] = []
    if since is None:
        changed = qs.filter(state__in=open_values)
    else:
        recent = qs.filter(updated_at__gte=since - BOARD_OVERLAP)
        states = list(recent.values_list("pk", "state")[:50_000])
        closed = [pk for pk, st in states if st not in open_values][:5000]
        if not any(st in open_values for _pk, st in states):
            return {"cursor": now.isoformat(), "rows": [], "closed": closed}
        changed = recent.filter(state__in=open_values)
    undispatched_first = Case(When(state=State.RECEIVED, then=Value(0)), default=Value(1), output_field=IntegerField())
    rows = list(changed.order_by(undispatched_first, "received_at", "pk").values_list(*_BOARD_FIELDS)[:5000])
    return {"cursor": now.isoformat(), "rows": rows, "closed": closed}


def render_board_rows(rows: list[tuple], now: dt.datetime) -> tuple[str, list[dict]]:
    """HTML ``<tr>`` rows of the board (one per case) and a compact per-row summary for tests.

    Built with format strings and :func:`django.utils.html.escape` rather than a template loop: the
    board must render 2,000 rows fast. Each row carries its timer inputs (``data-rc`` received,
    ``data-ld`` current-level dispatch, epoch s; ``data-al`` arrival limit, ``data-rl`` the case
    timer's and ``data-dl`` the dispatch timer's limit, s, from :func:`selectors.board_limits`) for static/liftsafe/emergency.js, and ``data-sig`` (what the row shows apart from
    the timers) so the client replaces a row only when it really changed.
    """
    esc = html_escape  # stdlib: no lazy-string wrapper per call
    states = {k: esc(str(v)) for k, v in State.choices}
    types = {k: esc(str(v)) for k, v in CaseType.choices}
    channels = {k: esc(str(v)) for k, v in Channel.choices}
    now_s = now.timestamp()
    warn = float(rule("board_warning_fraction"))
    limits = {(st, u): selectors.board_limits(st, u) for st, _l in State.choices for u in (True, False)}
    base = esc(_case_base())

    def tcls(elapsed, limit):
        if elapsed is None or not limit:
            return ""
        return "t-late" if elapsed >= limit else ("t-warn" if elapsed >= limit * warn else "t-ok")

    html, summary = [], []
    for (pk, no, st, lv, ty, ch, tr, rc_dt, ld_dt, reg, eqp, src, addr, urban, rs) in rows:
        al = arrival_limit_s(urban)
        rc = int(rc_dt.timestamp())
        ld = int(ld_dt.timestamp()) if ld_dt else None
        since_rc = now_s - rc_dt.timestamp()
        since_ld = now_s - ld_dt.timestamp() if ld_dt else None
        # one definition of the limits (selectors.board_limits, also used by the "late" counter):
        # case timer against the dispatch-delay warning while undispatched, then the arrival limit;
        # dispatch timer against the response limit until acknowledged, then the arrival limit until arrival
        rl, dl = limits.get((st, bool(urban)), (0, 0))
        rc_cls = tcls(since_rc, rl)
        ld_cls = tcls(since_ld, dl)
        row_cls = "late" if "t-late" in (rc_cls, ld_cls) else ("undispatched" if st == State.RECEIVED else "")
        rs_e = esc((rs or "")[:40])
        level = f'<b class="em-level lv-{lv}">{lv}</b> {rs_e}' if lv else '<b class="em-undisp">—</b>'
        html.append(
            f'<tr id="case-{pk}" class="{row_cls}" data-rc="{rc}" data-ld="{ld or ""}" data-st="{st}" data-al="{al}" data-rl="{rl}" '
            f'data-dl="{dl}" data-sig="{lv}|{rs_e}|{tr}|{ty}|{ch}|{ld or ""}">'
            f'<td><a href="{base}{pk}/">{esc(no)}</a></td>'
            f'<td><i class="em-state st-{st}">{states.get(st, st)}</i></td>'
            f'<td class="ty-{ty}">{types.get(ty, ty)}</td>'
            f'<td class="ch-{ch}">{channels.get(ch) or esc(ch or "")}</td>'
            f'<td class="num">{trapped_text(ty, tr)}</td>'
            f'<td><i class="mono">{esc(reg or eqp or src)}</i> {esc((addr or "")[:60])}</td>'
            f"<td>{level}</td>"
            f'<td><i class="em-timer {rc_cls}" data-t="rc">{_fmt(since_rc)}</i></td>'
            f'<td><i class="em-timer {ld_cls}" data-t="ld">{_fmt(since_ld)}</i></td></tr>\n')
        summary.append({"id": pk, "st": st, "rc_cls": rc_cls, "ld_cls": ld_cls, "row_cls": row_cls})
    return mark_safe("".join(html)), summary


def _poll_s() -> str:
    """The board's poll interval for htmx's ``every <n>s`` (rule ``board_poll_s``, issue 4), e.g. ``"1"`` or ``"0.5"``.

    Raises:
        ValueError: ``board_poll_s`` is not a positive number.
    """
    raw = rule("board_poll_s")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0:
        raise ValueError(f"board_poll_s: must be a positive number of seconds, got {raw!r}")
    return f"{value:g}"


def page_context(user) -> dict:
    """The live board page's template context for ``user`` at the clock's now: rows (HTML and summary), cursor,
    counts, poll interval and the timer limits the browser needs."""
    now = timezone.now()
    data = board_data(user)
    rows_html, rows = render_board_rows(data["rows"], now)
    return {"rows_html": rows_html, "rows": rows, "cursor": data["cursor"], "counts": _counts(user, now), "poll_s": _poll_s(),
            "server_now": int(now.timestamp() * 1000), "response_limit": int(rule("dispatch_response_limit_s")),
            "dispatch_warning": int(rule("dispatch_delay_warning_s")),
            "warn_fraction": rule("board_warning_fraction"), "warn_pct": round(float(rule("board_warning_fraction")) * 100)}


def delta_context(user, data: dict, now: dt.datetime, *, full: bool) -> dict:
    """The board delta fragment's template context: ``data`` (:func:`board_data`) rendered at ``now``, with the
    ids of cases closed since, the counts, the new cursor and ``full`` (a full refresh)."""
    rows_html, rows = render_board_rows(data["rows"], now)
    return {"rows_html": rows_html, "rows": rows, "cursor": data["cursor"], "closed": data["closed"],
            "counts": _counts(user, now), "full": full}
