"""The public look-up limit shared by the public pages and the public API (codes must not be enumerable)."""
from __future__ import annotations

from django.core.cache import cache

from liftsafe.core.throttle import client_ip
from liftsafe.rules import rule


def client_address(request) -> str:
    return client_ip(request) or ""


def throttled(request) -> bool:
    """Count one public look-up for the caller's address; True once more than rule
    ``disclosure_page_views_per_address_per_minute`` happened in the current minute. Counted in Django's cache (per
    process with the default local-memory cache; configure a shared cache such as Redis in production)."""
    key = f"disclosure:views:{client_address(request)}"
    cache.add(key, 0, 60)
    try:
        n = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 60)
        n = 1
    return n > int(rule("disclosure_page_views_per_address_per_minute"))
