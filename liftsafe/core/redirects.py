"""Safe redirect targets from user input (``next`` parameters): no open redirects (issue 18 item 13)."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request, value: str | None) -> str | None:
    """``value`` when it is a same-host relative URL (``/path?query``), else ``None``.

    Refused: absolute URLs (``https://evil.example/``), scheme-relative ones (``//evil.example``,
    ``/\\evil.example``), other schemes (``javascript:``), relative paths without a leading ``/``,
    control characters; checked with Django's ``url_has_allowed_host_and_scheme`` against this host.
    """
    if not value or not isinstance(value, str):
        return None
    if not url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    return value
