"""Pure disclosure rules: public codes, report categories, published fields, the self-hosted challenge.

No database access. Sources: docs/domain §10 (a QR code per lift), §15.6 (what the public page shows; the label
prints 96333 and the rescue code; the Open311 / FixMyStreet report loop).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.core import signing
from django.db import models
from django.utils.translation import gettext_lazy as _

#: 27 characters with no look-alikes (no 0/O, 1/I/L, 5/S, 8/B).
ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
CODE_LENGTH = 9  # 27**9 ≈ 7.6e12 codes: among 1M lifts a random guess hits once in ~7.6 million tries (and tries are rate-limited)
TICKET_PREFIX = "R"
TICKET_LENGTH = 9
CODE_RE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
TICKET_RE = re.compile(rf"^{TICKET_PREFIX}[{ALPHABET}]{{{TICKET_LENGTH}}}$")
EMERGENCY_NUMBER = "96333"  # docs/domain §3: the province-wide elevator emergency number


def new_code() -> str:
    """A fresh random public code (``CODE_LENGTH`` characters of :data:`ALPHABET`, from :mod:`secrets`)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def new_ticket() -> str:
    """A fresh random ticket number, ``R`` + 9 characters (the reporter's follow-up key)."""
    return TICKET_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(TICKET_LENGTH))


def normalise_code(raw: str) -> str | None:
    """The code as typed or scanned, upper-cased and trimmed, or None when it cannot be a public code
    (wrong length or a character outside the alphabet: answered without touching the database)."""
    code = (raw or "").strip().upper()
    return code if CODE_RE.match(code) else None


def normalise_ticket(raw: str) -> str | None:
    t = (raw or "").strip().upper()
    return t if TICKET_RE.match(t) else None


class Category(models.TextChoices):
    """Public report categories (docs/domain §15.6: fault, safety concern, complaint about overdue maintenance)."""

    TRAPPED = "trapped", _("Someone is trapped now")
    FAULT = "fault", _("Fault (lift not working properly)")
    SAFETY = "safety", _("Safety concern")
    OVERDUE = "overdue_maintenance", _("Maintenance looks overdue")
    COMPLAINT = "complaint", _("Complaint about the use or maintenance unit")


#: A trapped passenger is an emergency: the page sends the caller to 96333, no report is filed (docs/domain §3, §15.6).
EMERGENCY_CATEGORIES = frozenset({Category.TRAPPED})


class PublicField(models.TextChoices):
    """Optional sections of the public page a regulator publishes per area (codes and 96333 always show)."""

    UNITS = "units", _("Use unit and maintenance unit with duty phone")
    MAINTENANCE = "maintenance", _("Last maintenance and overdue status")
    INSPECTION = "inspection", _("Inspection valid-until month and conclusion")
    INSURANCE = "insurance", _("Liability insurance in force")
    RISK = "risk", _("Risk colour")
    CAMPAIGNS = "campaigns", _("Safety campaign notices")


#: Published when an area has no setting of its own (risk colours only when a regulator chooses to).
DEFAULT_FIELDS = frozenset(f.value for f in PublicField if f != PublicField.RISK)


# ------------------------------------------------------------------ self-hosted challenge (no third-party captcha)
_SALT = "liftsafe.disclosure.challenge"


def make_challenge(seed: int | None = None) -> tuple[str, str]:
    """An arithmetic question and a signed token holding its answer: ``("7 + 5 = ?", token)``.

    The token is signed with the site key (``django.core.signing``), expires after
    :func:`check_challenge`'s ``max_age``, and carries a nonce so answers cannot be precomputed per question."""
    rng = secrets.SystemRandom() if seed is None else __import__("random").Random(seed)
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    token = signing.dumps({"s": a + b, "n": secrets.token_hex(4)}, salt=_SALT)
    return f"{a} + {b} = ?", token


def check_challenge(token: str, answer: str, *, max_age: int = 600) -> bool:
    """True when ``answer`` is the sum signed into ``token`` (not older than ``max_age`` seconds)."""
    try:
        data = signing.loads(token or "", salt=_SALT, max_age=max_age)
    except signing.BadSignature:
        return False
    try:
        return int(str(answer).strip()) == int(data["s"])
    except (TypeError, ValueError, KeyError):
        return False


def address_hash(ip: str) -> str:
    """A keyed hash of a client address (HMAC-SHA256 with the site key): enough to count, not to identify."""
    return hmac.new(settings.SECRET_KEY.encode(), (ip or "").encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """``139****1111``: what a reporter sees of the number they left."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"
