"""Bounded pagination for every API list: ``?limit=`` and ``?offset=`` with limits, never a 500.

``limit`` is 1 … :data:`LIMIT_MAX` (default :data:`LIMIT_DEFAULT`), ``offset`` 0 … :data:`OFFSET_MAX`;
anything else (negative, ≥ 2^63, not a number) is a 422 naming the parameter. Response
``{"items": […], "count": n}``. Registry lists extend it with a capped count (liftsafe.registry.api.Page).
"""
from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

LIMIT_DEFAULT = 100
LIMIT_MAX = 500
#: liftsafe design: far past the largest registry (about 1,000,000 elevators) and below every integer limit.
OFFSET_MAX = 100_000_000


class BoundedPage(LimitOffsetPagination):
    """``LimitOffsetPagination`` with ``limit`` 1-500 (default 100) and ``offset`` 0-100,000,000."""

    class Input(Schema):
        limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX, description=f"page size, 1-{LIMIT_MAX}")
        offset: int = Field(0, ge=0, le=OFFSET_MAX, description=f"rows to skip, 0-{OFFSET_MAX}")

    def __init__(self, **kwargs):
        kwargs.setdefault("max_limit", LIMIT_MAX)
        super().__init__(**kwargs)

