"""Publicity pages. Staff (regulators, administrators): list with counts, write, preview, schedule, publish,
archive, image upload, the national calendar. Public (anyone, no JavaScript needed): ``/public/safety/``
list and article pages, read through the public projection (:func:`.selectors.public_articles`) only.
"""
from __future__ import annotations



from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from liftsafe.core.errors import NotFound, add_service_error
from liftsafe.core.permissions import allowed, require

from . import domain, selectors, services
from .domain import Audience
from .forms import ArticleForm, ImageForm
from .models import Article, Kind, State
from .workflow import ARTICLE_FLOW, STATE_TRANSITIONS


# --------------------------------------------------------------------------- staff
@login_required
def article_list(request):
    """The articles and campaigns of the caller's area with their state and counts. ``?state=``."""
    require(request.user, "publicity.view")
    qs = selectors.articles_for(request.user).order_by("-updated_at", "-id")
    state = request.GET.get("state") or ""
    if state in State.values:
        qs = qs.filter(state=state)
    rows = list(qs[:300])
    counts = selectors.counts([a.pk for a in rows])
    return render(request, "publicity/list.html", {
        "rows": [(a, counts[a.pk]) for a in rows], "state": state, "states": State.choices,
        "may_manage": allowed(request.user, "publicity.manage")})


def _form_page(request, form, article=None):
    return render(request, "publicity/form.html", {"form": form, "article": article})


@login_required
def article_new(request):
    """GET: the form (``?national_date=&year=`` pre-fills a campaign of that national date). POST: create a draft."""
    require(request.user, "publicity.manage")
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                a = services.article_create(request.user, form.data_for_service())
            except (ValidationError, PermissionDenied) as exc:
                add_service_error(form, exc, Article)
            else:
                messages.success(request, _("Draft saved."))
                return redirect(a)
        return _form_page(request, form)
    initial = {"kind": Kind.ARTICLE, "theme": domain.Theme.GENERAL}
    key = request.GET.get("national_date") or ""
    if key in domain.NATIONAL_KEYS:
        try:
            year = int(request.GET.get("year") or timezone.localdate().year)
            d = domain.national_date(year, key)
        except (ValueError, KeyError):
            d = None
        if d is not None:
            initial.update({"kind": Kind.CAMPAIGN, "national_date": key, "title_zh": d.name, "theme": d.theme,
                            "starts_on": d.start, "ends_on": d.end, "audiences": list(d.audiences)})
    return _form_page(request, ArticleForm(initial=initial))


@login_required
def article_detail(request, pk: int):
    """The preview (sanitised again as the public page would show it), state actions, image, counts."""
    require(request.user, "publicity.view")
    a = selectors.article_get(request.user, pk)
    return render(request, "publicity/detail.html", {
        "a": a, "body_zh": domain.sanitise_html(a.body_zh_html), "body_en": domain.sanitise_html(a.body_en_html),
        "actions": [t for t in ARTICLE_FLOW.available(request.user, a) if t.name in STATE_TRANSITIONS],
        "may_edit": ARTICLE_FLOW.allowed(request.user, "edit", a), "counts": selectors.counts([a.pk])[a.pk],
        "image_form": ImageForm(), "visible": Article.objects.filter(selectors.visible_q(timezone.now()), pk=a.pk).exists()})


@login_required
def article_edit(request, pk: int):
    """GET: the form with the article's content. POST: save (the state does not change)."""
    require(request.user, "publicity.manage")
    a = selectors.article_get(request.user, pk)
    require(request.user, "publicity.manage", a)
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                services.article_update(request.user, a.pk, form.data_for_service())
            except (ValidationError, PermissionDenied, NotFound) as exc:
                add_service_error(form, exc, Article)
            else:
                messages.success(request, _("Saved."))
                return redirect(a)
        return _form_page(request, form, a)
    tz = timezone.get_current_timezone()
    initial = {f: getattr(a, f) for f in ("kind", "title_zh", "title_en", "summary_zh", "summary_en", "body_zh", "body_en",
                                           "audiences", "theme", "national_date", "starts_on", "ends_on", "place_types",
                                           "notice_zh", "notice_en")}
    initial["area"] = a.area.code
    for f in ("publish_at", "unpublish_at"):
        v = getattr(a, f)
        initial[f] = timezone.localtime(v, tz) if v else None
    return _form_page(request, ArticleForm(initial=initial), a)


@login_required
@require_POST
def article_action(request, pk: int, action: str):
    """POST: take a state transition (schedule, publish, archive, redraft)."""
    require(request.user, "publicity.view")
    try:
        services.article_transition(request.user, pk, action)
        messages.success(request, _("Done."))
    except (ValidationError, PermissionDenied) as exc:
        add_service_error(request, exc, Article)
    return redirect("publicity:article_detail", pk=pk)


@login_required
@require_POST
def article_image(request, pk: int):
    """POST (multipart): replace the image (checked by Pillow, metadata stripped)."""
    require(request.user, "publicity.manage")
    selectors.article_get(request.user, pk)
    form = ImageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.article_set_image(request.user, pk, form.cleaned_data["image"], alt_zh=form.cleaned_data["image_alt_zh"],
                                       alt_en=form.cleaned_data["image_alt_en"])
            messages.success(request, _("Image saved."))
        except (ValidationError, PermissionDenied) as exc:
            add_service_error(request, exc, Article)
    else:
        add_service_error(request, ValidationError(form.errors), Article, form=form)
    return redirect("publicity:article_detail", pk=pk)


@login_required
def calendar(request):
    """The national publicity dates of a year (``?year=``, default this year), computed (docs/domain §15.8)."""
    require(request.user, "publicity.view")
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
        dates = domain.national_dates(year)
    except ValueError:
        year = timezone.localdate().year
        messages.error(request, _("Year: give a year between 1996 and 9998."))
        dates = domain.national_dates(year)
    return render(request, "publicity/calendar.html", {"year": year, "dates": dates, "years": [year - 1, year, year + 1],
                                                       "may_manage": allowed(request.user, "publicity.manage")})


# --------------------------------------------------------------------------- public
@require_safe
def public_list(request):
    """Published articles and campaigns, newest first; ``?audience=`` and ``?kind=`` narrow (bad values: empty)."""
    audience, kind = request.GET.get("audience") or "", request.GET.get("kind") or ""
    items = selectors.public_articles(kind=kind or None, audience=audience or None)
    today = timezone.localdate()
    upcoming = [d for d in domain.national_dates(today.year) + domain.national_dates(today.year + 1) if d.end >= today][:4]
    return render(request, "publicity/public_list.html", {
        "items": items, "audience": audience, "kind": kind, "audiences": Audience.choices, "kinds": Kind.choices,
        "upcoming": upcoming})


@require_safe
def public_article(request, pk: int):
    """One published article or campaign (the view is counted: a number per day, nothing about the reader)."""
    obj = selectors.public_article_obj(pk)
    a = selectors.public_article(pk)
    if request.method == "GET":
        services.count_view(obj)
    return render(request, "publicity/public_article.html", {"a": a})


@require_safe
def public_image(request, pk: int):
    """The image of a published article (already stripped of metadata when stored)."""
    obj = selectors.public_article_obj(pk)
    if not obj.image:
        raise NotFound("no image")
    ext = obj.image.name.rsplit(".", 1)[-1].lower()
    ctype = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(ext, "application/octet-stream")
    resp = FileResponse(obj.image.open("rb"), content_type=ctype)
    resp["Cache-Control"] = "public, max-age=3600"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


