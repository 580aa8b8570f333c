"""Each area's local time: the one resolver of an area's effective time zone.

An :class:`~liftsafe.core.models.Area` may name an IANA time zone (``Area.time_zone``, e.g.
``"America/New_York"``); empty means "inherit": the nearest ancestor's zone, else the deployment's
``settings.TIME_ZONE`` (``LIFTSAFE_TIME_ZONE``). Times are stored in UTC; everything with a local
meaning — hour-of-day and month statistics, report periods, order-number dates, dates shown in lists
and pages — uses the zone of the area concerned, through :func:`zone_for_path` / :func:`area_zone` /
:func:`zone_for_area_id`.

The explicit zones of all areas are read in one query and cached in the process (cleared by every
``Area.save``/``delete`` in this process, re-read after :data:`CACHE_TTL_S` seconds so that another
process's edit is seen too).
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.utils import timezone

#: seconds a process keeps the area → zone table before re-reading it
CACHE_TTL_S = 60.0

_lock = threading.Lock()
_cache: dict = {"at": None, "explicit": {}, "paths": {}}


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone name :mod:`zoneinfo` knows (``"Asia/Shanghai"`` → True)."""
    if not isinstance(name, str) or not name or name != name.strip():
        return False
    return name in _known()


@lru_cache(maxsize=256)
def get_zone(name: str) -> ZoneInfo:
    """``ZoneInfo(name)``, cached; the deployment's zone for an empty or unknown name."""
    try:
        return ZoneInfo(name) if name else default_zone()
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return default_zone()


def default_zone() -> ZoneInfo:
    """The deployment's zone (``settings.TIME_ZONE``)."""
    return ZoneInfo(settings.TIME_ZONE)


def clear_zone_cache() -> None:
    """Forget the cached area zones (called by ``Area.save``/``delete``)."""
    with _lock:
        _cache["at"] = None


def _table() -> tuple[dict[str, str], dict[int, str]]:
    """``({path: explicit zone name}, {area id: path})``, cached for :data:`CACHE_TTL_S` seconds."""
    now = time.monotonic()
    with _lock:
        if _cache["at"] is not None and now - _cache["at"] < CACHE_TTL_S:
            return _cache["explicit"], _cache["paths"]
    from .models import Area

    explicit: dict[str, str] = {}
    paths: dict[int, str] = {}
    for pk, path, name in Area.objects.order_by().values_list("pk", "path", "time_zone"):
        paths[pk] = path
        if name:
            explicit[path] = name
    with _lock:
        _cache.update(at=now, explicit=explicit, paths=paths)
    return explicit, paths


def zone_name_for_path(path: str | None) -> str:
    """The effective zone *name* of the area at ``path`` (``"US-NY/US-NY-NYC/"``): its own, else the nearest
    ancestor's, else ``settings.TIME_ZONE``. None/empty path: the deployment's."""
    if path:
        explicit, _paths = _table()
        if explicit:
            parts = path.rstrip("/").split("/")
            for n in range(len(parts), 0, -1):
                name = explicit.get("/".join(parts[:n]) + "/")
                if name:
                    return name
    return settings.TIME_ZONE


def zone_for_path(path: str | None) -> ZoneInfo:
    """The effective :class:`~zoneinfo.ZoneInfo` of the area at ``path`` (see :func:`zone_name_for_path`)."""
    return get_zone(zone_name_for_path(path))


def zone_name_for_area_id(area_id: int | None) -> str:
    """The effective zone name of the area with primary key ``area_id`` (the deployment's for None or unknown)."""
    if area_id is None:
        return settings.TIME_ZONE
    _explicit, paths = _table()
    return zone_name_for_path(paths.get(area_id))


def zone_for_area_id(area_id: int | None) -> ZoneInfo:
    """The effective zone of the area with primary key ``area_id`` (the deployment's for None or unknown)."""
    if area_id is None:
        return default_zone()
    _explicit, paths = _table()
    return zone_for_path(paths.get(area_id))


def area_zone(area) -> ZoneInfo:
    """The effective zone of ``area`` (an Area, an area id, or None = the deployment's)."""
    if area is None or area == "":
        return default_zone()
    if isinstance(area, int):
        return zone_for_area_id(area)
    return zone_for_path(getattr(area, "path", None))


def zone_names_under(path: str | None) -> list[str]:
    """Every effective zone name among the area at ``path`` and its descendants (sorted; the area's own
    first). None/empty path = every area of the database plus the deployment's zone."""
    explicit, _paths = _table()
    own = zone_name_for_path(path)
    names = {name for p, name in explicit.items() if not path or p.startswith(path)}
    names.add(own)
    return [own] + sorted(names - {own})


def local_date(at: dt.datetime, area=None) -> dt.date:
    """The local date of aware ``at`` in ``area``'s zone (see :func:`area_zone`)."""
    return timezone.localtime(at, area_zone(area)).date()


def local_today(area=None, now: dt.datetime | None = None) -> dt.date:
    """Today's date in ``area``'s zone (an Area, an area id, or None = the deployment's), at ``now`` (default now)."""
    return timezone.localtime(now or timezone.now(), area_zone(area)).date()


def local_dates_by_zone(now: dt.datetime | None = None) -> dict[str, tuple[dt.date, list[int]]]:
    """``{zone name: (today's local date there, [area ids in that zone])}`` for every area (cached table)."""
    now = now or timezone.now()
    _explicit, paths = _table()
    groups: dict[str, list[int]] = {}
    for pk, path in paths.items():
        groups.setdefault(zone_name_for_path(path), []).append(pk)
    groups.setdefault(settings.TIME_ZONE, [])
    return {name: (timezone.localtime(now, get_zone(name)).date(), ids) for name, ids in groups.items()}


def before_local_today_q(field: str, *, area_field: str = "area", days: int = 0, now: dt.datetime | None = None):
    """A ``Q``: the date ``field`` lies before (today − ``days``) *in the zone of the row's own area*
    (``area_field``, a FK to :class:`~liftsafe.core.models.Area`; null = the deployment's zone) — e.g. a hazard
    deadline that has passed where the lift is (issue 16: each jurisdiction's local time). One term when every
    zone has the same local date now (most of the day), else one term per zone (by area ids)."""
    from django.db.models import Q

    by_zone = local_dates_by_zone(now)
    delta = dt.timedelta(days=days)
    dates = {d for d, _ids in by_zone.values()}
    if len(dates) == 1:
        return Q(**{f"{field}__lt": next(iter(dates)) - delta})
    default_date = by_zone[settings.TIME_ZONE][0]
    q = Q(**{f"{area_field}__isnull": True, f"{field}__lt": default_date - delta})
    for _name, (date, ids) in by_zone.items():
        if ids:
            q |= Q(**{f"{area_field}_id__in": ids, f"{field}__lt": date - delta})
    return q


def local_dates_agree(now: dt.datetime | None = None) -> dt.date | None:
    """The one local date shared by every area's zone now, or None when zones disagree (around midnight)."""
    dates = {d for d, _ids in local_dates_by_zone(now).values()}
    return next(iter(dates)) if len(dates) == 1 else None
