"""Inspection API and pages through the real paths: error contract, scoping, the loop fail → rectify → re-inspection,
the registry elevator page's panel, the derived registry fields not editable by API or admin."""
import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from liftsafe.inspection.models import Finding, InspectionRecord, Validity
from liftsafe.registry.models import Elevator

D = dt.date


def session(user):
    c = Client()
    c.force_login(user)
    return c


def post(c, url, data):
    return c.post(url, data, content_type="application/json")


@pytest.fixture
def lift(world):
    e = world.elevators["a1"]
    today = timezone.localdate()
    Elevator.objects.filter(pk=e.pk).update(installation_date=today - dt.timedelta(days=800),
                                            supervision_pass_date=today - dt.timedelta(days=790))
    return Elevator.objects.get(pk=e.pk)


def test_api_loop_and_error_contract(world, lift):
    today = timezone.localdate()
    agency = session(world.users["inspection_agency"])
    # bad input: 422 naming the field
    r = post(agency, "/api/inspection/records", {"elevator": lift.pk, "kind": "periodic", "inspected_on": str(today + dt.timedelta(days=3)),
                                                 "conclusion": "pass"})
    assert r.status_code == 422 and "inspected_on" in r.json()["errors"]
    r = post(agency, "/api/inspection/records", {"elevator": lift.pk, "kind": "periodic", "inspected_on": str(today), "conclusion": "meh"})
    assert r.status_code == 422 and "conclusion" in r.json()["errors"]
    r = post(agency, "/api/inspection/records", {"elevator": lift.pk, "kind": "periodic", "inspected_on": str(today), "conclusion": "fail",
                                                 "findings": [{"clause": "2.8", "text": "制动器", "finding_class": "minor"}]})
    assert r.status_code == 422 and "findings.0.deadline" in r.json()["errors"]
    # an agency may not record a lift of another agency: 404 (another agency's lifts are not revealed)
    r = post(agency, "/api/inspection/records", {"elevator": world.elevators["b1"].pk, "kind": "periodic",
                                                 "inspected_on": str(today), "conclusion": "pass"})
    assert r.status_code == 404
    # an administrator naming an agency outside the lift's scope: 422 on agency
    r = post(session(world.users["admin"]), "/api/inspection/records", {
        "elevator": world.elevators["b1"].pk, "kind": "periodic", "inspected_on": str(today), "conclusion": "pass",
        "agency": world.orgs[("inspection_agency", "a")].pk})
    assert r.status_code == 422 and "agency" in r.json()["errors"]
    # the use unit may not record: 403
    r = post(session(world.users["use_unit"]), "/api/inspection/records",
             {"elevator": lift.pk, "kind": "periodic", "inspected_on": str(today), "conclusion": "pass"})
    assert r.status_code == 403
    # fail with a minor finding
    r = post(agency, "/api/inspection/records", {"elevator": lift.pk, "kind": "periodic", "inspected_on": str(today), "conclusion": "fail",
                                                 "findings": [{"clause": "3.1", "text": "照明", "finding_class": "minor", "deadline_days": 10}]})
    assert r.status_code == 201, r.content
    fid = r.json()["findings"][0]["id"]
    assert session(world.users["use_unit"]).get(f"/api/inspection/elevators/{lift.pk}/validity").json()["state"] == "failed"
    # scoping: the other district's regulator does not see it
    assert session(world.users["admin"]).get(f"/api/inspection/elevators/{lift.pk}/validity").status_code == 200
    other = world.users["maintenance_unit"]  # A's maintenance unit maintains a1
    assert session(other).get(f"/api/inspection/elevators/{world.elevators['b1'].pk}/validity").status_code == 404
    use = session(world.users["use_unit"])
    r = post(use, f"/api/inspection/findings/{fid}/rectify", {"version": 1, "evidence_note": "更换灯具"})
    assert r.status_code == 200 and r.json()["state"] == "rectified"
    r = post(use, f"/api/inspection/findings/{fid}/confirm", {"version": 1})
    assert r.status_code == 409  # stale version
    r = post(use, f"/api/inspection/findings/{fid}/confirm", {"version": 2})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    r = post(agency, "/api/inspection/records", {"elevator": lift.pk, "kind": "reinspection", "inspected_on": str(today),
                                                 "conclusion": "pass_on_reinspection"})
    assert r.status_code == 201
    v = session(world.users["use_unit"]).get(f"/api/inspection/elevators/{lift.pk}/validity").json()
    assert v["state"] in ("valid", "due_soon") and v["last_conclusion"] == "pass_on_reinspection"
    due = session(world.users["inspection_agency"]).get("/api/inspection/due", {"months": 24}).json()
    assert [i["elevator"] for i in due["items"]] == [lift.pk] and sum(m["count"] for m in due["months"]) == 1


def test_registry_derived_fields_not_editable(world, lift):
    c = session(world.users["admin"])
    r = c.patch(f"/api/registry/elevators/{lift.pk}", {"next_inspection_due": "2099-01-01"}, content_type="application/json")
    assert r.status_code == 422 and "next_inspection_due" in str(r.json())
    from liftsafe.registry.admin import ElevatorAdmin

    assert "next_inspection_due" in ElevatorAdmin.readonly_fields and "last_inspection_conclusion" in ElevatorAdmin.readonly_fields


def test_pages(world, lift):
    today = timezone.localdate()
    agency = session(world.users["inspection_agency"])
    r = agency.get(f"/inspection/new/?elevator={lift.pk}")
    assert r.status_code == 200
    r = agency.post("/inspection/new/", {"elevator": lift.pk, "kind": "periodic", "inspected_on": str(today), "conclusion": "fail",
                                         "f0-clause": "2.8", "f0-text": "制动器磨损", "f0-finding_class": "major",
                                         "f0-deadline_days": "15", "f0-deadline_basis": "working",
                                         "f1-finding_class": "minor", "f1-deadline_basis": "calendar",
                                         "f2-finding_class": "minor", "f2-deadline_basis": "calendar"})
    assert r.status_code == 302, r.content.decode()[:3000]
    assert InspectionRecord.objects.get(elevator=lift).findings.get().reinspection_required
    # a future date: the form shows the error next to the field, nothing written
    r = agency.post("/inspection/new/", {"elevator": lift.pk, "kind": "periodic", "inspected_on": str(today + dt.timedelta(days=9)),
                                         "conclusion": "pass", **{f"f{i}-finding_class": "minor" for i in range(3)},
                                         **{f"f{i}-deadline_basis": "calendar" for i in range(3)}})
    assert r.status_code == 200 and InspectionRecord.objects.count() == 1
    # the registry page's htmx panel, served by the inspection app
    panel = session(world.users["use_unit"]).get(f"/inspection/elevators/{lift.pk}/", HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and 'id="validity-state"' in panel.content.decode()
    assert "下次到期" in panel.content.decode() and "制动器磨损" in panel.content.decode()  # zh-Hans by default
    assert Validity.objects.get(elevator=lift).state == "failed"
    assert session(world.users["use_unit"]).get(f"/inspection/elevators/{world.elevators['b1'].pk}/").status_code == 404
    # the use unit's due/findings page; rectify from it
    page = session(world.users["use_unit"]).get("/inspection/")
    assert page.status_code == 200 and "制动器磨损" in page.content.decode()
    f = Finding.objects.get()
    r = session(world.users["use_unit"]).post(f"/inspection/findings/{f.pk}/rectify/", {"version": f.version, "evidence_note": "已更换"})
    assert r.status_code == 302 and Finding.objects.get().state == "rectified"


def test_workload_puts_everything_due_before_this_month_in_one_overdue_row(world):
    """Seen in the demo: lifts whose last inspection is years old filled the agency's calendar with one row per past
    month back to 1937. Everything due before the current month is one "overdue" row, then the horizon's months."""
    from liftsafe.inspection import selectors

    today = dt.date(2026, 12, 7)
    due = {"a1": dt.date(1937, 10, 1), "a2": dt.date(2026, 11, 30), "b1": dt.date(2026, 12, 20)}
    for key, d in due.items():
        Validity.objects.create(elevator=world.elevators[key], policy="t7001_2023", next_due=d, state="expired")
    qs, per_month = selectors.due_list(world.users["admin"], months=3, today=today)
    assert per_month == [("overdue", 2), ("2026-12", 1)]
    assert [v.next_due for v in qs] == sorted(due.values())
    c = session(world.users["admin"])
    r = c.get("/inspection/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200 and "已逾期（本月之前到期）" in r.content.decode()
