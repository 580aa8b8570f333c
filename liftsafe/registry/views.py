"""Registry pages: elevator list with search and filters, elevator detail.

Thin: every read goes through :mod:`liftsafe.registry.selectors` (scoped to
the user); an elevator outside the user's scope is a 404, like a missing one.
The list answers htmx requests with the results fragment only.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Model
from django.shortcuts import render
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from liftsafe.core.errors import add_service_error
from liftsafe.core.models import Area

from . import filters as elevator_filters
from . import selectors
from .codes import CATEGORY_CHOICES, PLACE_TYPE_CHOICES
from .models import Elevator, Organisation

PAGE_SIZE = 50
# A <select> of use units stays usable up to this many options; above it
# (e.g. the NYC demo, one use unit per building) the filter is a name prefix box.
MAX_SELECT_OPTIONS = 300
# Result counts stop here: counting 76k scoped rows takes 1-50 ms on SQLite (measured on the
# NYC-sized registry), but at a million rows an exact count on every keystroke would not.
COUNT_CAP = 100_000
FILTER_KEYS = elevator_filters.FILTER_KEYS  # declared once: registry/filters.py (page, API and exports)


class CappedPaginator(Paginator):
    """A paginator whose count stops at ``cap`` rows.

    Counting every matching row on every keystroke is the slow part of a
    search over a large registry; beyond ``cap`` the page shows "more than N"
    and numbered pages stop at the cap (the user narrows the search instead).
    """

    def __init__(self, object_list, per_page, cap: int, **kw):
        super().__init__(object_list, per_page, **kw)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def _filters(request) -> dict[str, str]:
    return {k: request.GET.get(k, "").strip() for k in FILTER_KEYS if request.GET.get(k, "").strip()}


@login_required
def elevator_list(request):
    """Elevator list: ``q`` any identity code or address prefix; filters area, category,
    status, place type, use unit, maintenance unit; ``page``. htmx → the results fragment."""
    f = _filters(request)
    user = request.user
    try:  # the same declaration as the API and the exports (registry/filters.py)
        values = elevator_filters.parse(f)
    except ValidationError as exc:  # a bad value is named (by its label) and left out (the rest still filters)
        add_service_error(request, exc, Elevator)
        f = {k: v for k, v in f.items() if k not in exc.message_dict}
        values = elevator_filters.parse(f)
    use_units = selectors.organisations_for(user, Organisation.Kind.USE_UNIT).only("id", "name")
    qs = elevator_filters.apply(user, values).select_related("area", "use_unit")
    paginator = CappedPaginator(qs, PAGE_SIZE, cap=COUNT_CAP)
    page: Page = paginator.get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "filters": f,
        "query_string": urlencode(f),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "registry/_elevator_rows.html", ctx)
    many_use_units = use_units[: MAX_SELECT_OPTIONS + 1].count() > MAX_SELECT_OPTIONS
    ctx.update({
        "categories": CATEGORY_CHOICES,
        "statuses": Elevator.Status.choices,
        "place_types": PLACE_TYPE_CHOICES,
        "areas": selectors.areas_for(user).filter(level__in=[Area.Level.CITY, Area.Level.DISTRICT]).order_by("path")[:300],
        "use_units": None if many_use_units else list(use_units),
        "maintenance_units": list(selectors.organisations_for(user, Organisation.Kind.MAINTENANCE_UNIT).only("id", "name")[:MAX_SELECT_OPTIONS]),
    })
    return render(request, "registry/elevator_list.html", ctx)


# Detail page: the fields shown per section, in order (labels are the models' verbose names).
IDENTITY_FIELDS = ("registration_code", "equipment_code", "use_certificate_no", "rescue_code", "source_id", "jurisdiction")
PLACE_FIELDS = ("category", "source_type", "place_type", "crowded_place", "urban", "address", "postal_code", "area", "building", "latitude", "longitude")
TECH_FIELDS = ("manufacturer", "manufacturer_name_raw", "model", "factory_number", "installation_date", "floors", "stops",
               "floor_from", "floor_to", "rated_load_kg", "rated_speed_mps", "travel_height_m")
STATUS_FIELDS = ("status", "status_date", "last_inspection_date", "last_inspection_conclusion", "last_inspection_disposition", "next_inspection_due")
UNITS = {"rated_load_kg": "kg", "rated_speed_mps": "m/s", "travel_height_m": "m"}


def _display(elevator: Elevator, name: str):
    field = Elevator._meta.get_field(name)
    value = getattr(elevator, name)
    if field.choices and value not in (None, ""):
        return getattr(elevator, f"get_{name}_display")()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value in (None, ""):
        return None
    if name in UNITS:
        return f"{_number(value)} {UNITS[name]}"
    return _plain(value)


def _number(value: Decimal) -> str:
    """1000.0 → "1000", 1.750 → "1.75" (no exponent)."""
    return f"{value.normalize():f}"


def _plain(value):
    """Dates as ISO 8601 (as the tables show them), decimals without trailing zeros."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _number(value)
    return value


def _rows(elevator: Elevator, names) -> list[tuple[str, object]]:
    return [(Elevator._meta.get_field(n).verbose_name, _display(elevator, n)) for n in names]


def _history_rows(user, elevator: Elevator) -> list[dict]:
    """The selector's audit history with field labels, choice labels and related objects' names."""
    history = selectors.history_for(user, elevator)[:100]
    fk_targets: dict[type[Model], set] = {}
    for h in history:
        for c in h["changes"]:
            field = Elevator._meta.get_field(c["field"])
            if field.is_relation:
                fk_targets.setdefault(field.related_model, set()).update(v for v in (c["old"], c["new"]) if v)
    names: dict[tuple[type[Model], object], str] = {}
    for model, ids in fk_targets.items():
        if model is Organisation:
            visible = selectors.organisations_for(user).filter(pk__in=ids)
        elif model is Area:
            visible = Area.objects.filter(pk__in=ids)  # area names are public administrative data
        else:
            visible = model.objects.filter(pk__in=ids)
        names.update({(model, o.pk): str(o) for o in visible})

    def show(field, value):
        if value in (None, ""):
            return None
        if field.is_relation:
            return names.get((field.related_model, value), f"#{value}")
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        return _plain(value)

    out = []
    for h in history:
        changes = []
        for c in h["changes"]:
            field = Elevator._meta.get_field(c["field"])
            changes.append({"label": field.verbose_name, "old": show(field, c["old"]), "new": show(field, c["new"])})
        out.append({**h, "changes": changes})
    return out


@login_required
def elevator_detail(request, pk: int):
    """One elevator: identity, place, organisations, technical data, contracts, lifecycle, history. 404 if out of scope."""
    user = request.user
    elevator = selectors.elevator_get(user, pk)
    ctx = {
        "e": elevator,
        "identity": _rows(elevator, IDENTITY_FIELDS),
        "place": _rows(elevator, PLACE_FIELDS),
        "technical": _rows(elevator, TECH_FIELDS),
        "inspection": _rows(elevator, STATUS_FIELDS),
        "contracts": list(selectors.contracts_for(user, elevator)),
        "maintenance_unit": selectors.maintenance_unit_on(elevator),
        "current_contract_ids": set(selectors.current_contracts().filter(elevator=elevator).values_list("pk", flat=True)),
        "events": list(selectors.lifecycle_for(user, elevator)),
        "history": _history_rows(user, elevator),
    }
    return render(request, "registry/elevator_detail.html", ctx)
