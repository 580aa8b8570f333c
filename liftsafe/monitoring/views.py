"""Monitoring pages: overview (coverage by area, devices offline, active alarms, correlated incidents, door
sensors) and one elevator's devices (last message, online/offline, last status and statistics, door condition)
and alarm history, with the forms of the roles allowed to act (bind/unbind, acknowledge, clear).

Thin: reads go through :mod:`liftsafe.monitoring.selectors` (scoped, out of scope → 404); writes through
:mod:`liftsafe.monitoring.services`, which decide who may act; a refusal comes back as a message on the
page it was sent from (house style of the hazards pages). The active-alarm panel refreshes with htmx.
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liftsafe.core.errors import add_service_error
from liftsafe.core.permissions import allowed
from liftsafe.registry.codes import ESCALATOR_CATEGORIES
from liftsafe.registry.selectors import elevator_get

from . import selectors, services
from .codes import AlarmType, status_rows
from .door_stream import summary
from .models import Alarm, DeadLetter, Incident, MonitoringDevice


def _errors(request, exc: Exception) -> None:
    """A service error as page messages, each field named by its label and values by their translated label
    (the one page helper, :func:`liftsafe.core.errors.add_service_error`)."""
    add_service_error(request, exc, Alarm, MonitoringDevice, Incident, DeadLetter)


def _back(request, default: str, **kw):
    nxt = request.POST.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(nxt)
    return redirect(default, **kw)


def _reason_label(reason: str) -> str:
    return str(DeadLetter.Reason(reason).label) if reason in DeadLetter.Reason.values else reason


def _obj(value) -> dict:
    """A device's stored JSON object, or ``{}`` when the row holds anything else (a corrupt row never breaks a page)."""
    return value if isinstance(value, dict) else {}


def _stats_time(value):
    """The ``ts`` of a device's last statistics (ISO 8601 string, as received) as an aware datetime, or None
    when missing or not a date-time (a naive value is taken as UTC, the schema's time zone)."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.timezone.utc)
    return parsed


@login_required
def overview(request):
    """Coverage by area, devices offline, active alarms, correlated incidents, door sensors (htmx → the alarm panel only)."""
    user = request.user
    ctx = {
        "active": selectors.with_case_refs(user, list(selectors.alarms_for(user, active=True)[:100])),
        "can_handle": allowed(user, "alarm.handle"),
    }
    if request.htmx:
        return render(request, "monitoring/_active_alarms.html", ctx)
    ctx.update({
        "incidents": selectors.incident_rows(user),
        "coverage": selectors.coverage_by_area(user),
        "offline": list(selectors.devices_for(user).filter(active=True, online=False, last_seen__isnull=False)
                        .order_by("last_seen")[:50]),
        "door_sensors": selectors.door_sensors_for(user),
        "vibration_label": AlarmType.ABNORMAL_VIBRATION.label,  # the flagged door sensor's badge = its alarm's label
        "dead": [(_reason_label(reason), n) for reason, n in selectors.dead_letter_counts(user).items()],
    })
    return render(request, "monitoring/overview.html", ctx)


DEVICE_PAGE_SIZE = 50


@login_required
def device_list(request):
    """The caller's monitoring devices (scoped, :func:`selectors.device_list`): ``q`` device id or elevator code
    prefix, ``state`` all/online/offline (an unknown value → a message, all shown), ``page``; 50 a page.
    htmx → the results fragment."""
    from urllib.parse import urlencode

    from django.core.paginator import Paginator

    q = request.GET.get("q", "").strip()[:64]
    state = request.GET.get("state") or "all"
    try:
        qs = selectors.device_list(request.user, q=q, state=state)
    except ValidationError as exc:
        add_service_error(request, exc, MonitoringDevice)
        state = "all"
        qs = selectors.device_list(request.user, q=q)
    page = Paginator(qs, DEVICE_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in (("q", q), ("state", "" if state == "all" else state)) if v}
    ctx = {"page": page, "filters": {"q": q, "state": state}, "query_string": urlencode(filters),
           "states": [("all", _("All")), ("online", _("Online")), ("offline", _("Offline"))]}
    if request.htmx and not request.htmx.boosted:
        return render(request, "monitoring/_device_rows.html", ctx)
    return render(request, "monitoring/devices.html", ctx)


@login_required
def elevator_monitoring(request, pk: int):
    """One elevator: its devices (last message, online/offline, last status, statistics, door condition) and alarm history."""
    user = request.user
    elevator = elevator_get(user, pk)
    devices = list(selectors.devices_for(user).filter(elevator=elevator).order_by("-active", "device_id"))
    escalator = elevator.category in ESCALATOR_CATEGORIES
    ctx = {
        "e": elevator,
        "devices": [{"d": d, "door": summary(_obj(d.state).get("door")),
                     "status": status_rows(_obj(d.last_status), escalator=escalator),
                     "stats": status_rows({k: v for k, v in _obj(d.last_stats).items() if k != "ts"}),
                     "stats_at": _stats_time(_obj(d.last_stats).get("ts"))} for d in devices],
        "alarms": selectors.with_case_refs(user, list(selectors.alarms_for(user, elevator_id=elevator.pk)[:200])),
        "door_runs": list(selectors.door_runs_for(user, elevator)),
        "can_bind": allowed(user, "device.bind", elevator),
        "can_handle": allowed(user, "alarm.handle"),
    }
    return render(request, "monitoring/elevator.html", ctx)


@login_required
@require_POST
def device_bind(request, pk: int):
    elevator = elevator_get(request.user, pk)
    try:
        d = services.device_bind(request.user, elevator, request.POST.get("device_id", "").strip(),
                                 vendor=request.POST.get("vendor", "").strip()[:64])
        messages.success(request, _("Device %(id)s bound.") % {"id": d.device_id})
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    return redirect("monitoring:elevator", pk=elevator.pk)


@login_required
@require_POST
def device_unbind(request, pk: int):
    device = selectors.device_get(request.user, pk)
    try:
        services.device_unbind(request.user, device)
        messages.success(request, _("Device %(id)s unbound.") % {"id": device.device_id})
    except PermissionDenied as exc:
        _errors(request, exc)
    return redirect("monitoring:elevator", pk=device.elevator_id)


@login_required
@require_POST
def alarm_acknowledge(request, pk: int):
    alarm = selectors.alarm_get(request.user, pk)
    try:
        services.acknowledge_alarm(request.user, alarm)
        messages.success(request, _("Alarm acknowledged."))
    except PermissionDenied as exc:
        _errors(request, exc)
    return _back(request, "monitoring:overview")


@login_required
@require_POST
def alarm_clear(request, pk: int):
    alarm = selectors.alarm_get(request.user, pk)
    try:
        services.clear_alarm(request.user, alarm, reason=request.POST.get("reason", ""))
        messages.success(request, _("Alarm cleared."))
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    return _back(request, "monitoring:elevator", pk=alarm.elevator_id)
