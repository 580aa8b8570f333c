"""Test helpers that span apps (Django admin forms, ...)."""
from __future__ import annotations

import lxml.html


def admin_form_post(client, url: str, **overrides):
    """Submit a Django admin add/change form as a browser would: every control's current value
    (inline management forms included), then ``overrides``; returns the POST response."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    form = next(f for f in lxml.html.fromstring(page.content).forms
                if (f.get("id") or "").endswith("_form") and f.method.upper() == "POST")
    data = dict(form.form_values())
    data.update({k: v for k, v in overrides.items() if v is not None})
    for k in [k for k, v in overrides.items() if v is None]:
        data.pop(k, None)
    return client.post(url, data)


def admin_field_error(response, field: str) -> str:
    """The text of ``field``'s error list on an admin form page ('' when it has none)."""
    doc = lxml.html.fromstring(response.content)
    found = doc.xpath(f'//*[@id="id_{field}_error"]')
    return found[0].text_content().strip() if found else ""
