"""Command-centre map facts (pure: no user, no HTTP, no queries).

- the clustering grid: a cell of :data:`CELL_PX` screen pixels at a zoom level, in degrees
  (:func:`cell_deg`; Web-Mercator tiles of 256 px cover 360° / 2^zoom of longitude);
- from :data:`POINTS_FROM_ZOOM` (street level) the map shows single lifts, not clusters;
- the risk colours a lift may carry (the four colours of risk grading, docs/domain §8) plus ``unknown``.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _l

CELL_PX = 64  #: clustering cell edge in screen pixels (about one cluster icon with its margin)
TILE_PX = 256  #: Web-Mercator tile edge in pixels
MIN_ZOOM, MAX_ZOOM = 0, 20
POINTS_FROM_ZOOM = 16  #: from this zoom single lifts (a street's buildings), below it grid clusters
MAX_POINTS = 5000  #: single lifts returned at most per request (a bbox at street zoom holds far fewer)

#: the four risk colours of docs/domain §8 (red major … blue low) and ``unknown`` (no risk score for the lift)
COLOURS = ("red", "orange", "yellow", "blue", "unknown")
COLOUR_LABELS = {"red": _l("Red (major risk)"), "orange": _l("Orange (larger risk)"), "yellow": _l("Yellow (general risk)"),
                 "blue": _l("Blue (low risk)"), "unknown": _l("Risk colour unknown")}
#: map filters (query parameters of the map page and API; all optional, combined with AND)
FLAGS = ("overdue", "expired", "hazard", "crowded")
FLAG_LABELS = {"overdue": _l("Maintenance overdue"), "expired": _l("Inspection expired or failed"),
               "hazard": _l("Open hazard"), "crowded": _l("Crowded place")}


def cell_deg(zoom: int) -> float:
    """Edge of one clustering cell in degrees at ``zoom`` (0 … 20): ``360 / (256 · 2^zoom) · CELL_PX``.

    Raises:
        ValueError: ``zoom`` outside :data:`MIN_ZOOM` … :data:`MAX_ZOOM`.
    """
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise ValueError(f"zoom must be {MIN_ZOOM}…{MAX_ZOOM}, got {zoom}")
    return 360.0 / (TILE_PX * 2 ** zoom) * CELL_PX


def shows_points(zoom: int) -> bool:
    """Whether the map shows single lifts (not clusters) at ``zoom``."""
    return zoom >= POINTS_FROM_ZOOM
