"""The generic history page: ``/history/<app_label>/<model>/<pk>/`` for any model with history (:mod:`liftsafe.core.history`)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .history import history_rows, object_for_history


@login_required
def history(request, app_label: str, model: str, pk: str):
    """Audit history of one object the user may see (404 otherwise): when, who, why and what changed."""
    obj = object_for_history(request.user, app_label, model, pk)
    back = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
    return render(request, "core/history.html", {"obj": obj, "rows": history_rows(obj), "back": back,
                                                 "model_label": obj._meta.verbose_name})
