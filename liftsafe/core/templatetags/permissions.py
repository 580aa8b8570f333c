"""Template side of :mod:`liftsafe.core.permissions`.

``{% load permissions %}`` then ``{% if user|can:"hazard.file" %}`` (role only) or
``{% allowed "hazard.start" h as may_start %}`` (role, scope and the action's object condition).
"""
from django import template

from liftsafe.core.permissions import allowed as _allowed

register = template.Library()


@register.filter
def can(user, action: str) -> bool:
    """``user|can:"action"`` — whether the user's role may take ``action``."""
    return _allowed(user, action)


@register.simple_tag(takes_context=True)
def allowed(context, action: str, obj=None) -> bool:
    """``{% allowed "action" obj as var %}`` — whether the request's user may take ``action`` on ``obj``."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return _allowed(user, action, obj)


@register.simple_tag
def history_url(obj) -> str:
    """``{% history_url obj %}`` — the generic history page of ``obj`` (any model with history)."""
    from django.urls import reverse

    return reverse("history", args=[obj._meta.app_label, obj._meta.model_name, obj.pk])
