"""Command-centre pages (thin): the regulator's map and the 96333 wall screen. Both are shells filled by their
own static JS (``static/command/map.js``, ``wall.js``) from the JSON API (:mod:`.api`); the page carries the
configuration in data attributes (CSP: no inline script)."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse

from liftsafe.core import permissions
from liftsafe.core.errors import add_service_error
from liftsafe.rules import rule

from . import domain, selectors


@login_required
def map_page(request):
    """The lift map with its filters (query parameters as :func:`selectors.parse_filters`)."""
    permissions.require(request.user, "command.map")
    try:
        filters = selectors.parse_filters(request.GET)
    except ValidationError as exc:
        add_service_error(request, exc)
        filters = selectors.MapFilters()
    return render(request, "command/map.html", {
        "filters": filters, "map": selectors.map_settings(), "colours": list(domain.COLOUR_LABELS.items()),
        "flags": [(f, label, getattr(filters, f)) for f, label in domain.FLAG_LABELS.items()],
        "areas": selectors.areas_for(request.user).order_by("path")[:500],
        "colours_known": selectors.risk_colours_known(),
        "api": reverse("api:command_map"), "areas_api": reverse("api:command_map_areas"),
        "points_from_zoom": domain.POINTS_FROM_ZOOM, "elevator_base": reverse("registry:elevator_detail", args=[0])[: -len("0/")],
    })


@login_required
def wall_page(request):
    """The wall screen (大屏): a full-screen shell polled from ``/api/command/wall``."""
    permissions.require(request.user, "command.wall")
    return render(request, "command/wall.html", {
        "map": selectors.map_settings(), "api": reverse("api:command_wall"), "areas_api": reverse("api:command_map_areas"),
        "poll_ms": int(float(rule("command_wall_poll_s")) * 1000),
    })
