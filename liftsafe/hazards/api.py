"""hazards API router (mounted at /api/hazards/)."""
from ninja import Router

router = Router(tags=["hazards"])
