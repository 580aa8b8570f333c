"""Content-Security-Policy helpers (policy in settings.CONTENT_SECURITY_POLICY, header by django-csp)."""
from __future__ import annotations

import base64
import hashlib
import re

_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)


def allow_document_styles(response, html: str):
    """For a standalone HTML document served as a page (e.g. a report, rendered without a request and so
    without the nonce): allow exactly its own ``<style>`` blocks by their SHA-256 (CSP hash sources) and
    nothing else; returns ``response``."""
    hashes = sorted({"'sha256-%s'" % base64.b64encode(hashlib.sha256(m.group(1).encode("utf-8")).digest()).decode()
                     for m in _STYLE_BLOCK.finditer(html)})
    if hashes:
        response._csp_update = {"style-src": hashes}
    return response
