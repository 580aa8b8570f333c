"""Who may do what: every action of the platform, declared once (issue 10, "One permission table").

:data:`ACTIONS` maps an action name (``"<thing>.<verb>"``) to the roles that may take it and why.
Everything that decides whether a user may act asks this table:

- services call :func:`require` (raises ``PermissionDenied``; an object outside the caller's scope
  raises ``Http404``, exactly like a missing object);
- views, API routes and templates call :func:`allowed` (or the template filter ``user|can:"hazard.file"``
  and the tag ``{% allowed "hazard.start" h as ok %}`` from ``liftsafe.core.templatetags.permissions``).

The *role* part lives here; the *object* part is the existing scope (:mod:`liftsafe.core.scoping`):
``core`` imports no domain app, so each app registers at start-up (``AppConfig.ready``)

- :func:`register_scope` — "is this object inside the user's scope?" for each of its models, through the
  app's own selector (``hazards_for``, ``scope_elevators``, ``scope_cases`` …);
- :func:`register_condition` — an extra object rule of one of its actions that is not a scope
  (``hazard.start``: the caller's organisation is the hazard's responsible unit; ``case.progress``:
  the case is dispatched to the caller's organisation).

A platform administrator (superuser or admin profile) has the role ``admin`` (:func:`scope_of`); an action
admins may take lists :attr:`Role.ADMIN` explicitly, so the table is the whole truth (the responder page, for one,
is not for admins). A few actions also accept a Django permission (``perm``), e.g. data officers.

To add an action: add one entry here (roles, why), use its name in the service (``require``) and in the page
(``allowed`` / ``can``), and add its row to ``core/tests/test_permissions.py`` — the test fails for an action
used in code but not declared here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext, gettext_lazy as _

from .errors import NotFound as Http404  # the domain exceptions of core/errors.py (subclasses of Django's)
from .errors import PermissionDenied
from .models import Role
from .scoping import scope_of

A, REG, OP = Role.ADMIN, Role.REGULATOR, Role.OPERATOR
MU, UU, IA, INS, RS = Role.MAINTENANCE_UNIT, Role.USE_UNIT, Role.INSPECTION_AGENCY, Role.INSURER, Role.RESCUE_STATION


@dataclass(frozen=True)
class Action:
    """One action: the roles that may take it, why (who and on what authority), an optional Django
    permission that also grants it, and the message of a refusal."""

    roles: frozenset[str]
    why: str
    perm: str = ""
    denied: str = ""


def _a(roles, why: str, *, perm: str = "", denied: str = "") -> Action:
    return Action(frozenset(str(r) for r in roles), why, perm, denied)


ACTIONS: dict[str, Action] = {
    # ------------------------------------------------------------------ registry
    "registry.edit": _a({A, REG}, "Regulators keep the registry of their area (TSG 08 use registration); admins and the importer run as one of them.",
                        denied=_("Only a regulator or an administrator may change the registry.")),
    # ------------------------------------------------------------------ hazards (docs/domain: hazard investigation, docs/domain §7)
    "hazard.file": _a({A, REG}, "A regulator files a hazard found in supervision; units report through leads, insurers only read."),
    "hazard.accept": _a({A, REG}, "A regulator accepts an automatic lead as a hazard and names the responsible unit."),
    "hazard.dismiss": _a({A, REG}, "A regulator dismisses a lead that is not a hazard."),
    "hazard.edit": _a({A, REG}, "A regulator corrects a hazard's level, deadline or title."),
    "hazard.list": _a({A, REG}, "Listed supervision (挂牌督办) is an act of the authority."),
    "hazard.stop_use": _a({A, REG}, "A stop-use order (责令停用) is an administrative order of the regulator."),
    "hazard.send_back": _a({A, REG}, "The regulator verifies a rectification and may send it back."),
    "hazard.close": _a({A, REG}, "Close-out (销号) is verified by the regulator, never by the responsible unit (condition registered by hazards)."),
    "hazard.start": _a({A, UU, MU}, "The responsible unit (use or maintenance unit named on the hazard) starts rectifying."),
    "hazard.submit": _a({A, UU, MU}, "The responsible unit submits its rectification with evidence."),
    "hazard.add_evidence": _a({A, REG, UU, MU}, "The responsible unit uploads rectification evidence; a regulator adds a verification record."),
    "hazard.mine": _a({A, UU, MU}, "A unit's own open hazards (its work list)."),
    "hazard.campaign_launch": _a({A, REG}, "Look-back campaigns (回头看) are launched by the regulator of the area."),
    "hazard.recheck": _a({A, REG, IA}, "A regulator or the inspection agency records a look-back re-check.",
                         denied=_("Only a regulator or an inspector may record a re-check.")),
    # ------------------------------------------------------------------ 96333 emergency (docs/domain §3)
    "emergency.console": _a({A, OP}, "The call-taking console is the 96333 operator's (TSG T5002; GB/T 33656)."),
    "emergency.board": _a({A, OP, REG}, "The live board: operators work it, regulators supervise it."),
    "emergency.responder": _a({MU, RS}, "The rescue-task page is for the responders a case is dispatched to (not admins)."),
    "emergency.oversight": _a({A, REG}, "Late responders and escalations: the regulator's oversight."),
    "emergency.case_search": _a({A, OP, REG, MU, RS}, "Past and open cases: operators and regulators of the area, "
                                "responders for the cases dispatched to them (issue 16: a past case must be findable)."),
    "case.intake": _a({A, OP}, "Only an operator takes a call and opens a case.", denied=_("Only a 96333 operator may do this.")),
    "case.dispatch": _a({A, OP}, "Dispatch (level 1 maintenance unit, 2 rescue station, 3 fire brigade) is the operator's.",
                        denied=_("Only a 96333 operator may dispatch.")),
    "case.progress": _a({A, OP, MU, RS}, "Responded / arrived / released / completed / false alarm: the operator, or the responder "
                        "the case is dispatched to (condition registered by emergency).",
                        denied=_("You may not record this milestone.")),
    "case.cancel": _a({A, OP}, "Only the operator cancels a case (a responder cannot withdraw a call).",
                      denied=_("You may not record this milestone.")),
    "case.report_cause": _a({A, OP, MU, RS}, "The cause is fed back by the responder (docs/domain §3.3 step 7) or recorded by the operator.",
                            denied=_("You may not report the cause.")),
    # ------------------------------------------------------------------ IoT monitoring (docs/monitoring.md "Roles")
    "device.bind": _a({A, MU}, "The elevator's maintenance unit installs devices and runs the enterprise platform (docs/domain §4.1).",
                      denied=_("Only the elevator's maintenance unit or an administrator may bind monitoring devices.")),
    "device.submit": _a({A, MU}, "An integrator (maintenance unit token) submits device messages for its own elevators.",
                        denied=_("Only an integrator (the elevators' maintenance unit) or an administrator may submit device messages.")),
    "device.backfill": _a({A, MU, REG}, "Device history older than the live window (no live alarms or cases): an integrator "
                          "for its devices, a regulator for its area's, administrators (issue 16, historical backfill).",
                          denied=_("Only an integrator (the elevators' maintenance unit), a regulator or an administrator may load device history.")),
    "alarm.handle": _a({A, OP, MU}, "96333 operators of the area and the elevator's maintenance unit acknowledge / clear alarms; others read.",
                       denied=_("Only a 96333 operator, the elevator's maintenance unit or an administrator may acknowledge alarms.")),
    # ------------------------------------------------------------------ reports
    "report.manage": _a({A, REG}, "Regulators generate and publish the supervision reports of their area.",
                        denied=_("Only regulators and administrators may generate or publish reports.")),
    # ------------------------------------------------------------------ data exchange
    "exchange.manage": _a({A}, "Data officers (Django permission exchange.manage_exchange) configure exchange with the national platform.",
                          perm="exchange.manage_exchange", denied=_("Only data officers may manage data exchange.")),
    "exchange.view": _a({A, REG}, "Regulators read the exchange of their area; data officers everything.",
                        perm="exchange.manage_exchange", denied=_("Only data officers and regulators may see data exchange.")),
    # ------------------------------------------------------------------ maintenance (TSG T5002; docs/domain §5, §15.1)
    "visit.plan": _a({A, MU}, "The maintenance unit plans the visits of the lifts it holds a contract for (T5002 Art. 10).",
                     denied=_("Only the maintenance unit may plan maintenance visits.")),
    "visit.check_in": _a({MU}, "Only the contracted maintenance unit's workers check in on site (T5002 Art. 10; two workers).",
                         denied=_("Only the maintenance unit's workers may check in for a maintenance visit.")),
    "visit.record_items": _a({MU}, "The workers on site record the checklist (T5002 annexes A-D).",
                             denied=_("Only the maintenance unit's workers may record checklist items.")),
    "visit.check_out": _a({MU}, "The workers on site check out (dwell time is evidence, docs/domain §15.1).",
                          denied=_("Only the maintenance unit's workers may check out of a maintenance visit.")),
    "visit.submit_offline": _a({MU}, "A visit recorded offline on the worker's phone is submitted once by the maintenance unit.",
                               denied=_("Only the maintenance unit's workers may submit a maintenance visit.")),
    "visit.countersign": _a({UU}, "The use unit's safety manager countersigns the record (T5002 Art. 9; never the maintenance unit on its behalf).",
                            denied=_("Only the lift's use unit may countersign a maintenance record.")),
    "chain.verify": _a({A, REG, MU, UU}, "Whoever relies on the frozen records may verify their hash chain.",
                       denied=_("Your role cannot verify maintenance records.")),
    "oversight.view": _a({A, REG}, "Overdue maintenance and flagged visits: the regulator's oversight (docs/domain §15.1).",
                         denied=_("Only regulators and administrators may see maintenance oversight.")),
    # ------------------------------------------------------------------ inspection (TSG T7001-2023, T7008-2023; docs/domain §6)
    "inspection.view": _a({A, REG, OP, MU, UU, IA}, "Inspection records, findings and due lists are read by everyone responsible for the lift, in scope.",
                          denied=_("Your role cannot read inspection records.")),
    "inspection.record": _a({A, IA}, "Only the inspection agency records an inspection or re-inspection (特种设备安全法 Art. 40; T7001).",
                            denied=_("Only an inspection agency may record an inspection.")),
    "inspection.record_self_test": _a({A, IA}, "A testing body records a self-test (TSG T7008-2023).",
                                      denied=_("Only an inspection agency may record a self-test.")),
    "inspection.rectify": _a({A, UU, MU}, "The use unit and its maintenance unit rectify findings and upload evidence (docs/domain §6).",
                             denied=_("Only the use unit or the maintenance unit may record a rectification.")),
    "inspection.confirm": _a({A, UU}, "The use unit confirms a minor finding's rectification without re-inspection (docs/domain §6).",
                             denied=_("Only the use unit may confirm a rectification.")),
    "inspection.whatif": _a({A, REG}, "A classified-cycle policy is evaluated over the fleet by the regulator before adoption (issue 12).",
                            denied=_("Only regulators may evaluate an inspection-cycle policy.")),
    # ------------------------------------------------------------------ insurance (docs/domain §11, §15.7)
    "insurance.view": _a({A, REG, INS, UU, MU}, "Policies and claims are read by the insurer, the insured parties (use and maintenance "
                         "units of the covered lifts) and the regulator of the area; 96333 operators and agencies have no need.",
                         denied=_("Your role cannot read insurance policies or claims.")),
    "policy.record": _a({A, REG}, "Policies reported by insurers are recorded by the regulator of the area (lifts resolved through its scope).",
                        denied=_("Only a regulator or an administrator may record an insurance policy.")),
    "claim.file": _a({A, INS}, "The insurer of the policy files a suggested trapped-passenger claim (docs/domain §15.7).",
                     denied=_("Only the policy's insurer may file a claim.")),
    "claim.decide": _a({A, INS}, "The insurer of the policy pays or refuses a claim (compensation first, liability later, docs/domain §11).",
                       denied=_("Only the policy's insurer may pay or refuse a claim.")),
    "insurance.gaps": _a({A, REG}, "Coverage gaps (lifts in use with no policy in force) are the regulator's oversight.",
                         denied=_("Only regulators and administrators may see insurance coverage gaps.")),
    # ------------------------------------------------------------------ field work (issue 15: proof on site, self-reports, call-backs)
    "case.on_site_view": _a({A, REG, MU, RS}, "A responder's on-site location and photos are the worker's personal data: the regulator "
                            "of the area and the worker's own unit only (the unit part is the selector's filter), never the operator.",
                            denied=_("Your role cannot see on-site locations.")),
    "case.callback": _a({A, OP}, "The 96333 operator calls the caller, the use unit or the responder back and records the outcome.",
                        denied=_("Only a 96333 operator may record a call-back.")),
    "caller.lookup": _a({A, OP, REG}, "The operator looks up an incoming number's earlier cases and lifts (telephony pop-up); "
                        "a regulator may too, with phone numbers masked.",
                        denied=_("Your role cannot look up callers.")),
    "hazard.self_report": _a({A, UU, MU, IA}, "Use units, maintenance units and inspection agencies report hazards they found on "
                             "their own lifts (自查自报); the report is a lead for the regulator (docs/domain §7).",
                             denied=_("Only a use unit, a maintenance unit or an inspection agency may report a hazard on its lifts.")),
    # ------------------------------------------------------------------ notices: official documents (docs/domain §7)
    "notices.issue": _a({A, REG}, "Stop-use orders, rectification notices and supervision instructions are acts of the market-supervision authority (特种设备安全法 Art. 61-62; docs/domain §7).",
                        denied=_("Only a regulator may issue an official document.")),
    "notices.view": _a({A, REG, UU}, "The issuing authority reads its documents; the use unit reads the documents delivered to it.",
                       denied=_("Your role cannot read official documents.")),
    "notices.read": _a({UU}, "Only the addressee use unit's opening of a document is recorded as its reading (service of the document).",
                       denied=_("Only the addressee use unit acknowledges a document.")),
    # ------------------------------------------------------------------ risk (安全风险分级管控; docs/domain §8, docs/risk.md)
    "risk.view": _a({A, REG}, "Risk grading and control is the market-supervision regulator's tool for its area (docs/domain §8).",
                    denied=_("Only regulators and administrators may see risk grades.")),
    "risk.manage_key_periods": _a({A, REG}, "Key periods (重点时段) are declared by the regulator of the areas affected.",
                                 denied=_("Only regulators and administrators may declare key periods.")),
    "risk.recompute": _a({A, REG}, "A regulator may recompute the risk of its area on demand; the nightly job runs as the platform.",
                         denied=_("Only regulators and administrators may recompute risk grades.")),
    "risk.create_tasks": _a({A, REG}, "The red list becomes supervision tasks (hazard leads) of the regulator of the area.",
                           denied=_("Only regulators and administrators may create red-list tasks.")),
    # ------------------------------------------------------------------ rating (maintenance-unit rating; docs/domain §9, §15.4)
    "rating.view": _a({A, REG, MU}, "Regulators read the ratings of their area; a maintenance unit its own, item by item with evidence.",
                      denied=_("Only regulators and maintenance units may see ratings.")),
    "rating.run": _a({A, REG}, "A regulator runs a scoring sheet over the maintenance units of the area (drafts).",
                     denied=_("Only regulators may run ratings.")),
    "rating.publish": _a({A, REG}, "Publication of a grade is an act of the authority (docs/domain §15.4).",
                         denied=_("Only regulators may publish ratings.")),
    "rating.object": _a({MU}, "The rated unit files an objection (申诉) within the window (docs/domain §15.4).",
                        denied=_("Only the rated maintenance unit may object.")),
    "rating.review": _a({A, REG}, "A regulator other than the scorer decides an objection (docs/domain §15.4; condition registered by rating).",
                        denied=_("Only a regulator who did not score this rating may decide its objection.")),
    "rating.reply": _a({MU}, "The unit's right to reply, published next to its grade (docs/domain §15.4).",
                       denied=_("Only the rated maintenance unit may reply.")),
    "rating.sheet": _a({A, REG}, "Scoring sheets are configuration kept by regulators.",
                       denied=_("Only regulators may change scoring sheets.")),
    "credit.view": _a({A, REG, MU}, "Bad-credit and blacklist entries: regulators of the area, the unit its own.",
                      denied=_("Only regulators and maintenance units may see credit lists.")),
    "credit.apply_lift": _a({MU}, "A listed unit applies for lifting after the management period (docs/domain §9).",
                            denied=_("Only the listed maintenance unit may apply for lifting.")),
    "credit.decide_lift": _a({A, REG}, "A regulator decides a lifting application (docs/domain §9).",
                             denied=_("Only regulators may decide a lifting application.")),
    # ------------------------------------------------------------------ disclosure (public pages, labels, public reports; docs/domain §10, §15.6)
    "disclosure.labels": _a({A, REG, MU, UU}, "Use units and maintenance units print the QR labels of their own lifts, regulators of their area (docs/domain §15.6).",
                            denied=_("Only the lift's use unit, maintenance unit or regulator may print its labels.")),
    "disclosure.reports": _a({A, REG, MU, UU}, "Public reports reach the lift's use and maintenance units and are visible to the regulator (docs/domain §15.6).",
                             denied=_("Only the lift's units and the regulator may read public reports.")),
    "publicreport.answer": _a({A, MU, UU}, "The responsible units acknowledge, work on and close a public report with a status note (Open311 status notes).",
                              denied=_("Only the lift's use unit or maintenance unit may answer a public report.")),
    "publicreport.reopen": _a(set(), "Only the reporter reopens, holding the ticket number (no platform role)."),
    "publicreport.moderate": _a({A, REG}, "The regulator moderates public reports: rejects abuse, merges duplicates.",
                                denied=_("Only a regulator may moderate public reports.")),
    "publicreport.convert": _a({A, REG}, "The regulator turns a public report into a 96333 case or a hazard lead (docs/domain §15.6).",
                               denied=_("Only a regulator may forward a public report.")),
    "disclosure.publication": _a({A, REG}, "The regulator decides what the public page shows in its area (docs/domain §15.6).",
                                 denied=_("Only a regulator may change what is published.")),
    # publicity (issue 14): safety-publicity articles and campaigns of a regulator's area
    "publicity.view": _a({A, REG}, "Regulators read the publicity content of their area, drafts included, and its counts (issue 14)."),
    "publicity.manage": _a({A, REG}, "Regulators write and edit the safety-publicity content of their area (issue 14, docs/domain §15.8).",
                           denied=_("Only a regulator manages publicity content.")),
    "publicity.publish": _a({A, REG}, "Regulators schedule, publish and archive the publicity content of their area (issue 14).",
                            denied=_("Only a regulator publishes publicity content.")),
    # ------------------------------------------------------------------ command (wall screen and map; issue 15, docs/map.md)
    "command.wall": _a({A, OP, REG}, "The 96333 centre's wall screen (大屏): live cases, KPIs, alarms, for the centre's operators and the regulator.",
                            denied=_("Only 96333 operators, regulators and administrators may open the wall screen.")),
    "command.map": _a({A, REG, OP}, "The map of every lift in the area with its flags (supervision; the 96333 centre locates lifts).",
                           denied=_("Only regulators, 96333 operators and administrators may open the lift map.")),
}

ScopeCheck = Callable[[object, object], bool]
Condition = Callable[[object, object], bool]
_SCOPES: dict[str, ScopeCheck] = {}
_CONDITIONS: dict[str, Condition] = {}


def register_scope(model_label: str, check: ScopeCheck) -> None:
    """Register "is ``obj`` inside ``user``'s scope" for a model (``"hazards.Hazard"``): ``check(user, obj) -> bool``.

    Called by the owning app in ``AppConfig.ready`` with its selector (one rule for pages, API and services)."""
    _SCOPES[model_label] = check


def register_condition(action: str, check: Condition) -> None:
    """Register an object condition of ``action`` beyond the scope: ``check(user, obj) -> bool``
    (e.g. the caller's organisation is the hazard's responsible unit)."""
    if action not in ACTIONS:
        raise ImproperlyConfigured(f"permission condition for undeclared action {action!r}")
    _CONDITIONS[action] = check


def _action(action: str) -> Action:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ImproperlyConfigured(f"undeclared permission action {action!r}; declare it in liftsafe.core.permissions.ACTIONS") from None


def role_allowed(user, action: str) -> bool:
    """Whether ``user``'s role (or Django permission) may take ``action`` at all, object aside."""
    act = _action(action)
    scope = scope_of(user)
    if scope.role is not None and scope.role in act.roles:
        return True
    return bool(act.perm and user is not None and getattr(user, "is_authenticated", False) and user.is_active
                and user.has_perm(act.perm))


def in_scope(user, obj) -> bool:
    """Whether ``obj`` is inside ``user``'s scope, through the check its app registered (``ImproperlyConfigured`` if none)."""
    label = obj._meta.label
    check = _SCOPES.get(label)
    if check is None:
        raise ImproperlyConfigured(f"no scope check registered for {label}; call permissions.register_scope in its AppConfig.ready")
    return bool(check(user, obj))


def allowed(user, action: str, obj=None) -> bool:
    """Whether ``user`` may take ``action`` (on ``obj``: inside the scope and meeting the action's condition).

    For templates and API answers ("which actions may I take"); never raises for a declared action."""
    if not role_allowed(user, action):
        return False
    if obj is None:
        return True
    if not in_scope(user, obj):
        return False
    cond = _CONDITIONS.get(action)
    return cond is None or bool(cond(user, obj))


def require(user, action: str, obj=None, *, message: str | None = None) -> None:
    """Raise unless ``user`` may take ``action`` (on ``obj``).

    Raises:
        PermissionDenied: the role may not take the action, or the object condition fails (``message``,
            else the action's ``denied`` text, else a generic one).
        Http404: ``obj`` is outside the user's scope (refused like a missing object).
    """
    act = _action(action)
    text = message or (str(act.denied) if act.denied else gettext("You may not do this."))
    if not role_allowed(user, action):
        raise PermissionDenied(text)
    if obj is None:
        return
    if not in_scope(user, obj):
        raise Http404(f"{obj._meta.model_name} not found")
    cond = _CONDITIONS.get(action)
    if cond is not None and not cond(user, obj):
        raise PermissionDenied(text)


def actions_for(user, names, obj=None) -> list[str]:
    """The subset of ``names`` that ``user`` may take (on ``obj``), in the given order."""
    return [n for n in names if allowed(user, n, obj)]


def matrix() -> dict[str, set[str]]:
    """``{action: {roles}}`` — the table as plain data (docs, tests, the API's "what may I do")."""
    return {name: set(a.roles) for name, a in ACTIONS.items()}
