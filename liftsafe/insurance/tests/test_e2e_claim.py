"""End to end in headless Chromium: a long 96333 entrapment produces a claim suggestion (the periodic job); the
insurer finds it in its claims, files it, and pays it; the regulator sees the coverage gaps. Screenshots:
insurance-claim.png, insurance-gaps.png."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.insurance.models import Claim
from liftsafe.insurance.tasks import suggest_claims
from liftsafe.testing import screenshot_dir

from .conftest import entrapment

pytestmark = pytest.mark.e2e


def test_claim_suggested_from_a_long_entrapment_and_filed_by_the_insurer(browser, live_server, iw):
    base = live_server.url
    case = entrapment(iw, iw.elevators["a1"], dt.timedelta(minutes=95), persons=3)
    assert suggest_claims()["created"] == 1
    claim = Claim.objects.get(case=case)

    page = session_context(browser, live_server, iw.users["insurer"]).new_page()
    page.goto(f"{base}/insurance/")
    page.wait_for_url("**/insurance/claims/")
    page.locator(f"a[href='/insurance/claims/{claim.pk}/']").click()
    page.wait_for_url(f"**/insurance/claims/{claim.pk}/")
    assert "1200" in page.content()  # 3 people × ¥400 (> 1.5 h to 2 h)
    page.screenshot(path=str(screenshot_dir() / "insurance-claim.png"), full_page=True)
    page.locator("form[action$='/do/file/'] button[type=submit]").click()
    page.locator("form[action$='/do/pay/']").wait_for()
    claim.refresh_from_db()
    assert claim.state == "filed" and claim.claimed_amount == Decimal(1200) and claim.filed_by == iw.users["insurer"]
    page.fill("form[action$='/do/pay/'] input[name=amount]", "1500")
    page.locator("form[action$='/do/pay/'] button[type=submit]").click()
    page.wait_for_load_state()
    claim.refresh_from_db()
    assert claim.state == "paid" and claim.paid_amount == Decimal(1500)
    assert page.locator("form[action$='/do/refuse/']").count() == 0

    iw.policy_a.elevators.remove(iw.elevators["a2"])
    reg = session_context(browser, live_server, iw.users["regulator"]).new_page()
    reg.goto(f"{base}/insurance/gaps/")
    assert iw.elevators["a2"].address in reg.content() and iw.elevators["a1"].address not in reg.content()
    reg.screenshot(path=str(screenshot_dir() / "insurance-gaps.png"), full_page=True)
