"""Core pages: health check. (The home page composes the apps' work, so it lives at the top: :mod:`liftsafe.views`.)"""
from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness and database readiness for load balancers: 200 {"ok": true} or 503."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return JsonResponse({"ok": True})
    except Exception as exc:  # pragma: no cover - depends on the database being down
        return JsonResponse({"ok": False, "error": str(exc)}, status=503)
