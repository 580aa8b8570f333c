"""Why a lift has its colour: the stored factors as display rows (label, fact, points, evidence links)."""
from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _, gettext_lazy

from liftsafe.registry.codes import PLACE_TYPE_CHOICES

LABELS = {
    "age": gettext_lazy("Age"), "entrapments": gettext_lazy("Entrapments"), "faults": gettext_lazy("Faults and IoT fault alarms"),
    "inspection": gettext_lazy("Inspection"), "hazards_open": gettext_lazy("Open hazards"), "hazards_overdue": gettext_lazy("Overdue hazards"),
    "crowded_place": gettext_lazy("Crowded place"), "maintenance_overdue": gettext_lazy("Maintenance overdue"),
    "maintenance_flagged": gettext_lazy("Flagged maintenance visits"), "unit_grade": gettext_lazy("Maintenance-unit grade"),
    "iot_coverage": gettext_lazy("No IoT monitoring"), "insurance": gettext_lazy("No liability insurance"),
}
TRIGGERS = {
    "nightly": gettext_lazy("nightly recompute"), "manual": gettext_lazy("recomputed on demand"), "demo": gettext_lazy("demo computation"),
    "key_period_start": gettext_lazy("key period started"), "key_period_end": gettext_lazy("key period ended"),
    "key_period_changed": gettext_lazy("key period changed"), "flow:emergency.case_closed": gettext_lazy("a 96333 case closed"),
    "flow:hazards.changed": gettext_lazy("a hazard changed"), "flow:inspection.validity_changed": gettext_lazy("inspection validity changed"),
}


def trigger_label(code: str) -> str:
    """The trigger of a colour change in the user's language (the code itself when unknown)."""
    return str(TRIGGERS.get(code, code))


INSPECTION = {"failed": gettext_lazy("failed"), "expired": gettext_lazy("expired"), "due_soon": gettext_lazy("due soon"), "valid": gettext_lazy("valid")}


def _fact(key: str, raw, evidence: dict) -> str:
    if raw is None:
        return _("unknown: the source holds no data for this lift")
    if key == "age":
        return _("%(n)s years (installed %(d)s)") % {"n": raw, "d": evidence.get("installed") or "?"}
    if key in ("entrapments", "faults", "maintenance_flagged"):
        return _("%(n)s in the scoring window") % {"n": raw}
    if key in ("hazards_open", "hazards_overdue"):
        return _("%(n)s now") % {"n": raw}
    if key == "inspection":
        return str(INSPECTION.get(raw, raw))
    if key == "crowded_place":
        pt = dict(PLACE_TYPE_CHOICES).get(evidence.get("place_type"))
        return (_("yes (%(p)s)") % {"p": pt} if pt else _("yes")) if raw else (_("no (%(p)s)") % {"p": pt} if pt else _("no"))
    if key == "maintenance_overdue":
        return (_("yes, last visit %(d)s") if raw else _("no, last visit %(d)s")) % {"d": (evidence.get("last_visit") or "—")[:10]}
    if key == "unit_grade":
        return _("grade %(g)s") % {"g": raw}
    if key in ("iot_coverage", "insurance"):
        return _("yes") if raw else _("no")
    return str(raw)


def _links(key: str, evidence: dict, elevator_id: int) -> list[tuple[str, str]]:
    out = []
    for pk in evidence.get("cases", []):
        out.append((_("case #%(n)s") % {"n": pk}, reverse("emergency:case_detail", args=[pk])))
    for pk in evidence.get("hazards", []):
        out.append((_("hazard #%(n)s") % {"n": pk}, reverse("hazards:detail", args=[pk])))
    for pk in evidence.get("visits", []):
        out.append((_("visit #%(n)s") % {"n": pk}, reverse("maintenance:visit", args=[pk])))
    for pk in evidence.get("alarms", []):
        out.append((_("alarm #%(n)s") % {"n": pk}, reverse("monitoring:elevator", args=[elevator_id])))
    if evidence.get("inspection"):
        out.append((_("inspection records"), reverse("inspection:elevator_panel", args=[elevator_id])))
    return out


def explain(score) -> list[dict]:
    """Rows ``{"key", "label", "fact", "known", "weight", "points", "share", "links": [(text, url)]}`` of a
    :class:`~liftsafe.risk.models.RiskScore`, the largest contribution first, unknown factors last."""
    rows = []
    for key, f in (score.factors or {}).items():
        ev = f.get("evidence") or {}
        rows.append({"key": key, "label": str(LABELS.get(key, key)), "fact": _fact(key, f.get("raw"), ev),
                     "known": f.get("value") is not None, "weight": f.get("weight", 0), "points": f.get("points", 0),
                     "share": (f.get("points", 0) / f["weight"]) if f.get("weight") else 0,
                     "links": _links(key, ev, score.elevator_id)})
    rows.sort(key=lambda r: (not r["known"], -r["points"], r["key"]))
    return rows
