"""Official-documents API: list and read (the addressee's reading recorded), issue (numbered, delivered).

Errors use the one contract of :mod:`liftsafe.core.errors`: 403 the role may not, 404 outside the scope,
422 bad input naming the field (``kind``, ``facts``, ``deadline``, ``hazard``, ``supersedes`` …).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from liftsafe.core.api import Status
from liftsafe.core.errors import ErrorOut
from liftsafe.core.pagination import BoundedPage
from liftsafe.core.permissions import require
from liftsafe.registry.selectors import elevator_get

from . import selectors, services

router = Router(tags=["notices"])
ERR = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class DocumentOut(Schema):
    id: int
    kind: str
    number: str
    authority_id: int
    authority_name: str
    year: int
    seq: int
    elevator_id: int
    addressee_id: int | None
    hazard_id: int | None
    facts: str
    requirements: str
    deadline: dt.date | None
    issued_on: dt.date
    issued_at: dt.datetime
    supersedes_id: int | None
    superseded_by_id: int | None = None
    delivered_at: dt.datetime | None = None
    read_at: dt.datetime | None = None

    @staticmethod
    def resolve_superseded_by_id(obj):
        s = getattr(obj, "superseded_by", None)
        return s.pk if s is not None else None

    @staticmethod
    def resolve_delivered_at(obj):
        d = getattr(obj, "delivery", None)
        return d.delivered_at if d is not None else None

    @staticmethod
    def resolve_read_at(obj):
        d = getattr(obj, "delivery", None)
        return d.read_at if d is not None else None


class IssueIn(Schema):
    elevator: int = Field(..., ge=1, le=2**31 - 1)
    kind: Literal["stop_use", "rectification", "instruction"]
    facts: str = Field(..., max_length=services.FACTS_MAX)
    requirements: str = Field("", max_length=services.REQUIREMENTS_MAX)
    deadline: dt.date | None = None
    hazard: int | None = Field(None, ge=1, le=2**31 - 1)
    supersedes: int | None = Field(None, ge=1, le=2**31 - 1)


@router.get("/documents", response={200: list[DocumentOut], 403: ErrorOut}, summary="Documents you may read",
            operation_id="notices_document_list")
@paginate(BoundedPage)
def document_list(request, elevator: int | None = None, kind: str = "", unread: bool = False):
    require(request.user, "notices.view")
    return selectors.document_search(request.user, elevator_id=elevator, kind=kind, unread=unread)


@router.get("/documents/{document_id}", response={200: DocumentOut, **ERR}, summary="One document (the addressee's reading is recorded)",
            operation_id="notices_document_get")
def document_get(request, document_id: int):
    require(request.user, "notices.view")
    doc = selectors.document_get(request.user, document_id)
    services.document_mark_read(request.user, doc)
    return selectors.document_get(request.user, document_id)


@router.post("/documents", response={201: DocumentOut, **ERR}, summary="Issue a numbered document", operation_id="notices_document_issue")
def document_issue(request, payload: IssueIn):
    require(request.user, "notices.issue")
    elevator = elevator_get(request.user, payload.elevator)
    hazard = supersedes = None
    if payload.hazard is not None:
        from liftsafe.hazards.selectors import hazard_get

        hazard = hazard_get(request.user, payload.hazard)
    if payload.supersedes is not None:
        supersedes = selectors.document_get(request.user, payload.supersedes)
    doc = services.document_issue(request.user, elevator=elevator, kind=payload.kind, facts=payload.facts,
                                  requirements=payload.requirements, deadline=payload.deadline, hazard=hazard,
                                  supersedes=supersedes)
    return Status(201, selectors.document_get(request.user, doc.pk))
