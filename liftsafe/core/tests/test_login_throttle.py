"""Login throttling (issue 18 item 8): per account and per address, site and admin login."""
import datetime as dt

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone

from liftsafe.testing import make_user
from liftsafe.rules import rule

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def alice(db):
    u = make_user("alice")
    u.set_password(PASSWORD)
    u.is_staff = True
    u.is_superuser = True
    u.save()
    return u


def post_login(url, username, password, ip="10.0.0.1", lang="en"):
    c = Client(REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=lang)
    c.cookies["django_language"] = lang
    return c.post(url, {"username": username, "password": password, "next": "/"})


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_nth_wrong_password_locks_and_correct_password_is_refused(alice, url):
    limit = int(rule("login_failure_limit"))
    for _i in range(limit - 1):
        r = post_login(url, "alice", "wrong")
        assert r.status_code == 200  # the form again, with the usual error
    r = post_login(url, "alice", "wrong")
    assert r.status_code == 429
    assert "Too many failed sign-in attempts" in r.content.decode()
    r = post_login(url, "alice", PASSWORD)  # the right password, during the lockout
    assert r.status_code == 429 and "_auth_user_id" not in r.client.session
    # per account: another address is refused too
    assert post_login(url, "alice", PASSWORD, ip="10.9.9.9").status_code == 429
    # audit records
    assert AccessAttempt.objects.filter(username="alice").exists()
    assert AccessFailureLog.objects.filter(username="alice", locked_out=True).exists()


def test_per_address_lockout_spans_accounts(alice):
    limit = int(rule("login_failure_limit"))
    for i in range(limit):
        post_login("/login/", f"nobody{i}", "wrong", ip="10.0.0.7")
    assert post_login("/login/", "alice", PASSWORD, ip="10.0.0.7").status_code == 429
    r = post_login("/login/", "alice", PASSWORD, ip="10.0.0.8")
    assert r.status_code == 302  # the account itself is not locked


def test_lockout_message_is_translated(alice):
    for _i in range(int(rule("login_failure_limit"))):
        r = post_login("/login/", "alice", "wrong", lang="zh-hans")
    assert r.status_code == 429 and "登录失败次数过多" in r.content.decode()


def test_lockout_expires(alice):
    limit = int(rule("login_failure_limit"))
    for _i in range(limit):
        post_login("/login/", "alice", "wrong")
    assert post_login("/login/", "alice", PASSWORD).status_code == 429
    past = timezone.now() - dt.timedelta(seconds=int(rule("login_lockout_s")) + 1)
    AccessAttempt.objects.update(attempt_time=past)  # the cool-off has run out
    r = post_login("/login/", "alice", PASSWORD)
    assert r.status_code == 302 and r.client.session.get("_auth_user_id") == str(alice.pk)


@override_settings(LIFTSAFE_RULES={"login_failure_limit": 2, "login_lockout_s": 60})
def test_limits_come_from_the_rules(alice):
    post_login("/login/", "alice", "wrong")
    assert post_login("/login/", "alice", "wrong").status_code == 429


def test_successful_login_resets_the_count(alice):
    limit = int(rule("login_failure_limit"))
    for _i in range(limit - 1):
        post_login("/login/", "alice", "wrong")
    assert post_login("/login/", "alice", PASSWORD).status_code == 302
    for _i in range(limit - 1):
        assert post_login("/login/", "alice", "wrong").status_code == 200
    assert get_user_model().objects.get(pk=alice.pk).is_active


def test_behind_a_proxy_the_forwarded_address_counts(alice, settings):
    """Behind the reverse proxy every request has the proxy's REMOTE_ADDR: the address is X-Forwarded-For's last hop,
    so one client's failures do not lock out everyone behind the proxy, and a client cannot pick its address."""
    settings.LIFTSAFE_PROXY_COUNT = 1
    limit = int(rule("login_failure_limit"))

    def via_proxy(username, password, client, spoof=""):
        c = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=(spoof + ", " if spoof else "") + client)
        return c.post("/login/", {"username": username, "password": password})

    for i in range(limit):
        via_proxy(f"ghost{i}", "wrong", "203.0.113.5", spoof=f"198.51.100.{i}")  # spoofed left entries do not help
    assert via_proxy("alice", PASSWORD, "203.0.113.5").status_code == 429
    assert via_proxy("alice", PASSWORD, "203.0.113.6").status_code == 302  # another client behind the same proxy
