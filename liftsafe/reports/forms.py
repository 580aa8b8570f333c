"""Forms of the report pages. They only carry input; the selectors and services validate it
(an unknown area, a future or unfinished period come back as ``ValidationError({field: ...})`` and are
attached to the named field with :func:`add_service_errors`)."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]


def period_suggestions(today: dt.date, *, include_current: bool) -> list[tuple[str, list[str]]]:
    """Recent period labels for a datalist, newest first: ``[(group label, [labels])]`` with the last 36
    months, 12 quarters and 5 years (the current ones only when ``include_current``)."""
    months, quarters, years = [], [], []
    y, m = today.year, today.month
    if not include_current:
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    for _i in range(36):
        months.append(f"{y}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    q, qy = (today.month - 1) // 3 + 1, today.year
    if not include_current:
        q, qy = (4, qy - 1) if q == 1 else (q - 1, qy)
    for _i in range(12):
        quarters.append(f"{qy}-Q{q}")
        q, qy = (4, qy - 1) if q == 1 else (q - 1, qy)
    first = today.year if include_current else today.year - 1
    years = [str(first - i) for i in range(5)]
    return [(str(_("Months")), months), (str(_("Quarters")), quarters), (str(_("Years")), years)]


class DashboardForm(forms.Form):
    """Dashboard filters: area code (empty = the user's own area / everything in scope) and period label
    (empty = the current month)."""

    area = forms.CharField(label=_("Area"), required=False, max_length=32)
    period = forms.CharField(label=_("Period"), required=False, max_length=16,
                             help_text=_("YYYY-MM, YYYY-Qn or YYYY"))


class GenerateForm(forms.Form):
    """Generate (or regenerate a draft of) the report of an area and a finished period."""

    area = forms.CharField(label=_("Area"), max_length=32)
    period = forms.CharField(label=_("Period"), max_length=16,
                             help_text=_("A finished month (2023-05), quarter (2023-Q2) or year (2023)."))
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, initial="zh-hans")


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach a service's ``ValidationError({field: [...]})`` to ``form``: messages of a field the form
    has go to that field, others (e.g. ``status``) to the form, prefixed with the field's LABEL (the one page
    helper, :func:`liftsafe.core.errors.add_service_error`)."""
    from liftsafe.core.errors import add_service_error

    from .models import Report

    add_service_error(form, exc, Report)
