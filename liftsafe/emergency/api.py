"""emergency API router (mounted at /api/emergency/)."""
from ninja import Router

router = Router(tags=["emergency"])
