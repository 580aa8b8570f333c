"""Forms of the emergency pages: intake checklist, dispatch, milestones, cause.

Each action form carries an ``idempotency_key`` minted when the form is
rendered, so a double-tapped submit (phone) records once: the services treat
a repeated key as the same request.
"""
from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .causes import CAUSES
from .models import CallBack, CaseType, Channel, Level, State


def new_key() -> str:
    """A fresh idempotency key (one per form render)."""
    return uuid.uuid4().hex


class IdempotentForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_key())


class IntakeForm(IdempotentForm):
    """The intake checklist (docs/domain §3.3 step 1): who is trapped, injuries, car position, caller, circumstances."""

    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE_96333)
    case_type = forms.ChoiceField(label=_("Case type"), choices=CaseType.choices, initial=CaseType.ENTRAPMENT,
                                  widget=forms.RadioSelect)
    trapped_count = forms.IntegerField(label=_("People trapped"), min_value=0, max_value=99, required=False)
    injured_count = forms.IntegerField(label=_("People injured"), min_value=0, max_value=99, required=False)
    car_position = forms.CharField(label=_("Car position (floor)"), max_length=32, required=False)
    caller_phone = forms.CharField(label=_("Caller phone"), max_length=32, required=False)
    special_circumstances = forms.CharField(label=_("Special circumstances"), required=False, max_length=1000,
                                            widget=forms.Textarea(attrs={"rows": 2}),
                                            help_text=_("elderly, children, illness, pregnancy, panic, fire or smoke, water…"))
    call_started = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def clean_caller_phone(self):
        phone = "".join(self.cleaned_data.get("caller_phone", "").split())
        if phone and not all(c.isdigit() or c in "+-" for c in phone):
            raise forms.ValidationError(_("Only digits, + and - are allowed."))
        return phone

    def clean(self):
        data = super().clean()
        trapped, injured = data.get("trapped_count"), data.get("injured_count")
        if data.get("case_type") == CaseType.ENTRAPMENT and trapped == 0:
            self.add_error("trapped_count", _("An entrapment needs at least one person trapped (leave empty if unknown)."))
        if trapped is not None and injured is not None and injured > trapped and data.get("case_type") == CaseType.ENTRAPMENT:
            self.add_error("injured_count", _("More injured than trapped: check the numbers."))
        return data

    def received_at(self) -> dt.datetime:
        """When the call started (the console's clock when the operator began identifying), else now.

        A value in the future or more than two hours old is not trusted: now is used.
        """
        now = timezone.now()
        started = self.cleaned_data.get("call_started")
        if started and now - dt.timedelta(hours=2) <= started <= now + dt.timedelta(seconds=5):
            return min(started, now)
        return now


class DispatchForm(IdempotentForm):
    """Dispatch (or re-dispatch at a higher level) with an optional explicit responder."""

    level = forms.TypedChoiceField(label=_("Level"), choices=Level.choices, coerce=int, widget=forms.RadioSelect)
    responder = forms.IntegerField(required=False, widget=forms.HiddenInput)


class OperatorMilestoneForm(IdempotentForm):
    """Close a case from the console: completed (result confirmed), false alarm, cancelled."""

    kind = forms.ChoiceField(choices=[("completed", _("Completed")), ("false_alarm", _("False alarm")),
                                      ("cancelled", _("Cancelled"))])
    note = forms.CharField(required=False, max_length=500)


class ResponderMilestoneForm(IdempotentForm):
    """A responder's progress report: responded (acknowledged), arrived, released (count freed), or completed
    (a fault report / enquiry handled on site; nobody was trapped)."""

    kind = forms.ChoiceField(choices=[("responded", _("Responded")), ("arrived", _("Arrived")), ("released", _("Released")),
                                      ("completed", _("Completed"))])
    released_count = forms.IntegerField(label=_("People freed"), min_value=0, max_value=99, required=False)
    # proof on site (issue 15): filled by the browser (data-geolocate); kept as text so that nothing a phone sends
    # can refuse an arrival — the service judges the values (missing / unreliable / far) and records them
    latitude = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    accuracy_m = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    photo = forms.FileField(label=_("Photo"), required=False)
    confirmed_by = forms.CharField(label=_("Confirmed by (use unit)"), required=False, max_length=64)

    def clean(self):
        data = super().clean()
        if data.get("kind") == "released" and data.get("released_count") is None:
            self.add_error("released_count", _("Enter how many people were freed."))
        return data


class CauseForm(IdempotentForm):
    """Two-level trapping cause: class → item (docs/domain §4.3; list in :mod:`liftsafe.emergency.causes`)."""

    cause_class = forms.ChoiceField(label=_("Cause class"), choices=[("", "—")] + [(k, v[0]) for k, v in CAUSES.items()])
    cause_item = forms.ChoiceField(label=_("Cause item"),
                                   choices=[("", "—")] + [(f"{k}:{i}", label) for k, v in CAUSES.items() for i, label in v[1].items()])

    def clean(self):
        data = super().clean()
        cls, item = data.get("cause_class"), data.get("cause_item") or ""
        if cls and item:
            item_cls, _sep, item_code = item.partition(":")
            if item_cls != cls or item_code not in CAUSES.get(cls, ("", {}))[1]:
                self.add_error("cause_item", _("This item does not belong to the chosen cause class."))
            else:
                data["cause_item"] = item_code
        return data


class CaseSearchForm(forms.Form):
    """The case search (``views.case_search``; filters of :func:`liftsafe.emergency.selectors.search_cases`)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "class": "live-text", "autocomplete": "off",
                                                      "placeholder": _("Order number, an elevator code or part of the address")}),
                        help_text=_("Order number, an elevator code or part of the address"))
    number = forms.CharField(label=_("Order number"), required=False, max_length=32,
                             widget=forms.TextInput(attrs={"class": "live-text", "autocomplete": "off"}))
    elevator = forms.CharField(label=_("Elevator code"), required=False, max_length=64,
                               widget=forms.TextInput(attrs={"class": "live-text", "autocomplete": "off"}),
                               help_text=_("Rescue code, registration code, equipment code, certificate or device number"))
    address = forms.CharField(label=_("Address"), required=False, max_length=200,
                              widget=forms.TextInput(attrs={"class": "live-text", "autocomplete": "off"}))
    date_from = forms.DateField(label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Received until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    case_type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("Any"))] + list(CaseType.choices))
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("Any")), ("open", _("Any open state")), ("closed", _("Any closed state"))] + list(State.choices))
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("Any"))] + list(Channel.choices))

    def clean(self):
        d = super().clean()
        if d.get("date_from") and d.get("date_to") and d["date_to"] < d["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return d

    def filters(self) -> dict:
        """The cleaned values as keyword arguments of ``search_cases`` (call after ``is_valid()``)."""
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class CallBackForm(forms.Form):
    """An operator's call-back on a case: who was called, when (default now), the outcome."""

    party = forms.ChoiceField(label=_("Who was called"), choices=CallBack.Party.choices)
    name = forms.CharField(label=_("Name"), required=False, max_length=64)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    called_at = forms.DateTimeField(label=_("Called at"), required=False,
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CallBack.Outcome.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class CallerLookupForm(forms.Form):
    """The number of an incoming call (any format: +86 138-1234-5678, 13812345678)."""

    phone = forms.CharField(label=_("Caller's number"), max_length=32)
