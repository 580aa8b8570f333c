"""Kinds of the notes the emergency app writes (case audit reasons, milestone notes); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register


def _channel(value):
    from .models import Channel

    return str(dict(Channel.choices).get(value, value))


def _milestone(value):
    from .models import Milestone

    return str(dict(Milestone.Kind.choices).get(value, value))


def _fields(value):
    from .models import EmergencyCase

    names = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
    out = []
    for n in names:
        try:
            out.append(str(EmergencyCase._meta.get_field(n).verbose_name))
        except Exception:  # noqa: BLE001 - not a field (old row)
            out.append(n)
    return ", ".join(out)


def _reason(value):
    from .models import milestone_reason_label

    return milestone_reason_label(value)


INTAKE = register("emergency.intake", _l("received via %(channel)s"), legacy=r"^intake via (?P<channel>\w+)$",
                  show={"channel": _channel})
INTAKE_DISPATCHED = register("emergency.intake_dispatched", _l("received via %(channel)s, level 1 dispatched"),
                             legacy=r"^intake via (?P<channel>\w+), dispatched level 1$", show={"channel": _channel})
CALL_ATTACHED = register("emergency.call_attached", _l("call attached: %(fields)s"), legacy=r"^call attached: (?P<fields>.*)$",
                         show={"fields": _fields})
INTAKE_CORRECTED = register("emergency.intake_corrected", _l("intake corrected"), legacy=r"^intake corrected$")
DISPATCHED = register("emergency.dispatched", _l("level %(level)s dispatched"), legacy=r"^dispatched level (?P<level>\d+)$")
MILESTONE = register("emergency.milestone", _l("milestone: %(kind)s"), legacy=r"^milestone (?P<kind>\w+)$",
                     show={"kind": _milestone})
CAUSE_REPORTED = register("emergency.cause_reported", _l("cause reported"), legacy=r"^cause reported$")
ESCALATED = register("emergency.escalated", _l("escalated from level %(level)s: %(reason)s"),
                     legacy=r"^escalated from level (?P<level>\d+): (?P<reason>.*)$", show={"reason": _reason})
MTA_TICKET = register("emergency.mta_ticket", _l("MTA ticket %(ticket)s, status %(status)s"),
                      legacy=r"^MTA ticket (?P<ticket>\S+) (?P<status>.*)$")
SIM_ANSWERED = register("emergency.sim_answered", _l("simulated: answered on the phone"), legacy=r"^answered on the phone$")
SIM_FALSE_ALARM = register("emergency.sim_false_alarm", _l("simulated: nobody trapped"), legacy=r"^simulated: nobody trapped$")


def _check(value):
    from .models import LocationCheck

    return str(dict(LocationCheck.choices).get(value, value))


def _outcome(value):
    from .models import CallBack

    return str(dict(CallBack.Outcome.choices).get(value, value))


ON_SITE = register("emergency.on_site", _l("%(kind)s recorded on site: %(check)s"), show={"kind": _milestone, "check": _check})
ON_SITE_PHOTO = register("emergency.on_site_photo", _l("on-site photo added"))
CALLBACK = register("emergency.callback", _l("call-back: %(outcome)s"), show={"outcome": _outcome})
