"""The permission table (liftsafe.core.permissions): every action used in code is declared, the table is the
role matrix below, and require / allowed / the template filter apply the role, the scope and the object rules."""
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template import Context, Template

from liftsafe.core import permissions
from liftsafe.core.permissions import ACTIONS, allowed, require

ROOT = Path(__file__).resolve().parents[2]  # the liftsafe package

# The role matrix (a = admin, reg = regulator, op = 96333 operator, mu = maintenance unit, uu = use unit,
# ia = inspection agency, ins = insurer, rs = rescue station). A change to who may do what changes this table
# and ACTIONS together.
R = {"a": "admin", "reg": "regulator", "op": "operator", "mu": "maintenance_unit", "uu": "use_unit",
     "ia": "inspection_agency", "ins": "insurer", "rs": "rescue_station"}
MATRIX = {
    "registry.edit": "a reg",
    "hazard.file": "a reg", "hazard.accept": "a reg", "hazard.dismiss": "a reg", "hazard.edit": "a reg",
    "hazard.list": "a reg", "hazard.stop_use": "a reg", "hazard.send_back": "a reg", "hazard.close": "a reg",
    "hazard.start": "a uu mu", "hazard.submit": "a uu mu", "hazard.add_evidence": "a reg uu mu", "hazard.mine": "a uu mu",
    "hazard.campaign_launch": "a reg", "hazard.recheck": "a reg ia",
    "emergency.console": "a op", "emergency.board": "a op reg", "emergency.responder": "mu rs", "emergency.oversight": "a reg", "emergency.case_search": "a op reg mu rs",
    "case.intake": "a op", "case.dispatch": "a op", "case.progress": "a op mu rs", "case.cancel": "a op",
    "case.report_cause": "a op mu rs",
    "device.bind": "a mu", "device.submit": "a mu", "device.backfill": "a mu reg", "alarm.handle": "a op mu",
    "report.manage": "a reg",
    "exchange.manage": "a", "exchange.view": "a reg",
    "visit.plan": "a mu", "visit.check_in": "mu", "visit.record_items": "mu", "visit.check_out": "mu",
    "visit.submit_offline": "mu", "visit.countersign": "uu",
    "chain.verify": "a reg mu uu", "oversight.view": "a reg",
    "inspection.view": "a reg op mu uu ia", "inspection.record": "a ia", "inspection.record_self_test": "a ia",
    "inspection.rectify": "a uu mu", "inspection.confirm": "a uu", "inspection.whatif": "a reg",
    # insurance
    "insurance.view": "a reg ins uu mu", "policy.record": "a reg", "claim.file": "a ins", "claim.decide": "a ins",
    "insurance.gaps": "a reg",
    # field work (issue 15)
    "case.on_site_view": "a reg mu rs", "case.callback": "a op", "caller.lookup": "a op reg",
    "hazard.self_report": "a uu mu ia",
    "notices.issue": "a reg", "notices.view": "a reg uu", "notices.read": "uu",
    # risk
    "risk.view": "a reg", "risk.manage_key_periods": "a reg", "risk.recompute": "a reg", "risk.create_tasks": "a reg",
    # rating
    "rating.view": "a reg mu", "rating.run": "a reg", "rating.publish": "a reg", "rating.object": "mu",
    "rating.review": "a reg", "rating.reply": "mu", "rating.sheet": "a reg",
    "credit.view": "a reg mu", "credit.apply_lift": "mu", "credit.decide_lift": "a reg",
    # disclosure
    "disclosure.labels": "a reg mu uu", "disclosure.reports": "a reg mu uu", "publicreport.answer": "a mu uu",
    "publicreport.reopen": "", "publicreport.moderate": "a reg", "publicreport.convert": "a reg",
    "disclosure.publication": "a reg",
    # publicity
    "publicity.view": "a reg", "publicity.manage": "a reg", "publicity.publish": "a reg",
    "command.wall": "a op reg", "command.map": "a reg op",
}
USERS = ["admin", "regulator", "city_regulator", "operator", "maintenance_unit", "use_unit", "inspection_agency",
         "insurer", "rescue_station", "nobody"]

USE = [
    re.compile(r"\b(?!require_module\b|require_service\b)\w*(?:require|allowed)\w*\([^()\"\n]*\"([a-z_]+\.[a-z_]+)\""),  # require(user, "x.y"), _require_regulator(…)
    re.compile(r"\|can:\"([a-z_]+\.[a-z_]+)\""),
    re.compile(r"\{%\s*allowed\s+\"([a-z_]+\.[a-z_]+)\""),
    re.compile(r"Transition\(\"[\w-]+\",[^\n]*?\"([a-z_]+\.[a-z_]+)\""),
    re.compile(r"\"[a-z_]+\":\s*\"((?:emergency|hazard|case|device|alarm|report|exchange|registry)\.[a-z_]+)\""),
]


def _used_actions() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in list(ROOT.rglob("*.py")) + list(ROOT.rglob("*.html")):
        if "tests" in path.parts or path.name == "permissions.py" and path.parent.name == "core":
            continue
        text = path.read_text(encoding="utf-8")
        for rx in USE:
            for name in rx.findall(text):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_action_used_in_code_is_declared_and_every_declared_action_is_used():
    used = _used_actions()
    undeclared = {name: sorted(where) for name, where in used.items() if name not in ACTIONS}
    assert not undeclared, f"actions used but not declared in core/permissions.py: {undeclared}"
    unused = set(ACTIONS) - set(used)
    assert not unused, f"declared but never used: {sorted(unused)}"
    # the scan sees the services, the pages and the templates
    assert any(p.endswith("hazards/services.py") for p in used["hazard.file"])
    assert any(p.endswith(".html") for p in used["hazard.mine"])


def test_table_is_the_role_matrix_with_a_reason_for_each_action():
    expected = {name: {R[r] for r in roles.split()} for name, roles in MATRIX.items()}
    assert permissions.matrix() == expected
    assert all(a.why.strip() for a in ACTIONS.values())


@pytest.mark.parametrize("who", USERS)
def test_allowed_follows_the_matrix_for_each_user(world, who):
    user = world.users[who]
    role = {"city_regulator": "regulator", "nobody": None}.get(who, who)
    for name, roles in MATRIX.items():
        expect = role is not None and any(R[r] == role for r in roles.split())
        assert allowed(user, name) is expect, (who, name)
        if expect:
            require(user, name)
        else:
            with pytest.raises(PermissionDenied):
                require(user, name)


def test_anonymous_and_unknown_action(world):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import ImproperlyConfigured

    assert not any(allowed(AnonymousUser(), name) for name in ACTIONS)
    with pytest.raises(ImproperlyConfigured):
        allowed(world.users["admin"], "hazard.fly")


def test_object_is_checked_through_the_scope(world):
    mu, own, other = world.users["maintenance_unit"], world.own(), world.other()
    assert allowed(mu, "device.bind", own) and not allowed(mu, "device.bind", other)
    require(mu, "device.bind", own)
    with pytest.raises(Http404):  # outside the scope: refused like a missing object
        require(mu, "device.bind", other)
    with pytest.raises(PermissionDenied):  # the role first
        require(world.users["insurer"], "device.bind", own)


def test_object_condition_registered_by_the_app(world):
    from liftsafe.hazards.tests.helpers import file_hazard

    h = file_hazard(world)  # responsible unit: district A's use unit
    assert allowed(world.users["use_unit"], "hazard.start", h)
    assert not allowed(world.users["maintenance_unit"], "hazard.start", h)  # right role, not the responsible unit
    with pytest.raises(PermissionDenied):
        require(world.users["maintenance_unit"], "hazard.start", h)
    assert allowed(world.users["regulator"], "hazard.close", h) and not allowed(world.users["use_unit"], "hazard.close", h)


def test_template_filter_and_tag(world, rf):
    tpl = Template('{% load permissions %}{% if user|can:"hazard.file" %}F{% endif %}'
                   '{% allowed "device.bind" e as ok %}{% if ok %}B{% endif %}')
    for who, out in (("regulator", "F"), ("maintenance_unit", "B"), ("insurer", "")):
        request = rf.get("/")
        request.user = world.users[who]
        assert tpl.render(Context({"user": request.user, "request": request, "e": world.own()})) == out, who
