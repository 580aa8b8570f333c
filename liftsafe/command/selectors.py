"""Command-centre reads, every one scoped to the user (lifts through ``registry.selectors.scope_elevators``,
cases, alarms, devices, hazards and organisations through their own apps' selectors).

Map (:func:`map_clusters`): the lifts of a bounding box, aggregated in SQL on a grid of
``domain.cell_deg(zoom)`` degrees (``GROUP BY floor(lat / cell), floor(lon / cell)``) with the count of each
risk colour and flag per cell; from ``domain.POINTS_FROM_ZOOM`` single lifts. Filters narrow the lifts
before the aggregation. Wall screen (:func:`wall_data`): open cases on the map, KPIs (the reports module's
:func:`~liftsafe.reports.selectors.live_headline`), last alarms, offline devices, correlated incidents.

Facts owned by other modules are read from their definitions, never restated: overdue maintenance
(``maintenance.selectors.overdue_q``, the query form of ``overdue_lifts``, docs/domain §15.1), an invalid inspection (``inspection.models.INVALID_STATES``,
docs/domain §6), open hazards (``hazards.selectors.hazards_for`` + ``hazards.models.OPEN_STATES``, docs/domain §7),
crowded places (``Elevator.crowded_place``, docs/domain §2), late cases (``emergency.selectors.is_late``),
KPIs (``reports``). The risk colour is read through :func:`risk_colour_expr` (see there).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Avg, CharField, Count, F, FloatField, Max, Min, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Floor
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.scoping import scope_of
from liftsafe.emergency import selectors as em_selectors
from liftsafe.emergency.models import OPEN_STATES as CASE_OPEN_STATES
from liftsafe.emergency.models import CaseType
from liftsafe.hazards.models import OPEN_STATES as HAZARD_OPEN_STATES
from liftsafe.hazards.selectors import hazards_for
from liftsafe.inspection.models import INVALID_STATES
from liftsafe.maintenance.selectors import overdue_q
from liftsafe.monitoring.selectors import alarms_for, devices_for, incidents_for
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.registry.selectors import areas_for, organisations_for, scope_elevators
from liftsafe.reports.selectors import HEADLINE_LABELS, live_headline
from liftsafe.rules import rule

from . import domain, geo


# --------------------------------------------------------------------------- map settings
def map_settings() -> dict:
    """The map's tile configuration: ``{"tiles": url template or "", "crs": "wgs84"|"gcj02"|"bd09",
    "attribution": str}`` (settings ``LIFTSAFE_MAP_TILES``, ``LIFTSAFE_MAP_TILES_CRS``, ``LIFTSAFE_MAP_ATTRIBUTION``;
    docs/map.md). An unknown datum raises ValueError naming it (a misconfiguration must not draw lifts 500 m off)."""
    crs = (getattr(settings, "LIFTSAFE_MAP_TILES_CRS", "wgs84") or "wgs84").lower()
    if crs not in geo.CRS_CHOICES:
        raise ValueError(f"LIFTSAFE_MAP_TILES_CRS={crs!r}: use one of {', '.join(geo.CRS_CHOICES)}")
    return {"tiles": getattr(settings, "LIFTSAFE_MAP_TILES", "") or "", "crs": crs,
            "attribution": getattr(settings, "LIFTSAFE_MAP_ATTRIBUTION", "") or ""}


def _out(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """A stored WGS-84 point in the basemap datum, rounded to 6 decimals (~0.1 m)."""
    la, lo = geo.from_wgs84(lat, lon, crs)
    return round(la, 6), round(lo, 6)


# --------------------------------------------------------------------------- risk colour
def risk_colour_expr():
    """The risk colour of a lift as a database expression over :class:`Elevator` rows (one of
    :data:`domain.COLOURS`), so the map can filter and count colours inside its GROUP BY: the risk module's current
    score (:class:`liftsafe.risk.models.RiskScore`, ``elevator.risk``; a LEFT JOIN), ``"unknown"`` for a lift not
    scored yet (a lift added since the last recompute)."""
    return Coalesce(F("risk__colour"), Value("unknown"), output_field=CharField())


def risk_colours_known() -> bool:
    """Whether any lift in the platform has a risk score yet (False on a fresh installation before the first
    recompute: the map then says why every lift reads "colour unknown")."""
    from liftsafe.risk.models import RiskScore

    return RiskScore.objects.exists()


# --------------------------------------------------------------------------- map filters
@dataclass(frozen=True)
class MapFilters:
    """The map's filters: ``colour`` (one of :data:`domain.COLOURS` or None), the flags (True = only lifts
    with that flag) and ``area`` (an area code in the user's scope, everything below it, or "")."""

    colour: str | None = None
    overdue: bool = False
    expired: bool = False
    hazard: bool = False
    crowded: bool = False
    area: str = ""

    def as_query(self) -> dict:
        q = {f: "1" for f in domain.FLAGS if getattr(self, f)}
        if self.colour:
            q["colour"] = self.colour
        if self.area:
            q["area"] = self.area
        return q


_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"", "0", "false", "off", "no"}


def parse_filters(params) -> MapFilters:
    """:class:`MapFilters` from a query dict (the page's form; the API has the same fields typed).

    Raises:
        ValidationError: naming each bad parameter (an unknown colour, a flag that is not a boolean).
    """
    errors: dict[str, list[str]] = {}
    colour = str(params.get("colour") or "").strip() or None
    if colour is not None and colour not in domain.COLOURS:
        errors["colour"] = [_("Unknown risk colour “%(v)s”: use one of %(all)s.") % {"v": colour[:20], "all": ", ".join(domain.COLOURS)}]
    flags = {}
    for f in domain.FLAGS:
        raw = str(params.get(f) or "").strip().lower()
        if raw in _TRUE:
            flags[f] = True
        elif raw in _FALSE:
            flags[f] = False
        else:
            errors[f] = [_("Must be 1 or 0, got “%(v)s”.") % {"v": raw[:20]}]
    if errors:
        raise ValidationError(errors)
    return MapFilters(colour=colour, area=str(params.get("area") or "").strip()[:32], **flags)


def _flag_q(user, flag: str, today: dt.date) -> Q:
    """Lifts carrying ``flag`` (a Q over Elevator rows; each reads its owning module's definition)."""
    if flag == "overdue":
        return overdue_q(today)
    if flag == "expired":
        return Q(inspection_validity__state__in=[str(s) for s in INVALID_STATES])
    if flag == "hazard":
        return Q(pk__in=hazards_for(user).filter(state__in=[str(s) for s in HAZARD_OPEN_STATES]).values("elevator_id"))
    if flag == "crowded":
        return Q(crowded_place=True)
    raise ValueError(flag)


def map_lifts(user, filters: MapFilters, today: dt.date | None = None) -> QuerySet[Elevator]:
    """Lifts on ``user``'s map: in scope, not scrapped, with coordinates, narrowed by ``filters``; annotated
    ``colour`` (:func:`risk_colour_expr`).

    Raises:
        ValidationError: ``{"area": …}`` an area code unknown or outside the user's scope (the same answer).
    """
    today = today or timezone.localdate()
    qs = scope_elevators(scope_of(user), Elevator.objects.exclude(status=Elevator.Status.SCRAPPED)
                         .filter(latitude__isnull=False, longitude__isnull=False)).order_by()
    if filters.area:
        area = areas_for(user).filter(code=filters.area).first()
        if area is None:
            raise ValidationError({"area": [_("Unknown area code “%(code)s”.") % {"code": filters.area}]})
        qs = qs.filter(area__path__startswith=area.path)
    qs = qs.annotate(colour=risk_colour_expr())
    if filters.colour:
        qs = qs.filter(colour=filters.colour)
    for f in domain.FLAGS:
        if getattr(filters, f):
            qs = qs.filter(_flag_q(user, f, today))
    return qs


@dataclass(frozen=True)
class BBox:
    """A bounding box in WGS-84 degrees (south < north, west < east; no antimeridian crossing)."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def checked(cls, south: float, west: float, north: float, east: float, crs: str = "wgs84") -> "BBox":
        """A box from the browser's corners (in the basemap datum ``crs``), converted to WGS-84.

        Raises:
            ValidationError: naming ``south``/``north``/``west``/``east`` when out of range or not ordered.
        """
        errors = {}
        for name, v, lim in (("south", south, 90), ("north", north, 90), ("west", west, 180), ("east", east, 180)):
            if not (-lim <= v <= lim):  # also refuses NaN
                errors[name] = [_("Must be between -%(l)s and %(l)s degrees.") % {"l": lim}]
        if not errors and south >= north:
            errors["north"] = [_("Must be greater than south.")]
        if not errors and west >= east:
            errors["east"] = [_("Must be greater than west (a box may not cross the antimeridian).")]
        if errors:
            raise ValidationError(errors)
        if crs != "wgs84":
            south, west = geo.to_wgs84(south, west, crs)
            north, east = geo.to_wgs84(north, east, crs)
        return cls(south, west, north, east)

    def q(self) -> Q:
        return Q(latitude__gte=self.south, latitude__lte=self.north, longitude__gte=self.west, longitude__lte=self.east)


def _elevator_base() -> str:
    return reverse("registry:elevator_detail", args=[0])[: -len("0/")]


def map_clusters(user, bbox: BBox, zoom: int, filters: MapFilters, today: dt.date | None = None) -> dict:
    """The map's content for ``bbox`` at ``zoom`` (0 … 20).

    Below :data:`domain.POINTS_FROM_ZOOM`: ``{"mode": "clusters", "cell": degrees, "total": n, "clusters": [
    {"lat", "lon", "n", "colours": {colour: n}, "overdue", "expired", "hazard", "crowded", "id": pk when n == 1}]}``,
    one row per non-empty grid cell, positioned at the mean of its lifts, ordered by cell. From it:
    ``{"mode": "points", "total": n, "truncated": bool, "points": [{"id", "lat", "lon", "code", "address",
    "colour", "flags": [...], "url"}]}``. Coordinates are in the configured basemap datum (:func:`map_settings`).

    Raises:
        ValidationError: a bad area (:func:`map_lifts`), a zoom outside 0 … 20 (``{"zoom": …}``).
    """
    if not domain.MIN_ZOOM <= zoom <= domain.MAX_ZOOM:
        raise ValidationError({"zoom": [_("Must be between %(a)s and %(b)s.") % {"a": domain.MIN_ZOOM, "b": domain.MAX_ZOOM}]})
    today = today or timezone.localdate()
    crs = map_settings()["crs"]
    qs = map_lifts(user, filters, today).filter(bbox.q())
    flag_q = {f: _flag_q(user, f, today) for f in domain.FLAGS}
    if domain.shows_points(zoom):
        return _points(qs, flag_q, crs)
    cell = domain.cell_deg(zoom)
    grid = (qs.annotate(gy=Floor(Cast(F("latitude"), FloatField()) / cell), gx=Floor(Cast(F("longitude"), FloatField()) / cell))
            .values("gy", "gx", "colour")
            .annotate(n=Count("pk"), lat=Avg("latitude"), lon=Avg("longitude"), first=Min("pk"),
                      **{f: Count("pk", filter=q) for f, q in flag_q.items()})
            .order_by("gy", "gx", "colour"))
    cells: dict[tuple, dict] = {}
    for r in grid:
        c = cells.get((r["gy"], r["gx"]))
        if c is None:
            c = cells[(r["gy"], r["gx"])] = {"n": 0, "lat_sum": 0.0, "lon_sum": 0.0, "colours": {}, "first": r["first"],
                                             **{f: 0 for f in domain.FLAGS}}
        c["n"] += r["n"]
        c["lat_sum"] += r["lat"] * r["n"]
        c["lon_sum"] += r["lon"] * r["n"]
        c["colours"][r["colour"]] = c["colours"].get(r["colour"], 0) + r["n"]
        c["first"] = min(c["first"], r["first"])
        for f in domain.FLAGS:
            c[f] += r[f]
    out = []
    for c in cells.values():
        lat, lon = _out(c.pop("lat_sum") / c["n"], c.pop("lon_sum") / c["n"], crs)
        first = c.pop("first")
        out.append({"lat": lat, "lon": lon, **c, "id": first if c["n"] == 1 else None})
    return {"mode": "clusters", "cell": cell, "total": sum(c["n"] for c in out), "clusters": out}


def _points(qs: QuerySet, flag_q: dict, crs: str) -> dict:
    rows = list(qs.annotate(**{f"f_{f}": Count("pk", filter=q) for f, q in flag_q.items()})
                .values_list("pk", "latitude", "longitude", "registration_code", "equipment_code", "source_id", "address",
                             "colour", *(f"f_{f}" for f in domain.FLAGS))
                .order_by("pk")[: domain.MAX_POINTS + 1])
    truncated = len(rows) > domain.MAX_POINTS
    base = _elevator_base()
    points = []
    for pk, lat, lon, reg, eqp, src, addr, colour, *flags in rows[: domain.MAX_POINTS]:
        la, lo = _out(lat, lon, crs)
        points.append({"id": pk, "lat": la, "lon": lo, "code": reg or eqp or src, "address": (addr or "")[:120],
                       "colour": colour, "flags": [f for f, v in zip(domain.FLAGS, flags) if v], "url": f"{base}{pk}/"})
    return {"mode": "points", "total": len(points), "truncated": truncated, "points": points}


def area_extents(user) -> list[dict]:
    """Per area holding lifts of ``user``'s map: ``{"code", "name", "south", "west", "north", "east", "n"}`` (the
    box around its lifts, in the basemap datum). The registry holds no area boundaries, so this box is the
    outline drawn on a map without tiles (docs/map.md)."""
    crs = map_settings()["crs"]
    rows = (scope_elevators(scope_of(user), Elevator.objects.exclude(status=Elevator.Status.SCRAPPED)
                            .filter(latitude__isnull=False, longitude__isnull=False))
            .order_by().values("area__code", "area__name")
            .annotate(n=Count("pk"), s=Min("latitude"), w=Min("longitude"), no=Max("latitude"), e=Max("longitude"))
            .order_by("area__code"))
    out = []
    for r in rows:
        s, w = _out(r["s"], r["w"], crs)
        n, e = _out(r["no"], r["e"], crs)
        out.append({"code": r["area__code"], "name": r["area__name"], "south": s, "west": w, "north": n, "east": e, "n": r["n"]})
    return out


# --------------------------------------------------------------------------- wall screen
WALL_KPIS = ("cases", "entrapments", "entrapments_per_10k", "response_kpi_rate", "arrival_kpi_rate",
             "response_median", "arrival_median", "on_site_median")


def kpis(user, now: dt.datetime | None = None) -> dict:
    """Today's and this month's KPIs of ``user``'s area from the reports module (:func:`live_headline`, the
    report's own definitions): ``{"day"|"month": [{"key", "label", "value", "num", "den", "unit"}]}`` plus
    ``"limits"``: ``{"response_s", "arrival_kpi_s", "arrival_urban_s", "arrival_other_s"}`` (docs/domain §3.4)."""
    from liftsafe.emergency.domain import arrival_limit_s, response_limit_s

    now = now or timezone.now()
    out: dict = {}
    for span in ("day", "month"):
        h = live_headline(user, span=span, now=now)
        out[span] = [{"key": k, "label": str(HEADLINE_LABELS[k][0]), "unit": HEADLINE_LABELS[k][1],
                      "value": h[k][0], "num": h[k][1], "den": h[k][2]} for k in WALL_KPIS]
    out["limits"] = {"response_s": response_limit_s(), "arrival_kpi_s": int(rule("report_arrival_kpi_s")),
                     "response_kpi_s": int(rule("report_response_kpi_s")),
                     "arrival_urban_s": arrival_limit_s(True), "arrival_other_s": arrival_limit_s(False)}
    return out


def live_cases(user, now: dt.datetime, crs: str) -> list[dict]:
    """Open cases of ``user`` (``emergency.selectors.open_cases_for``; no personal data) with a located lift:
    ``{"id", "no", "state", "level", "type", "entrapment", "late", "lat", "lon", "code", "received", "url"}``,
    ``late`` by the live board's one definition (``emergency.selectors.is_late``). At most 5,000."""
    rows = (em_selectors.open_cases_for(user).filter(elevator__latitude__isnull=False, elevator__longitude__isnull=False)
            .values_list("pk", "order_number", "state", "level", "case_type", "received_at", "level_dispatched_at",
                         "elevator__urban", "elevator__latitude", "elevator__longitude", "elevator__registration_code",
                         "elevator__equipment_code", "elevator__source_id")[:5000])
    base = reverse("emergency:case_detail", args=[0])[: -len("0/")]
    out = []
    for pk, no, st, lv, ty, rc, ld, urban, lat, lon, reg, eqp, src in rows:
        la, lo = _out(lat, lon, crs)
        out.append({"id": pk, "no": no, "state": st, "level": lv, "type": ty, "entrapment": ty == CaseType.ENTRAPMENT,
                    "late": em_selectors.is_late(st, urban, rc, ld, now), "lat": la, "lon": lo, "code": reg or eqp or src,
                    "received": rc.isoformat(), "url": f"{base}{pk}/"})
    return out


def wall_data(user, now: dt.datetime | None = None) -> dict:
    """Everything the wall screen shows, for ``user`` at ``now`` (one JSON document, polled).

    ``{"generated_at", "counts": {state: n, "late", "open_total"}, "cases": [live_cases], "kpis": kpis(),
    "alarms": [{"id", "type", "label", "code", "raised_at", "active"}] (last 8), "offline": {"count", "monitored",
    "devices": [{"device", "code", "last_seen"}]} (up to 8, longest silent first), "incidents": [{"id", "kind",
    "area", "alarms", "opened_at"}] (open correlated incidents: a power cut over many lifts is one row),
    "stations": [{"id", "name", "lat", "lon"}]}``.
    """
    now = now or timezone.now()
    crs = map_settings()["crs"]
    counts = em_selectors.case_counts(user, now)
    counts["open_total"] = sum(counts.get(s.value, 0) for s in CASE_OPEN_STATES)
    alarms = [{"id": a.pk, "type": a.type, "label": a.get_type_display(), "code": a.elevator.display_code,
               "raised_at": a.raised_at.isoformat(), "active": a.cleared_at is None} for a in alarms_for(user)[:8]]
    devices = devices_for(user).filter(active=True)
    offline_qs = devices.filter(online=False)
    offline = {"count": offline_qs.count(), "monitored": devices.count(),
               "devices": [{"device": d.device_id, "code": d.elevator.display_code,
                            "last_seen": d.last_seen.isoformat() if d.last_seen else None}
                           for d in offline_qs.order_by(F("last_seen").asc(nulls_first=True), "device_id")[:8]]}
    incidents = [{"id": i.pk, "kind": i.get_kind_display(), "area": i.area.name, "alarms": i.alarm_count,
                  "opened_at": i.opened_at.isoformat()} for i in incidents_for(user).filter(closed_at__isnull=True)[:8]]
    stations = []
    for pk, name, lat, lon in (organisations_for(user, Organisation.Kind.RESCUE_STATION)
                               .filter(latitude__isnull=False, longitude__isnull=False)
                               .values_list("pk", "name", "latitude", "longitude")[:500]):
        la, lo = _out(lat, lon, crs)
        stations.append({"id": pk, "name": name, "lat": la, "lon": lo})
    return {"generated_at": now.isoformat(), "counts": counts, "cases": live_cases(user, now, crs), "kpis": kpis(user, now),
            "alarms": alarms, "offline": offline, "incidents": incidents, "stations": stations}
