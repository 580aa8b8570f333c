"""Registry reads, always scoped to the caller (see :mod:`liftsafe.core.scoping`).

Every function takes ``user`` first; none returns an object the user may not
see. Pages, the API and exports all read through here.
"""
from __future__ import annotations

import datetime as dt
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from liftsafe.core.messages import render as render_message
from liftsafe.core.models import Area, Role
from liftsafe.core.scoping import Scope, scope_of

from .models import Elevator, LifecycleEvent, MaintenanceContract, Organisation, normalize_address


def current_contracts(on: dt.date | None = None) -> QuerySet[MaintenanceContract]:
    """Contracts in force on ``on`` (default today): start ≤ on ≤ end (or open-ended)."""
    on = on or timezone.localdate()
    return MaintenanceContract.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=on), start_date__lte=on)


def scope_elevators(scope: Scope, qs: QuerySet[Elevator] | None = None, prefix: str = "") -> QuerySet:
    """Narrow ``qs`` (elevators, or any model reaching one through ``prefix``) to ``scope``.

    ``prefix`` is the lookup path from ``qs``'s model to the elevator, e.g.
    ``"elevator__"`` for contracts or lifecycle events; this is how nested
    objects are scoped by the same rule as elevators.
    """
    qs = Elevator.objects.all() if qs is None else qs
    if scope.is_admin:
        return qs
    if scope.sees_nothing:
        return qs.none()
    role = scope.role
    if role in (Role.REGULATOR, Role.OPERATOR, Role.RESCUE_STATION):
        return qs.filter(**{f"{prefix}area__path__startswith": scope.area_path})
    if role == Role.MAINTENANCE_UNIT:
        ref = OuterRef(f"{prefix}pk") if prefix else OuterRef("pk")
        return qs.filter(Exists(current_contracts().filter(elevator=ref, maintenance_unit_id=scope.organisation_id)))
    if role == Role.USE_UNIT:
        return qs.filter(**{f"{prefix}use_unit_id": scope.organisation_id})
    if role == Role.INSPECTION_AGENCY:
        return qs.filter(**{f"{prefix}inspection_agency_id": scope.organisation_id})
    if role == Role.INSURER:
        return qs.filter(**{f"{prefix}insurer_id": scope.organisation_id})
    return qs.none()


def elevators_for(user) -> QuerySet[Elevator]:
    """All elevators ``user`` may see."""
    return scope_elevators(scope_of(user))


def elevator_get(user, pk: int) -> Elevator:
    """One elevator, if ``user`` may see it.

    Raises:
        Http404: if it does not exist or is outside the user's scope (the two
            are indistinguishable on purpose).
    """
    obj = elevators_for(user).select_related("area", "building", "use_unit", "manufacturer", "inspection_agency", "insurer").filter(pk=pk).first()
    if obj is None:
        raise Http404("elevator not found")
    return obj


def _address_prefix(q: str) -> Q:
    """Index-friendly address prefix match on ``search_address``.

    PostgreSQL: ``LIKE 'X%'`` uses the varchar_pattern_ops index Django adds
    for ``db_index`` char fields. SQLite's LIKE is case-insensitive and cannot
    use a plain index, so there it is the equivalent range ``X <= a < X+U+10FFFF``.
    """
    key = normalize_address(q)
    if connection.vendor == "sqlite":
        return Q(search_address__gte=key, search_address__lt=key + "\U0010ffff")
    return Q(search_address__startswith=key)


def elevator_search(user, q: str = "", *, area: str | None = None, category: str | None = None,
                    status: str | None = None, place_type: int | None = None, use_unit: int | None = None,
                    maintenance_unit: int | None = None, source: str | None = None) -> QuerySet[Elevator]:
    """Search ``user``'s elevators by any identity code or by address, with filters.

    ``q`` matches exactly (case-insensitive) any of 注册代码, 设备代码,
    使用登记证编号, rescue code or the source's device number; otherwise it is
    an address prefix (case-insensitive; "521 EAST 68" finds "521 EAST   68 STREET"
    because runs of spaces are folded on import). ``area`` is an area code
    (everything below it); ``maintenance_unit`` filters on the current contract.
    The result is ordered by source id and is lazy: slice or paginate it.
    """
    qs = elevators_for(user)
    q = " ".join((q or "").split())
    if q:
        code = q.upper()
        exact = (Q(registration_code=code) | Q(equipment_code=code) | Q(use_certificate_no__in={q, code})
                 | Q(rescue_code=q) | Q(source_id=code))
        if exact_hits := list(qs.filter(exact).values_list("pk", flat=True)[:50]):
            qs = qs.filter(pk__in=exact_hits)
        else:
            qs = qs.filter(_address_prefix(q))
    if area:
        node = Area.objects.filter(code=area).only("path").first()
        qs = qs.filter(area__path__startswith=node.path) if node else qs.none()
    if category:
        qs = qs.filter(category=category)
    if status:
        qs = qs.filter(status=status)
    if place_type:
        qs = qs.filter(place_type=place_type)
    if use_unit:
        qs = qs.filter(use_unit_id=use_unit)
    if maintenance_unit:
        qs = qs.filter(Exists(current_contracts().filter(elevator=OuterRef("pk"), maintenance_unit_id=maintenance_unit)))
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("source", "source_id")


def maintenance_unit_on(elevator: Elevator, on: dt.date | None = None) -> Organisation | None:
    """The elevator's contracted maintenance unit on date ``on`` (default today), or None.

    This is the level-1 responder of the 96333 workflow (docs/domain §3.2).
    """
    contract = current_contracts(on).filter(elevator=elevator).select_related("maintenance_unit").order_by("-start_date").first()
    return contract.maintenance_unit if contract else None


def contracts_for(user, elevator: Elevator) -> QuerySet[MaintenanceContract]:
    """The elevator's contract history (newest first), if ``user`` may see the elevator."""
    return scope_elevators(scope_of(user), MaintenanceContract.objects.filter(elevator=elevator), prefix="elevator__").select_related("maintenance_unit").order_by("-start_date")


def lifecycle_for(user, elevator: Elevator) -> QuerySet[LifecycleEvent]:
    """The elevator's lifecycle events (oldest first), if ``user`` may see it."""
    return scope_elevators(scope_of(user), LifecycleEvent.objects.filter(elevator=elevator), prefix="elevator__").order_by("occurred_on", "id")


def history_for(user, elevator: Elevator) -> list[dict]:
    """The elevator's audit history, newest first, as dicts.

    Shape: ``{"at": datetime, "user": str | None, "type": "+"|"~"|"-",
    "reason": str, "changes": [{"field": name, "old": value, "new": value}]}``.
    The first record (creation) lists every non-empty field as new.
    """
    elevator_get(user, elevator.pk)  # scope check
    records = list(elevator.history.select_related("history_user").order_by("history_date", "history_id"))
    out: list[dict] = []
    prev = None
    field_names = [f.name for f in Elevator._meta.fields if f.name not in ("id", "updated_at", "created_at")]
    for rec in records:
        if prev is None:
            changes = [{"field": f, "old": None, "new": getattr(rec, f if not Elevator._meta.get_field(f).is_relation else f + "_id")}
                       for f in field_names if getattr(rec, f if not Elevator._meta.get_field(f).is_relation else f + "_id") not in (None, "", {})]
        else:
            delta = rec.diff_against(prev)
            changes = [{"field": c.field, "old": c.old, "new": c.new} for c in delta.changes]
        out.append({
            "at": rec.history_date,
            "user": rec.history_user.get_username() if rec.history_user else None,
            "type": rec.history_type,
            "reason": render_message(rec.history_change_reason or ""),  # in the reader's language
            "changes": changes,
        })
        prev = rec
    out.reverse()
    return out


def organisations_for(user, kind: str | None = None) -> QuerySet[Organisation]:
    """Organisations ``user`` may see: admins all; area roles those in their area or serving its elevators; an organisation itself."""
    scope = scope_of(user)
    qs = Organisation.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if scope.is_admin:
        return qs
    if scope.sees_nothing:
        return qs.none()
    if scope.area_path:
        return qs.filter(Q(area__path__startswith=scope.area_path) | Q(area__isnull=True, kind=Organisation.Kind.MANUFACTURER))
    return qs.filter(pk=scope.organisation_id)


def areas_for(user) -> QuerySet[Area]:
    """Areas ``user`` may filter by: below their area for area roles, all for admins, the areas of their elevators otherwise."""
    scope = scope_of(user)
    if scope.is_admin:
        return Area.objects.all()
    if scope.sees_nothing:
        return Area.objects.none()
    if scope.area_path:
        return Area.objects.filter(path__startswith=scope.area_path)
    return Area.objects.filter(pk__in=elevators_for(user).values("area_id").distinct())
