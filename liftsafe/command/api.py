"""Command-centre API: the map's clusters/points and area extents, the wall screen's live document.

Reads only (via :mod:`.selectors`, scoped). Errors: 403 the role may not open the map / wall screen, 422 a bad
bbox, zoom, colour or area naming the field (the one contract of :mod:`liftsafe.core.errors`).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Query, Router, Schema

from liftsafe.core.errors import ErrorOut
from liftsafe.core.permissions import require

from . import domain, selectors

router = Router(tags=["command"])

Colour = Literal["red", "orange", "yellow", "blue", "unknown"]


class MapQuery(Schema):
    south: float = Field(..., ge=-90, le=90, description="bbox south edge, degrees (basemap datum)")
    west: float = Field(..., ge=-180, le=180)
    north: float = Field(..., ge=-90, le=90)
    east: float = Field(..., ge=-180, le=180)
    zoom: int = Field(..., ge=domain.MIN_ZOOM, le=domain.MAX_ZOOM, description="Web-Mercator zoom level")
    colour: Colour | None = Field(None, description="risk colour (all lifts read 'unknown' until the risk module is wired)")
    overdue: bool = Field(False, description="only lifts whose maintenance is overdue (docs/domain §15.1)")
    expired: bool = Field(False, description="only lifts whose inspection expired or failed")
    hazard: bool = Field(False, description="only lifts with an open hazard")
    crowded: bool = Field(False, description="only lifts in crowded places")
    area: str = Field("", max_length=32, description="area code in the caller's scope (everything below it)")


class ClusterOut(Schema):
    lat: float
    lon: float
    n: int
    colours: dict[str, int]
    overdue: int
    expired: int
    hazard: int
    crowded: int
    id: int | None = None


class PointOut(Schema):
    id: int
    lat: float
    lon: float
    code: str
    address: str
    colour: str
    flags: list[str]
    url: str


class MapOut(Schema):
    mode: Literal["clusters", "points"]
    total: int
    cell: float | None = None
    truncated: bool = False
    clusters: list[ClusterOut] = []
    points: list[PointOut] = []


class AreaExtentOut(Schema):
    code: str
    name: str
    south: float
    west: float
    north: float
    east: float
    n: int


class KpiOut(Schema):
    key: str
    label: str
    unit: str
    value: float | None
    num: float | None
    den: float | None


class KpisOut(Schema):
    day: list[KpiOut]
    month: list[KpiOut]
    limits: dict[str, int]


class WallCaseOut(Schema):
    id: int
    no: str
    state: str
    level: int
    type: str
    entrapment: bool
    late: bool
    lat: float
    lon: float
    code: str
    received: dt.datetime
    url: str


class WallAlarmOut(Schema):
    id: int
    type: str
    label: str
    code: str
    raised_at: dt.datetime
    active: bool


class OfflineDeviceOut(Schema):
    device: str
    code: str
    last_seen: dt.datetime | None


class OfflineOut(Schema):
    count: int
    monitored: int
    devices: list[OfflineDeviceOut]


class IncidentOut(Schema):
    id: int
    kind: str
    area: str
    alarms: int
    opened_at: dt.datetime


class StationOut(Schema):
    id: int
    name: str
    lat: float
    lon: float


class WallOut(Schema):
    generated_at: dt.datetime
    counts: dict[str, int]
    cases: list[WallCaseOut]
    kpis: KpisOut
    alarms: list[WallAlarmOut]
    offline: OfflineOut
    incidents: list[IncidentOut]
    stations: list[StationOut]


@router.get("/map", response={200: MapOut, 403: ErrorOut, 422: ErrorOut}, operation_id="command_map", url_name="command_map",
            summary="Lifts of a bounding box: grid clusters with colour/flag counts, single lifts at street zoom")
def map_view(request, q: Query[MapQuery]):
    require(request.user, "command.map")
    crs = selectors.map_settings()["crs"]
    bbox = selectors.BBox.checked(q.south, q.west, q.north, q.east, crs)
    filters = selectors.MapFilters(colour=q.colour, overdue=q.overdue, expired=q.expired, hazard=q.hazard,
                                   crowded=q.crowded, area=q.area.strip())
    return selectors.map_clusters(request.user, bbox, q.zoom, filters)


@router.get("/map/areas", response={200: list[AreaExtentOut], 403: ErrorOut}, operation_id="command_map_areas", url_name="command_map_areas",
            summary="Per area of the caller's lifts, the box around them (the outline drawn without map tiles)")
def map_areas(request):
    require(request.user, "command.map")
    return selectors.area_extents(request.user)


@router.get("/wall", response={200: WallOut, 403: ErrorOut}, operation_id="command_wall", url_name="command_wall",
            summary="The wall screen's live document: open cases, KPIs, last alarms, offline devices, incidents, stations")
def wall(request):
    require(request.user, "command.wall")
    return selectors.wall_data(request.user)
