"""Core pages: home (redirects to the user's main page), health check."""
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect("registry:elevator_list")


def healthz(request):
    """Liveness and database readiness for load balancers: 200 {"ok": true} or 503."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return JsonResponse({"ok": True})
    except Exception as exc:  # pragma: no cover - depends on the database being down
        return JsonResponse({"ok": False, "error": str(exc)}, status=503)
