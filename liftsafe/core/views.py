"""Core pages: home (what each role does here), health check."""
import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from liftsafe.registry import selectors

from .models import Profile, Role
from .scoping import scope_of

# What each role comes here to do: (hint on the elevator tile, further work items (title, text, URL name)).
ROLE_WORK = {
    Role.ADMIN: (_("Every elevator on the platform."), []),
    Role.REGULATOR: (_("Elevators in your area: search by any code or address, check inspections and history."), [
        (_("Supervision"), _("Follow overdue inspections, sealed and stopped elevators, and maintenance units in your area."), "hazards:list"),
    ]),
    Role.OPERATOR: (_("Look up the elevator a caller is trapped in by its 96333 rescue code or address."), [
        (_("96333 emergency response"), _("Receive calls, dispatch the maintenance unit and follow each rescue to the end."), "emergency:console"),
    ]),
    Role.MAINTENANCE_UNIT: (_("Elevators your unit currently holds a maintenance contract for."), [
        (_("Rescue and maintenance"), _("Answer dispatched rescues within the time limit and keep maintenance records."), "emergency:responder"),
    ]),
    Role.USE_UNIT: (_("Elevators your unit uses and is responsible for."), [
        (_("Safety responsibility"), _("Keep inspections current and report hazards and faults."), "hazards:mine"),
    ]),
    Role.INSPECTION_AGENCY: (_("Elevators your agency inspects."), []),
    Role.INSURER: (_("Elevators your company insures."), []),
    Role.RESCUE_STATION: (_("Elevators in your station's area."), [
        (_("Rescue"), _("Second-level rescue when the maintenance unit cannot arrive in time."), "emergency:responder"),
    ]),
}


def _url_or_none(name: str) -> str | None:
    """The page's URL, or None while the app providing it is not installed."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@login_required
def home(request):
    """Landing page after login: the user's role, what they may see, and where their work is."""
    scope = scope_of(request.user)
    hint, tasks = ROLE_WORK.get(scope.role, ("", []))
    profile = Profile.objects.select_related("area", "organisation").filter(user=request.user).first()
    scope_name = ""
    if profile is not None:
        scope_name = str(profile.organisation or profile.area or "")
    ctx = {
        "role_label": Role(scope.role).label if scope.role else "",
        "scope_name": scope_name,
        "registry_hint": hint,
        "tasks": [{"title": t, "text": x, "url": _url_or_none(name)} for t, x, name in tasks],
        "elevator_count": selectors.elevators_for(request.user).count() if scope.role else 0,
    }
    return render(request, "core/home.html", ctx)


def healthz(request):
    """Liveness and database readiness for load balancers: 200 ``{"ok": true}`` or 503 ``{"ok": false,
    "error": "database unavailable"}``. The database's own message (host, port, role) is logged, never shown."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return JsonResponse({"ok": True})
    except Exception:
        logging.getLogger("liftsafe.health").exception("health check: database unavailable")
        return JsonResponse({"ok": False, "error": "database unavailable"}, status=503)


# --- API tokens of the logged-in user (issue 16, issue 18 item 11) ----------------------------------
from django.contrib import messages  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.views.decorators.cache import never_cache  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

from liftsafe.rules import rule  # noqa: E402

from . import auth as token_services  # noqa: E402


@never_cache
@login_required
def account_tokens(request):
    """``/account/tokens/``: the user's own API tokens; POST issues one and shows its secret once
    (this response only, not cached; the list shows only the token's first characters)."""
    issued = None
    errors: dict = {}
    form = {"name": "", "expires_days": str(rule("api_token_default_days"))}
    if request.method == "POST":
        form = {"name": request.POST.get("name", ""), "expires_days": request.POST.get("expires_days", "")}
        try:
            rec, plaintext = token_services.token_issue(request.user, form["name"], form["expires_days"])
            issued = {"record": rec, "token": plaintext}
            form = {"name": "", "expires_days": str(rule("api_token_default_days"))}
        except ValidationError as exc:
            errors = exc.message_dict
    return render(request, "core/tokens.html", {
        "tokens": token_services.tokens_of(request.user), "issued": issued, "errors": errors, "form": form,
        "max_days": rule("api_token_max_days")}, status=422 if errors else 200)


@require_POST
@login_required
def account_token_revoke(request, token_id: int):
    """Revoke one of the user's own tokens (another user's token is a 404)."""
    rec = token_services.token_revoke(request.user, token_id)  # Http404 for another user's token
    messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": rec.name})
    return redirect("account_tokens")
