"""Template filters for an area's local time (``{% load liftsafe_tz %}``); the resolver is
:mod:`liftsafe.core.zones`.

- ``{{ case.received_at|localtime_in:case.area_id|date:"Y-m-d H:i" }}``: the datetime in the area's zone
  (argument: an Area, an area id, or None = the deployment's zone); a non-datetime is returned unchanged;
- ``{% timezone case.area|area_zone %}…{% endtimezone %}``: activate one area's zone for a block
  (Django's ``{% load tz %}`` tag; every ``date`` filter inside shows that zone);
- ``{{ case.area|zone_name }}``: the effective IANA name, e.g. ``America/New_York``.
"""
from __future__ import annotations

import datetime as dt

from django import template
from django.templatetags.tz import do_timezone

from liftsafe.core.zones import area_zone as _area_zone

register = template.Library()


@register.filter(name="localtime_in")
def localtime_in(value, area=None):
    """``value`` (aware datetime) converted to ``area``'s zone, kept there by later ``date`` filters."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        return value
    return do_timezone(value, _area_zone(area if area != "" else None))


@register.filter(name="area_zone")
def area_zone(area):
    """The effective :class:`~zoneinfo.ZoneInfo` of ``area`` (Area, id or None)."""
    return _area_zone(area if area != "" else None)


@register.filter(name="zone_name")
def zone_name(area) -> str:
    """The effective zone name of ``area`` (``"America/New_York"``)."""
    return str(_area_zone(area if area != "" else None).key)
