"""Registry pages: elevator list with search and filters, elevator detail. Thin: reads via selectors."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors
from .codes import CATEGORY_CHOICES, PLACE_TYPE_CHOICES
from .models import Elevator


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@login_required
def elevator_list(request):
    g = request.GET
    qs = selectors.elevator_search(
        request.user, g.get("q", ""), area=g.get("area") or None, category=g.get("category") or None,
        status=g.get("status") or None, place_type=_int_or_none(g.get("place_type")),
        use_unit=_int_or_none(g.get("use_unit")), maintenance_unit=_int_or_none(g.get("maintenance_unit")),
    ).select_related("area")
    paginator = Paginator(qs, 50)
    paginator.count  # noqa: B018 - evaluated once here
    page = paginator.get_page(g.get("page"))
    ctx = {
        "page": page, "q": g.get("q", ""), "filters": g,
        "categories": CATEGORY_CHOICES, "statuses": Elevator.Status.choices, "place_types": PLACE_TYPE_CHOICES,
        "areas": selectors.areas_for(request.user).filter(level__in=["city", "district"])[:200],
    }
    template = "registry/_elevator_rows.html" if request.htmx else "registry/elevator_list.html"
    return render(request, template, ctx)


@login_required
def elevator_detail(request, pk: int):
    elevator = selectors.elevator_get(request.user, pk)
    ctx = {
        "e": elevator,
        "contracts": selectors.contracts_for(request.user, elevator),
        "maintenance_unit": selectors.maintenance_unit_on(elevator),
        "events": selectors.lifecycle_for(request.user, elevator),
        "history": selectors.history_for(request.user, elevator)[:50],
    }
    return render(request, "registry/elevator_detail.html", ctx)
