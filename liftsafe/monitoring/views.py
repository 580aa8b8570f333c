"""Monitoring pages: overview (coverage by area, active alarms, incidents) and one elevator's devices and alarm history.

Thin: reads go through :mod:`liftsafe.monitoring.selectors` (scoped); the
active-alarm panel refreshes with htmx. Out-of-scope elevator → 404.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from liftsafe.registry.selectors import elevator_get

from . import selectors, services


@login_required
def overview(request):
    """Coverage by area, devices offline, active alarms, correlated incidents (htmx → the alarm panel only)."""
    user = request.user
    ctx = {
        "active": list(selectors.alarms_for(user, active=True)[:100]),
        "incidents": list(selectors.incidents_for(user)[:20]),
        "coverage": selectors.coverage_by_area(user),
        "offline": list(selectors.devices_for(user).filter(active=True, online=False, last_seen__isnull=False)[:50]),
        "dead": selectors.dead_letter_counts(user),
    }
    if request.htmx:
        return render(request, "monitoring/_active_alarms.html", ctx)
    return render(request, "monitoring/overview.html", ctx)


@login_required
def elevator_monitoring(request, pk: int):
    """One elevator: its devices (last message, online/offline, last status) and alarm history."""
    user = request.user
    elevator = elevator_get(user, pk)
    ctx = {
        "e": elevator,
        "devices": list(selectors.devices_for(user).filter(elevator=elevator)),
        "alarms": list(selectors.alarms_for(user, elevator_id=elevator.pk)[:200]),
    }
    return render(request, "monitoring/elevator.html", ctx)


@login_required
@require_POST
def alarm_acknowledge(request, pk: int):
    alarm = selectors.alarm_get(request.user, pk)
    services.acknowledge_alarm(request.user, alarm)
    return redirect(request.POST.get("next") or "monitoring:overview")
