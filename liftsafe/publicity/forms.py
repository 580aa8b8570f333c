"""The article form of the staff pages (field labels translated; validation itself lives in the services)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from liftsafe.registry.codes import PLACE_TYPE_CHOICES

from .domain import Audience, Theme
from .models import NATIONAL_CHOICES, Kind


class ArticleForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    area = forms.CharField(label=_("Area code"), max_length=32, required=False,
                           help_text=_("Empty: your own area."))
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    summary_zh = forms.CharField(label=_("Summary (Chinese)"), max_length=300, required=False)
    summary_en = forms.CharField(label=_("Summary (English)"), max_length=300, required=False)
    body_zh = forms.CharField(label=_("Text (Chinese, Markdown)"), widget=forms.Textarea(attrs={"rows": 12}), max_length=100_000)
    body_en = forms.CharField(label=_("Text (English, Markdown)"), widget=forms.Textarea(attrs={"rows": 8}), required=False,
                              max_length=100_000)
    audiences = forms.MultipleChoiceField(label=_("Audiences"), choices=Audience.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    theme = forms.ChoiceField(label=_("Theme"), choices=Theme.choices)
    national_date = forms.ChoiceField(label=_("National date"), choices=NATIONAL_CHOICES, required=False)
    publish_at = forms.DateTimeField(label=_("Publish at"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    unpublish_at = forms.DateTimeField(label=_("Unpublish at"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    starts_on = forms.DateField(label=_("Campaign starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    ends_on = forms.DateField(label=_("Campaign ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    place_types = forms.TypedMultipleChoiceField(label=_("Place types (QR-page notice)"), choices=PLACE_TYPE_CHOICES, coerce=int,
                                                 required=False, widget=forms.CheckboxSelectMultiple)
    notice_zh = forms.CharField(label=_("QR-page notice (Chinese)"), max_length=200, required=False)
    notice_en = forms.CharField(label=_("QR-page notice (English)"), max_length=200, required=False)

    def data_for_service(self) -> dict:
        d = dict(self.cleaned_data)
        d["national_date"] = d.get("national_date") or ""
        if not d.get("area"):
            d.pop("area", None)
        return d


class ImageForm(forms.Form):
    image = forms.FileField(label=_("Image (JPEG, PNG or WebP)"))
    image_alt_zh = forms.CharField(label=_("Image description (Chinese)"), max_length=200)
    image_alt_en = forms.CharField(label=_("Image description (English)"), max_length=200, required=False)
