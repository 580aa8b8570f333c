"""Core pages: health check. (The home page composes the apps' work, so it lives at the top: :mod:`liftsafe.views`.)"""
import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


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
