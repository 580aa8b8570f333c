"""Elevator search results as CSV (streamed) and XLSX (openpyxl write-only).

Both read through :func:`liftsafe.registry.selectors.elevator_search` with the
same filters as the list page and the API, so an export holds exactly the
elevators the caller can find, never more. Used by the API
(``/api/registry/elevators/export.csv|.xlsx``) and by the page downloads
(``/registry/elevators/export.csv|.xlsx``).

Size: CSV is streamed row by row (constant memory, no cap). XLSX is written
row by row to a temporary file (constant memory) and capped at
``settings.LIFTSAFE_EXPORT_XLSX_MAX_ROWS`` rows (default 300,000; Excel's own
sheet limit is 1,048,576) so one request cannot run for minutes; above the cap
the caller is told to narrow the filters or use CSV.
"""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from liftsafe.core import exports

from . import selectors
from .filters import FILTER_KEYS  # noqa: F401 (re-exported; declared once in filters.py)
from .filters import apply as apply_filters
from .filters import check_values, parse
from .codes import CATEGORY_CHOICES, PLACE_TYPE_CHOICES
from .models import Elevator

DEFAULT_XLSX_MAX_ROWS = 300_000
CHUNK = 2000

# (key, label, ORM lookup). Labels of model fields come from the model (translated).
_F = Elevator._meta.get_field
COLUMNS: list[tuple[str, object, str]] = [
    ("id", "ID", "pk"),
    ("source", _F("source").verbose_name, "source"),
    ("source_id", _F("source_id").verbose_name, "source_id"),
    ("registration_code", _F("registration_code").verbose_name, "registration_code"),
    ("equipment_code", _F("equipment_code").verbose_name, "equipment_code"),
    ("use_certificate_no", _F("use_certificate_no").verbose_name, "use_certificate_no"),
    ("rescue_code", _F("rescue_code").verbose_name, "rescue_code"),
    ("category", _F("category").verbose_name, "category"),
    ("place_type", _F("place_type").verbose_name, "place_type"),
    ("crowded_place", _F("crowded_place").verbose_name, "crowded_place"),
    ("urban", _F("urban").verbose_name, "urban"),
    ("status", _F("status").verbose_name, "status"),
    ("address", _F("address").verbose_name, "address"),
    ("postal_code", _F("postal_code").verbose_name, "postal_code"),
    ("area_code", gettext_lazy("area code"), "area__code"),
    ("area_name", _F("area").verbose_name, "area__name"),
    ("latitude", _F("latitude").verbose_name, "latitude"),
    ("longitude", _F("longitude").verbose_name, "longitude"),
    ("use_unit", _F("use_unit").verbose_name, "use_unit__name"),
    ("maintenance_unit", gettext_lazy("maintenance unit"), "current_maintenance_unit"),
    ("manufacturer", _F("manufacturer").verbose_name, "manufacturer__name"),
    ("inspection_agency", _F("inspection_agency").verbose_name, "inspection_agency__name"),
    ("insurer", _F("insurer").verbose_name, "insurer__name"),
    ("model", _F("model").verbose_name, "model"),
    ("factory_number", _F("factory_number").verbose_name, "factory_number"),
    ("installation_date", _F("installation_date").verbose_name, "installation_date"),
    ("floors", _F("floors").verbose_name, "floors"),
    ("stops", _F("stops").verbose_name, "stops"),
    ("rated_load_kg", _F("rated_load_kg").verbose_name, "rated_load_kg"),
    ("rated_speed_mps", _F("rated_speed_mps").verbose_name, "rated_speed_mps"),
    ("last_inspection_date", _F("last_inspection_date").verbose_name, "last_inspection_date"),
    ("last_inspection_conclusion", _F("last_inspection_conclusion").verbose_name, "last_inspection_conclusion"),
    ("next_inspection_due", _F("next_inspection_due").verbose_name, "next_inspection_due"),
]

_CHOICE_LABELS = {
    "category": dict(CATEGORY_CHOICES),
    "place_type": dict(PLACE_TYPE_CHOICES),
    "status": dict(Elevator.Status.choices),
    "last_inspection_conclusion": dict(Elevator.Conclusion.choices),
}


def xlsx_max_rows() -> int:
    return int(getattr(settings, "LIFTSAFE_EXPORT_XLSX_MAX_ROWS", DEFAULT_XLSX_MAX_ROWS))


def filters_from_query(params) -> dict:
    """Search filters from a query dict (page or API): :func:`liftsafe.registry.filters.parse` (the one declaration).

    Raises:
        ValidationError: naming the parameter, e.g. ``place_type`` that is not a number,
            an unknown ``status`` or ``category``.
    """
    return parse(params)


def check_filter_values(values: dict, errors: dict | None = None) -> None:
    """:func:`liftsafe.registry.filters.check_values`."""
    check_values(values, errors)


def export_queryset(user, filter_values: dict):
    """Values rows (tuples in :data:`COLUMNS` order) of ``user``'s search result (the list's filters, applied by
    :func:`liftsafe.registry.filters.apply`), lazily."""
    current = selectors.current_contracts().filter(elevator=OuterRef("pk")).order_by("-start_date")
    qs = apply_filters(user, filter_values)
    qs = qs.annotate(current_maintenance_unit=Subquery(current.values("maintenance_unit__name")[:1]))
    return qs.values_list(*[lookup for _k, _l, lookup in COLUMNS])


def _cell(key: str, value, human: bool):
    if value is None:
        return ""
    if human and key in _CHOICE_LABELS:
        return str(_CHOICE_LABELS[key].get(value, value))
    if isinstance(value, bool):
        if not human:
            return int(value)
        return ("是" if value else "否") if _is_zh() else ("yes" if value else "no")
    if isinstance(value, Decimal):
        return float(value)
    return value


def _is_zh() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "").startswith("zh")


def header_row(human: bool) -> list[str]:
    return [str(label) if human else key for key, label, _lookup in COLUMNS]


def export_rows(user, filters: dict, *, human: bool = True) -> Iterator[list]:
    """Header then one list per elevator (search order), streamed from the database in chunks.

    ``human``: translated column labels and choice labels (default); else field keys and codes.
    """
    yield header_row(human)
    keys = [key for key, _l, _lookup in COLUMNS]
    for row in export_queryset(user, filters).iterator(chunk_size=CHUNK):
        yield [_cell(k, v, human) for k, v in zip(keys, row)]


def _filename(ext: str) -> str:
    return f"elevators-{timezone.localtime():%Y%m%d-%H%M}.{ext}"


def csv_response(user, filters: dict, *, human: bool = True) -> StreamingHttpResponse:
    """Stream the result as UTF-8 CSV with a BOM (so Excel opens Chinese text correctly); formula-like
    values are neutralised (:mod:`liftsafe.core.exports`)."""
    return exports.csv_response(export_rows(user, filters, human=human), _filename("csv"))


def xlsx_response(user, filters: dict, *, human: bool = True) -> FileResponse:
    """Write the result to an XLSX file (write-only mode, constant memory) and send it.

    Raises:
        ValidationError: ``{"filters": …}`` when the result exceeds :func:`xlsx_max_rows`.
    """
    cap = xlsx_max_rows()
    n = apply_filters(user, filters).count()
    if n > cap:
        raise ValidationError({"filters": _("%(n)d elevators match; an XLSX export holds at most %(cap)d. Narrow the filters or download CSV.") % {"n": n, "cap": cap}})
    # empty cells are not written (half the cells of a row); formula-like text stored inert
    return exports.xlsx_response(export_rows(user, filters, human=human), _filename("xlsx"), sheet_title="elevators")


def _page_export(request, kind: str):
    try:
        filters = filters_from_query(request.GET)
        human = (request.GET.get("header") or "labels") != "keys"
        if kind == "csv":
            return csv_response(request.user, filters, human=human)
        return xlsx_response(request.user, filters, human=human)
    except ValidationError as exc:
        msg = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return HttpResponse(msg, status=400, content_type="text/plain; charset=utf-8")


@login_required
def elevator_export_csv_view(request):
    """Page download ``/registry/elevators/export.csv?<same filters as the list>``."""
    return _page_export(request, "csv")


@login_required
def elevator_export_xlsx_view(request):
    """Page download ``/registry/elevators/export.xlsx?<same filters as the list>``."""
    return _page_export(request, "xlsx")
