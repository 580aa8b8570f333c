"""Kinds of the notes the hazards app writes (audit reasons, lifecycle-event notes); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register


def _result(value):
    from .models import Recheck

    return str(dict(Recheck.Result.choices).get(value, value))


STOP_USE_ORDERED = register("hazards.stop_use_ordered", _l("stop-use ordered (hazard #%(hazard)s): %(reason)s"),
                            legacy=r"^责令停用 hazard #(?P<hazard>\d+): (?P<reason>.*)$")
STOP_USE_LIFTED = register("hazards.stop_use_lifted", _l("stop-use lifted: hazard #%(hazard)s closed out"),
                           legacy=r"^stop-use lifted: hazard #(?P<hazard>\d+) closed out$")
ORDER_LIFTED = register("hazards.order_lifted", _l("stop-use order lifted by the close-out of hazard #%(hazard)s"),
                        legacy=r"^lifted by close-out of hazard #(?P<hazard>\d+)$")
RECHECK = register("hazards.recheck", _l("re-check recorded: %(result)s"), legacy=r"^re-check (?P<result>pass|recurrence)$",
                   show={"result": _result})


def _level(value):
    from .models import AuthorityLevel

    return str(dict(AuthorityLevel.choices).get(value, value))


# the hazard's own audit reasons (older versions stored these short English codes; they are recognised as such)
FILED = register("hazards.filed", _l("filed"), legacy=r"^filed$")
LEAD_RAISED = register("hazards.lead_raised", _l("lead raised"), legacy=r"^lead raised$")
LEAD_ACCEPTED = register("hazards.lead_accepted", _l("lead accepted"), legacy=r"^lead accepted$")
LEAD_DISMISSED = register("hazards.lead_dismissed", _l("lead dismissed"), legacy=r"^lead dismissed$")
EDITED = register("hazards.edited", _l("edited"), legacy=r"^edited$")
LISTED = register("hazards.listed", _l("listed for supervision (%(level)s)"), legacy=r"^listed \((?P<level>\w+)\)$",
                  show={"level": _level})
ORDER_ISSUED = register("hazards.order_issued", _l("stop-use ordered"), legacy=r"^stop-use ordered$")
RECTIFYING = register("hazards.rectifying", _l("rectification started"), legacy=r"^rectifying$")
EVIDENCE = register("hazards.evidence", _l("evidence uploaded: %(name)s"), legacy=r"^evidence (?P<name>.+)$")
SUBMITTED = register("hazards.submitted", _l("submitted for verification"), legacy=r"^submitted$")
SENT_BACK = register("hazards.sent_back", _l("sent back"), legacy=r"^sent back$")
CLOSED = register("hazards.closed", _l("verified and closed out"), legacy=r"^closed \(verified\)$")
REOPENED = register("hazards.reopened", _l("reopened on recurrence (campaign %(campaign)s)"),
                    legacy=r"^reopened: recurrence in campaign (?P<campaign>\d+)$")
CAMPAIGN_LAUNCHED = register("hazards.campaign_launched", _l("campaign launched"), legacy=r"^launched$")
ONTARIO_REGISTERED = register("hazards.ontario_registered", _l("registered from a TSSA incident report"),
                              legacy=r"^registered from a TSSA incident report$")
SELF_REPORTED = register("hazards.self_reported", _l("self-reported by the unit (lead for the regulator)"))
