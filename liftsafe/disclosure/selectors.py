"""Staff reads of the disclosure app, always narrowed to the user's scope (public reads live in :mod:`.public`)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from liftsafe.core.errors import NotFound
from liftsafe.core.models import Area
from liftsafe.core.permissions import role_allowed
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import scope_elevators

from .models import PublicationSetting, PublicReport


def reports_for(user) -> QuerySet[PublicReport]:
    """Public reports about the lifts in ``user``'s scope, for the roles that receive them (units, regulators,
    admins: action ``disclosure.reports``); nothing for anyone else (operators, insurers … never see reporters' phones)."""
    if not role_allowed(user, "disclosure.reports"):
        return PublicReport.objects.none()
    return scope_elevators(scope_of(user), PublicReport.objects.all(), prefix="elevator__") \
        .select_related("elevator", "elevator__area", "use_unit", "maintenance_unit", "duplicate_of")


def report_get(user, pk: int) -> PublicReport:
    """One report in scope (``NotFound`` when missing or out of scope, alike)."""
    r = reports_for(user).filter(pk=pk).first()
    if r is None:
        raise NotFound("public report")
    return r


def report_list(user, *, state: str = "", elevator_id: int | None = None, open_only: bool = False) -> QuerySet[PublicReport]:
    from .models import OPEN_STATES

    qs = reports_for(user)
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(state__in=OPEN_STATES)
    if elevator_id is not None:
        qs = qs.filter(elevator_id=elevator_id)
    return qs.order_by("-created_at", "-id")


def label_elevators(user, *, area: str = "", ids: list[int] | None = None) -> QuerySet[Elevator]:
    """The lifts ``user`` may print labels for (their own lifts; a regulator's area), not scrapped, in a stable
    order (area, address, id). ``area``: an area code to narrow to; ``ids``: explicit lift ids (ids out of scope
    are silently not there, like missing ones)."""
    if not role_allowed(user, "disclosure.labels"):
        return Elevator.objects.none()
    qs = scope_elevators(scope_of(user)).exclude(status=Elevator.Status.SCRAPPED)
    if area:
        found = Area.objects.filter(code=area).only("path").first()
        if found is None:
            raise ValidationError({"area": [_("Unknown area code %(c)r.") % {"c": area}]})
        qs = qs.filter(area__path__startswith=found.path)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.order_by("area__path", "address", "pk")


def publication_areas(user) -> QuerySet[Area]:
    """Areas whose publication settings ``user`` may change: a regulator's area and its sub-areas; all for admins."""
    scope = scope_of(user)
    if not role_allowed(user, "disclosure.publication"):
        return Area.objects.none()
    if scope.is_admin:
        return Area.objects.all()
    return Area.objects.filter(path__startswith=scope.area_path)


def publication_settings(user) -> QuerySet[PublicationSetting]:
    return PublicationSetting.objects.filter(area__in=publication_areas(user)).select_related("area").order_by("area__path")
