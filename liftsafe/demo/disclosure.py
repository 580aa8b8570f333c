"""Demo data of the disclosure app: a public code for every lift and a few GENERATED public reports in every state.

The reports are generated (seeded, idempotent): their text starts with "[演示/generated]", their address key is
``generated-demo`` and they are filed through the services (rate limits bypassed by distinct generated addresses),
so the loop is exercised end to end: routed to the lift's units, answered, closed, reopened, merged, rejected and
forwarded to a hazard lead. Nothing here is real public input.
"""
from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from liftsafe.disclosure import services
from liftsafe.disclosure.domain import address_hash
from liftsafe.disclosure.models import PublicReport
from liftsafe.registry.models import Elevator

MARK = "[演示/generated] "
TEXTS = {
    "fault": "轿门关闭时反复重开，运行有异响。",
    "safety": "层门门缝偏大，儿童手指可能夹入。",
    "overdue_maintenance": "维保记录贴纸已过期两个月。",
    "complaint": "使用单位电话无人接听。",
}


#: what the generated units "typed" as status notes for the reporter (user text, shown as written)
UNIT_NOTES = {
    "ack": "已收到，安排维保人员核查。",
    "progress": "已派维保人员处理。",
    "closed": "已更换门机皮带并试运行正常。",
    "reopened": "已调整层门间隙。",
    "rejected": "内容与电梯安全无关。",
}


def _admin():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return User.objects.filter(is_superuser=True).order_by("pk").first() or User.objects.create_superuser(
        "disclosure-demo-admin", password=None)


def seed(*, seed: int = 14, log=print) -> str:
    """Issue missing public codes and, once, generated reports on a few in-use lifts with a maintenance contract:
    new, acknowledged, in progress, closed (with questionnaire), reopened, merged, rejected, forwarded. Returns a summary."""
    codes = services.ensure_codes()
    if PublicReport.objects.filter(text__startswith=MARK).exists():
        return f"public codes issued: {codes}; generated public reports already present"
    rng = random.Random(seed)
    lifts = list(Elevator.objects.filter(status="in_use", use_unit__isnull=False, contracts__isnull=False)
                 .order_by("pk").distinct()[:400])
    if len(lifts) < 8:
        return f"public codes issued: {codes}; too few lifts with units for generated reports"
    picks = rng.sample(lifts, 8)
    admin = _admin()
    made = []
    with transaction.atomic():
        for i, e in enumerate(picks):
            cat = rng.choice(list(TEXTS))
            r = services.report_file(elevator=e, category=cat, text=MARK + TEXTS[cat], ip=f"generated-demo-{i}",
                                     now=timezone.now() - dt.timedelta(days=rng.randint(1, 20)))
            PublicReport.objects.filter(pk=r.pk).update(address_hash=address_hash("generated-demo"))
            made.append(r)
        new, ack, prog, closed, reopened, dup, rejected, forwarded = made
        services.report_act(admin, ack, "acknowledge", note=UNIT_NOTES["ack"])
        services.report_act(admin, prog, "progress", note=UNIT_NOTES["progress"], expected_on=timezone.localdate() + dt.timedelta(days=3))
        services.report_act(admin, closed, "close", note=UNIT_NOTES["closed"])
        services.report_survey(closed.ticket, fixed=True, score=4, comment=MARK + "处理及时。")
        services.report_act(admin, reopened, "close", note=UNIT_NOTES["reopened"])
        services.report_reopen(reopened.ticket, comment=MARK + "问题仍然存在。")
        twin = services.report_file(elevator=new.elevator, category=new.category, text=MARK + TEXTS[new.category], ip="generated-demo-twin")
        services.report_act(admin, twin, "merge", into=new.ticket)
        services.report_act(admin, rejected, "reject", note=UNIT_NOTES["rejected"])
        services.report_to_hazard(admin, forwarded)
    log(f"generated public reports: {len(made) + 1} (tickets {', '.join(r.ticket for r in made[:3])} …)")
    return f"public codes issued: {codes}; generated public reports: {len(made) + 1}"
