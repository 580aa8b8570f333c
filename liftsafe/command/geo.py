"""Datum conversions for Chinese basemaps (docs/map.md "Coordinates"): pure functions, degrees in and out.

The registry stores WGS-84 (GPS, OpenStreetMap). Basemaps published in mainland China are drawn in GCJ-02
(国测局 "Mars" coordinates: AMap/高德, Tencent, Google China) or BD-09 (Baidu, GCJ-02 shifted once more). A
WGS-84 point drawn on a GCJ-02 basemap lands 100–700 m off, so when ``LIFTSAFE_MAP_TILES_CRS`` names such a
basemap every point is converted with :func:`from_wgs84` before it is sent to the browser.

The WGS-84 → GCJ-02 offset is the publicly documented approximation (Krasovsky 1940 ellipsoid, the
polynomial widely reimplemented, e.g. eviltransform / coordtransform); GCJ-02 → WGS-84 is its numerical
inverse (fixed-point iteration, better than 1 cm inside China). Outside mainland China (a coarse rectangle
test, :func:`out_of_china`) GCJ-02 equals WGS-84, as the published maps do.
"""
from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
CRS_CHOICES = ("wgs84", "gcj02", "bd09")


def out_of_china(lat: float, lon: float) -> bool:
    """True outside the rectangle 3.86–53.55 N, 73.66–135.05 E (where GCJ-02 applies no offset)."""
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def _d_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _d_lon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """``(lat, lon)`` WGS-84 → GCJ-02 (unchanged outside China)."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat = _d_lat(lon - 105.0, lat - 35.0)
    dlon = _d_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (_A / sq * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float, *, tolerance_deg: float = 1e-9) -> tuple[float, float]:
    """``(lat, lon)`` GCJ-02 → WGS-84 by fixed-point iteration of :func:`wgs84_to_gcj02` (≤ 30 steps, error
    below ``tolerance_deg``, about 0.1 mm at the default)."""
    wlat, wlon = lat, lon
    for _step in range(30):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        dlat, dlon = glat - lat, glon - lon
        if abs(dlat) < tolerance_deg and abs(dlon) < tolerance_deg:
            break
        wlat, wlon = wlat - dlat, wlon - dlon
    return wlat, wlon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """``(lat, lon)`` GCJ-02 → BD-09 (Baidu's published transform)."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """``(lat, lon)`` BD-09 → GCJ-02 (inverse of :func:`gcj02_to_bd09`, to about 1e-6°)."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def from_wgs84(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """A stored WGS-84 point in the basemap datum ``crs`` (one of :data:`CRS_CHOICES`).

    Raises:
        ValueError: an unknown ``crs``.
    """
    if crs == "wgs84":
        return lat, lon
    if crs == "gcj02":
        return wgs84_to_gcj02(lat, lon)
    if crs == "bd09":
        return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))
    raise ValueError(f"unknown map datum {crs!r}: use one of {', '.join(CRS_CHOICES)}")


def to_wgs84(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """A point read off a ``crs`` basemap (a click, a bbox corner) back in WGS-84 (inverse of :func:`from_wgs84`)."""
    if crs == "wgs84":
        return lat, lon
    if crs == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if crs == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))
    raise ValueError(f"unknown map datum {crs!r}: use one of {', '.join(CRS_CHOICES)}")
