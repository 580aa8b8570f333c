"""Top-level pages that compose the apps: the home page (what each role does here).

Top layer (like :mod:`liftsafe.urls` and :mod:`liftsafe.api`): it may import every app; ``core`` imports none.
"""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from liftsafe.core.models import Profile, Role
from liftsafe.core.scoping import scope_of
from liftsafe.registry import selectors

# What each role comes here to do: (hint on the elevator tile, further work items (title, text, URL name)).
ROLE_WORK = {
    Role.ADMIN: (_("Every elevator on the platform."), []),
    Role.REGULATOR: (_("Elevators in your area: search by any code or address, check inspections and history."), [
        (_("Supervision"), _("Follow overdue inspections, sealed and stopped elevators, and maintenance units in your area."), "hazards:list"),
        (_("Official documents"), _("Numbered stop-use orders, rectification notices and supervision instructions of your authority."), "notices:list"),
    ]),
    Role.OPERATOR: (_("Look up the elevator a caller is trapped in by its 96333 rescue code or address."), [
        (_("96333 emergency response"), _("Receive calls, dispatch the maintenance unit and follow each rescue to the end."), "emergency:console"),
    ]),
    Role.MAINTENANCE_UNIT: (_("Elevators your unit currently holds a maintenance contract for."), [
        (_("Rescue and maintenance"), _("Answer dispatched rescues within the time limit and keep maintenance records."), "emergency:responder"),
    ]),
    Role.USE_UNIT: (_("Elevators your unit uses and is responsible for."), [
        (_("Safety responsibility"), _("Keep inspections current and report hazards and faults."), "hazards:mine"),
        (_("Official documents"), _("Stop-use orders, rectification notices and supervision instructions delivered to your unit."), "notices:list"),
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
