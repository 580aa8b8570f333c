"""Kinds of the notes the insurance app writes (audit reasons); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

POLICY_RECORDED = register("insurance.policy_recorded", _l("policy recorded"))
POLICY_GENERATED = register("insurance.policy_generated", _l("policy generated for the demo"))
CLAIM_SUGGESTED = register("insurance.claim_suggested",
                           _l("claim suggested: trapped %(minutes)s min, band %(band)s, %(yuan)s yuan per person"))
CLAIM_FILED = register("insurance.claim_filed", _l("claim filed"))
CLAIM_PAID = register("insurance.claim_paid", _l("claim paid"))
CLAIM_REFUSED = register("insurance.claim_refused", _l("claim refused"))
