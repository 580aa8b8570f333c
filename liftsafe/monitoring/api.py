"""monitoring API router (mounted at /api/monitoring/)."""
from ninja import Router

router = Router(tags=["monitoring"])
