"""Monitoring reads, always scoped to the caller through the elevator (registry.selectors.scope_elevators)."""
from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from liftsafe.core.models import Area
from liftsafe.core.scoping import scope_of
from liftsafe.registry.selectors import scope_elevators

from .models import Alarm, DeadLetter, DoorAnalyticsRun, Incident, MonitoringDevice


def devices_for(user) -> QuerySet[MonitoringDevice]:
    """Devices whose elevator ``user`` may see."""
    return scope_elevators(scope_of(user), MonitoringDevice.objects.all(), prefix="elevator__").select_related("elevator", "elevator__area")


DEVICE_STATES = ("all", "online", "offline")


def device_list(user, *, q: str = "", state: str = "all") -> QuerySet[MonitoringDevice]:
    """Devices ``user`` may see (:func:`devices_for`) for the device list page, offline first, then by last
    message received (oldest first, never-seen last), then device id.

    ``q``: prefix (case-insensitive) of the device id or of the elevator's registration, equipment, rescue
    code or device number (source id); blank = no filter. ``state``: one of :data:`DEVICE_STATES`.
    The one filter declaration of the device list: the page (``/monitoring/devices/``) and the API
    (``GET /api/monitoring/devices``) both call it, so both return the same rows for the same filters.

    Raises:
        ValidationError: ``{"state": [reason]}`` for any other state.
    """
    from django.core.exceptions import ValidationError
    from django.db.models import F
    from django.utils.translation import gettext as _

    if state not in DEVICE_STATES:
        raise ValidationError({"state": [_("must be one of %(states)s, not %(value)s") % {
            "states": ", ".join(DEVICE_STATES), "value": repr(str(state)[:32])}]})
    qs = devices_for(user)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(device_id__istartswith=q) | Q(elevator__registration_code__istartswith=q)
                       | Q(elevator__equipment_code__istartswith=q) | Q(elevator__rescue_code__istartswith=q)
                       | Q(elevator__source_id__istartswith=q))
    if state != "all":
        qs = qs.filter(online=(state == "online"))
    return qs.order_by("online", F("last_seen").asc(nulls_last=True), "device_id")


def device_get(user, pk: int) -> MonitoringDevice:
    """One device (by primary key) if ``user`` may see its elevator. Raises Http404 otherwise (same as missing)."""
    d = devices_for(user).filter(pk=pk).first()
    if d is None:
        raise Http404("device not found")
    return d


def device_ids_for(user, ids) -> set[str]:
    """Which of ``ids`` are active devices ``user`` may report for."""
    return set(devices_for(user).filter(device_id__in=list(ids), active=True).values_list("device_id", flat=True))


def alarms_for(user, *, elevator_id: int | None = None, active: bool | None = None) -> QuerySet[Alarm]:
    """Alarms of elevators ``user`` may see, newest first."""
    qs = scope_elevators(scope_of(user), Alarm.objects.all(), prefix="elevator__").select_related("elevator", "device", "incident")
    if elevator_id is not None:
        qs = qs.filter(elevator_id=elevator_id)
    if active is not None:
        qs = qs.filter(cleared_at__isnull=active)
    return qs.order_by("-raised_at", "-pk")


def alarm_get(user, pk: int) -> Alarm:
    """One alarm if ``user`` may see it. Raises Http404 otherwise (same as missing)."""
    a = alarms_for(user).filter(pk=pk).first()
    if a is None:
        raise Http404("alarm not found")
    return a


def case_refs(user, case_ids) -> dict[int, dict]:
    """The emergency cases ``case_ids`` (alarm ``case_id`` values) as ``{id: {"id", "no", "visible"}}``, in one query.

    ``no`` is the case's order number (处置单号); ``visible`` says whether ``user`` may open the case
    (:func:`liftsafe.emergency.selectors.scope_cases`; a maintenance unit sees only cases dispatched to it),
    so a page links only cases that will not answer 404. Unknown ids are left out.
    """
    from django.db.models import Exists, OuterRef

    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.emergency.selectors import scope_cases

    ids = {int(c) for c in case_ids if c}
    if not ids:
        return {}
    visible = scope_cases(scope_of(user)).filter(pk=OuterRef("pk")).order_by()
    rows = EmergencyCase.objects.filter(pk__in=ids).annotate(visible=Exists(visible)).values_list("pk", "order_number", "visible")
    return {pk: {"id": pk, "no": no, "visible": bool(vis)} for pk, no, vis in rows}


def with_case_refs(user, alarms: list[Alarm]) -> list[Alarm]:
    """Set ``case_ref`` (see :func:`case_refs`, or None) on each alarm; one query for the whole list."""
    refs = case_refs(user, (a.case_id for a in alarms))
    for a in alarms:
        a.case_ref = refs.get(a.case_id) if a.case_id else None
    return alarms


def incidents_for(user) -> QuerySet[Incident]:
    """Incidents with at least one alarm the user may see (correlated power cuts), newest first."""
    visible = alarms_for(user).values("incident_id")
    return Incident.objects.filter(pk__in=visible).select_related("area").order_by("-opened_at")


def incident_rows(user, limit: int = 20) -> list[dict]:
    """Correlated incidents for the overview, newest first: ``{"incident", "alarms", "active", "elevators",
    "cases"}`` where the counts and the cases (emergency cases opened by the incident's entrapment alarms, as
    :func:`case_refs` dicts) are of the alarms ``user`` may see (an incident may span elevators of several units)."""
    incidents = list(incidents_for(user)[:limit])
    rows = {i.pk: {"incident": i, "alarms": 0, "active": 0, "elevators": set(), "cases": []} for i in incidents}
    for inc_id, elevator_id, cleared, case_id in (alarms_for(user).filter(incident_id__in=list(rows)).order_by("raised_at")
                                                  .values_list("incident_id", "elevator_id", "cleared_at", "case_id")):
        r = rows[inc_id]
        r["alarms"] += 1
        r["active"] += cleared is None
        r["elevators"].add(elevator_id)
        if case_id and case_id not in r["cases"]:
            r["cases"].append(case_id)
    refs = case_refs(user, (c for r in rows.values() for c in r["cases"]))
    return [{**r, "elevators": len(r["elevators"]), "cases": [refs[c] for c in r["cases"] if c in refs]} for r in rows.values()]


def door_sensors_for(user, limit: int = 20) -> list[dict]:
    """Devices reporting door vibration (streaming door analytics), flagged first:
    ``{"device", "door": door_stream.summary(...)}``."""
    from .door_stream import summary

    qs = devices_for(user).filter(active=True, last_stats__has_key="vibration_db").order_by("device_id")[:limit]
    rows = [{"device": d, "door": summary(d.state.get("door") if isinstance(d.state, dict) else None)} for d in qs]
    return sorted(rows, key=lambda r: not (r["door"] or {}).get("flagged"))


def coverage_by_area(user) -> list[dict]:
    """Per area of the user's elevators: ``{"area", "elevators", "monitored", "online", "offline", "active_alarms"}``.

    All counts are elevators (an elevator with a controller gateway and an add-on door sensor counts once):
    ``monitored`` has an active device, ``online`` has an active device that is online, ``offline`` is
    monitored but with no device online, so ``online + offline == monitored``.
    """
    from liftsafe.registry.selectors import elevators_for

    rows = list(elevators_for(user).values("area_id").annotate(
        elevators=Count("pk", distinct=True),
        monitored=Count("pk", filter=Q(monitoring_devices__active=True), distinct=True),
        online=Count("pk", filter=Q(monitoring_devices__active=True, monitoring_devices__online=True), distinct=True),
    ).order_by("area_id"))
    for r in rows:
        r["offline"] = r["monitored"] - r["online"]
    active = dict(alarms_for(user, active=True).order_by().values_list("elevator__area_id").annotate(n=Count("pk")))
    areas = {a.pk: a for a in Area.objects.filter(pk__in=[r["area_id"] for r in rows])}
    return [{**r, "area": areas.get(r["area_id"]), "active_alarms": active.get(r["area_id"], 0)} for r in rows]


def door_runs_for(user, elevator) -> QuerySet[DoorAnalyticsRun]:
    """Batch door-analytics runs (``liftsafe door_analytics``) of the elevator's devices, newest first, if in scope."""
    return DoorAnalyticsRun.objects.filter(device__in=devices_for(user).filter(elevator=elevator)).select_related("device")[:10]


def dead_letter_counts(user) -> dict[str, int]:
    """Dead letters by reason (administrators only: payloads are not scoped to an elevator)."""
    if not scope_of(user).is_admin:
        return {}
    return dict(DeadLetter.objects.order_by().values_list("reason").annotate(n=Count("pk")))
