"""API tokens (issue 16 "API tokens", issue 18 item 11): session-only management, expiry, hash only,
account page, operator command, read-only admin, last use throttled."""
import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from liftsafe.core.models import ApiToken


def session(user):
    c = Client()
    c.force_login(user)
    return c


def bearer(token):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_token_cannot_mint_list_or_revoke_tokens(world):
    """Regression (issue 18 item 11): a token minted successors that survived its revocation."""
    user = world.users["maintenance_unit"]
    r = session(user).post("/api/core/tokens", {"name": "first"}, content_type="application/json")
    assert r.status_code == 201
    token = r.json()["token"]
    b = bearer(token)
    assert b.get("/api/core/me").status_code == 200  # the token works …
    assert b.post("/api/core/tokens", {"name": "child"}, content_type="application/json").status_code == 401
    assert b.get("/api/core/tokens").status_code == 401
    assert b.delete(f"/api/core/tokens/{r.json()['id']}").status_code == 401
    assert ApiToken.objects.filter(user=user).count() == 1  # … but minted nothing
    session(user).delete(f"/api/core/tokens/{r.json()['id']}")
    assert b.get("/api/core/me").status_code == 401  # revoked: nothing it made can outlive it (it made nothing)
    assert ApiToken.objects.filter(user=user, revoked=False).count() == 0


def test_expired_token_is_401_and_expiry_is_validated(world):
    c = session(world.users["regulator"])
    r = c.post("/api/core/tokens", {"name": "short", "expires_days": 2}, content_type="application/json")
    assert r.status_code == 201
    body = r.json()
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(days=1, hours=23) < expires - timezone.now() <= dt.timedelta(days=2)
    assert bearer(body["token"]).get("/api/core/me").status_code == 200
    ApiToken.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert bearer(body["token"]).get("/api/core/me").status_code == 401
    assert c.get("/api/core/tokens").json()[0]["expired"] is True
    for bad in (0, -1, 10_000):
        r = c.post("/api/core/tokens", {"name": "x", "expires_days": bad}, content_type="application/json")
        assert r.status_code == 422 and "expires_days" in r.json()["errors"], bad
    r = c.post("/api/core/tokens", {"name": "default"}, content_type="application/json")
    left = dt.datetime.fromisoformat(r.json()["expires_at"]) - timezone.now()
    assert dt.timedelta(days=89) < left <= dt.timedelta(days=90)  # rules.api_token_default_days


def test_only_the_digest_is_stored_and_the_token_acts_with_its_users_scope(world):
    rec, token = ApiToken.issue(world.users["use_unit"], "s")
    assert token not in {rec.digest, rec.prefix} and rec.digest == ApiToken.hash(token) and token.startswith(rec.prefix)
    body = bearer(token).get("/api/registry/elevators").json()
    rows = body["items"] if isinstance(body, dict) else body
    assert {e["source_id"] for e in rows} == {"A1", "A2"}  # the use unit's own elevators, not everything


def test_last_use_is_written_at_most_once_a_minute(world, django_assert_max_num_queries):
    rec, token = ApiToken.issue(world.users["operator"], "s")
    b = bearer(token)
    b.get("/api/core/me")
    rec.refresh_from_db()
    first = rec.last_used_at
    assert first is not None
    b.get("/api/core/me")
    rec.refresh_from_db()
    assert rec.last_used_at == first  # within the minute: no write
    ApiToken.objects.filter(pk=rec.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    b.get("/api/core/me")
    rec.refresh_from_db()
    assert rec.last_used_at > first - dt.timedelta(minutes=1)


def test_account_page_issues_shows_once_lists_and_revokes(world):
    user = world.users["insurer"]
    c = session(user)
    home = c.get("/").content.decode()
    assert 'href="/account/tokens/"' in home  # linked from the header
    r = c.post("/account/tokens/", {"name": "bi export", "expires_days": "30"})
    assert r.status_code == 200 and "no-store" in r.get("Cache-Control", "")
    secret = re.search(r'data-testid="token-secret">(ls_[^<]+)<', r.content.decode()).group(1)
    assert bearer(secret).get("/api/core/me").json()["username"] == "insurer"
    page = c.get("/account/tokens/").content.decode()
    assert "bi export" in page and secret not in page  # shown once
    rec = ApiToken.objects.get(user=user)
    r = c.post("/account/tokens/", {"name": "", "expires_days": "x"})
    assert r.status_code == 422 and ApiToken.objects.filter(user=user).count() == 1
    other, _t = ApiToken.issue(world.users["regulator"], "not yours")
    assert c.post(f"/account/tokens/{other.pk}/revoke/").status_code == 404
    assert c.post(f"/account/tokens/{rec.pk}/revoke/").status_code == 302
    assert bearer(secret).get("/api/core/me").status_code == 401
    assert Client().get("/account/tokens/").status_code == 302  # login required
    assert bearer(secret).get("/account/tokens/").status_code == 302  # a token is not a session


def test_operator_command_create_list_revoke(world):
    out = io.StringIO()
    call_command("token", "create", "regulator", "--expires", "7", "--name", "sync job", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("ls_") and bearer(secret).get("/api/core/me").json()["username"] == "regulator"
    rec = ApiToken.objects.get(name="sync job")
    assert dt.timedelta(days=6) < rec.expires_at - timezone.now() <= dt.timedelta(days=7)
    out = io.StringIO()
    call_command("token", "list", "regulator", stdout=out)
    assert "sync job" in out.getvalue() and secret not in out.getvalue() and rec.prefix in out.getvalue()
    call_command("token", "revoke", str(rec.pk), stdout=io.StringIO())
    assert bearer(secret).get("/api/core/me").status_code == 401
    out = io.StringIO()
    call_command("token", "list", stdout=out)
    assert "sync job" not in out.getvalue()
    with pytest.raises(CommandError):
        call_command("token", "create", "no-such-user", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("token", "create", "regulator", "--expires", "0", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("token", "revoke", "999999", stdout=io.StringIO())


def test_admin_token_pages_are_read_only_and_revoke_works(world):
    """Regression (issue 16): the admin add form made an unusable token and a second add answered 500."""
    from django.contrib.auth import get_user_model

    su = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-123")
    c = session(su)
    assert c.get("/admin/core/apitoken/add/").status_code == 403
    r = c.post("/admin/core/apitoken/add/", {"name": "x", "user": su.pk})
    assert r.status_code == 403 and ApiToken.objects.count() == 0
    rec, token = ApiToken.issue(world.users["operator"], "ops")
    assert c.get("/admin/core/apitoken/").status_code == 200
    page = c.get(f"/admin/core/apitoken/{rec.pk}/change/")
    assert page.status_code == 200 and rec.digest not in page.content.decode()
    r = c.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [rec.pk]})
    assert r.status_code == 302
    assert bearer(token).get("/api/core/me").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_migration_gives_existing_tokens_the_default_validity():
    """Existing tokens (stored as a digest only, no expiry) keep working after the upgrade, for the default validity."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("core", "0003_notification_notificationattempt_and_more")], [("core", "0004_apitoken_expiry_prefix")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    user = get_user_model().objects.create_user("legacy", password="x-legacy-pw-1")
    old_apps.get_model("core", "ApiToken").objects.create(user_id=user.pk, name="old", digest=ApiToken.hash("ls_legacy"))
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)  # then the rest of the project's migrations (other apps' and core's later ones)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    rec = ApiToken.objects.get(name="old")
    left = rec.expires_at - timezone.now()
    assert dt.timedelta(days=89) < left <= dt.timedelta(days=90) and not rec.revoked
    assert bearer("ls_legacy").get("/api/core/me").json()["username"] == "legacy"
