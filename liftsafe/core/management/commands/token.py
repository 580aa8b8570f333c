"""``liftsafe token``: operators issue, list and revoke API tokens.

    liftsafe token create USER [--expires DAYS] [--name NAME]   # prints the secret once
    liftsafe token list [USER] [--all]                          # no secrets; active tokens unless --all
    liftsafe token revoke TOKEN_ID                              # idempotent
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from liftsafe.core import auth
from liftsafe.core.models import ApiToken


class Command(BaseCommand):
    help = ("Issue (create), list and revoke API tokens for users. A token acts with its user's role and scope; "
            "its secret is printed once by create and only its SHA-256 digest is stored.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("create", help="issue a token for USER and print its secret once")
        c.add_argument("user", help="username")
        c.add_argument("--expires", type=int, default=None, metavar="DAYS",
                       help="validity in days (default: rule api_token_default_days; at most api_token_max_days)")
        c.add_argument("--name", default="", help="what the token is for (default: 'cli')")
        ls = sub.add_parser("list", help="list tokens (no secrets)")
        ls.add_argument("user", nargs="?", help="only this user's tokens")
        ls.add_argument("--all", action="store_true", help="include revoked and expired tokens")
        rv = sub.add_parser("revoke", help="revoke a token by its id (see list)")
        rv.add_argument("token_id", type=int)

    def handle(self, *args, action, **opts):
        return getattr(self, f"_{action}")(**opts)

    def _user(self, username):
        try:
            return get_user_model().objects.get(**{get_user_model().USERNAME_FIELD: username})
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None

    def _create(self, user, expires, name, **_):
        try:
            rec, secret = auth.token_issue(self._user(user), name or "cli", expires)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(f"token #{rec.pk} for {rec.user.get_username()} ({rec.name}), "
                          f"expires {timezone.localtime(rec.expires_at):%Y-%m-%d %H:%M %Z}")
        self.stdout.write("secret (shown once, store it now):")
        self.stdout.write(secret)

    def _list(self, user=None, all=False, **_):
        qs = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if user:
            qs = qs.filter(user=self._user(user))
        if not all:
            qs = qs.filter(revoked=False, expires_at__gt=timezone.now())
        self.stdout.write("id\tuser\tname\tbegins\tcreated\texpires\tlast_used\tstate")
        for t in qs:
            state = "revoked" if t.revoked else ("expired" if t.expired else "active")
            fmt = lambda d: timezone.localtime(d).strftime("%Y-%m-%d %H:%M") if d else "-"  # noqa: E731
            self.stdout.write(f"{t.pk}\t{t.user.get_username()}\t{t.name}\t{t.prefix or '-'}\t{fmt(t.created_at)}\t"
                              f"{fmt(t.expires_at)}\t{fmt(t.last_used_at)}\t{state}")

    def _revoke(self, token_id, **_):
        try:
            rec = auth.token_revoke_by_operator(token_id)
        except ApiToken.DoesNotExist:
            raise CommandError(f"no token #{token_id}") from None
        self.stdout.write(f"token #{rec.pk} ({rec.name}, {rec.user.get_username()}) revoked")
