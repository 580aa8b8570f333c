"""Demo stream (simulated cases move through the real services) and the MTA ticket replay."""
import datetime as dt

from django.utils import timezone

from liftsafe.emergency import mta_replay, simulate
from liftsafe.emergency.models import EmergencyCase


def test_demo_stream_opens_and_completes_cases(world):
    t = timezone.now() - dt.timedelta(hours=3)
    opened = sum(simulate.step(now=t + dt.timedelta(seconds=4 * i), open_probability=1.0)["opened"] for i in range(3))
    assert opened >= 1 and EmergencyCase.objects.filter(source_ref__startswith="sim-").count() == opened
    for i in range(1, 400):  # ~2 h of demo time at 20 s ticks
        simulate.step(now=t + dt.timedelta(seconds=20 * i), open_probability=0.0)
    states = set(EmergencyCase.objects.values_list("state", flat=True))
    assert states & {"completed", "false_alarm", "dispatched"}  # silent responders stay dispatched until escalated
    for c in EmergencyCase.objects.filter(state="completed"):
        assert c.milestones.filter(kind="received").count() == 1


def test_ticket_classification_and_time_zone():
    row = {"Outage Code": "ENT", "Reason Shown to Public": "REPAIR", "Status": "Closed"}
    assert mta_replay.classify(row) == "entrapment"
    assert mta_replay.classify(row | {"Outage Code": "PM", "Reason Shown to Public": "MAINTENANCE"}) == "planned"
    assert mta_replay.classify(row | {"Outage Code": "UNI"}) == "false_alarm"
    assert mta_replay.classify(row | {"Outage Code": "BRP", "Status": "Cancelled"}) == "false_alarm"
    assert mta_replay.classify(row | {"Outage Code": "BRP"}) == "fault_report"
    t = mta_replay.parse_time("2023-07-01 12:00:00")
    assert t.utcoffset() == dt.timedelta(hours=-4)  # EDT
    assert mta_replay.parse_time("2023-01-02 12:55:00").utcoffset() == dt.timedelta(hours=-5)  # EST


def test_ticket_files_parse_with_multiline_comments():
    rows = {p.name: mta_replay.read_tickets(p) for p in mta_replay.DEFAULT_FILES}
    assert [len(r) for r in rows.values()] == [571, 147]
    assert any("\n" in r["Outage Comments"] for r in rows["nyc_mta_outages_2023_ele_not_subway.csv.gz"])


def test_demo_operator_dispatches_iot_cases_and_keeps_open_cases_bounded(world):
    """Long-running demo on a controlled clock: the stream opens cases, an IoT feed opens an entrapment
    every 45 s, escalation runs; every IoT case is dispatched within a minute and open cases stay ≤ 20."""
    from liftsafe.testing import make_elevator
    from liftsafe.emergency import services

    lifts = [make_elevator(f"L{i}", world.district_a if i % 2 else world.district_b) for i in range(60)]
    t0 = timezone.now() - dt.timedelta(hours=2)
    tick, ticks = 5, 800  # 67 min of demo time
    peak, iot = 0, []
    for i in range(ticks):
        now = t0 + dt.timedelta(seconds=tick * i)
        if i % 9 == 0:  # IoT feed (what monitoring.open_case_for does)
            e = lifts[(i // 9) % len(lifts)]
            r = services.intake_alarm(e, channel="iot", case_type="entrapment", received_at=now,
                                      source_ref=f"monitoring.alarm:{i}", idempotency_key=f"iot-alarm-{i}")
            iot.append(r.case.pk)
        simulate.step(now=now, open_probability=0.8)
        services.escalate_late_cases(now=now)
        peak = max(peak, simulate.demo_cases().count())
    assert peak <= 20, peak
    assert EmergencyCase.objects.filter(source_ref__startswith="sim-").count() > 50
    cases = EmergencyCase.objects.filter(pk__in=iot)
    assert cases.filter(state__in=["completed", "false_alarm"]).count() > 0.8 * len(set(iot))
    for c in cases:
        d = services.derive(c.milestones.all())
        if d.level_dispatched_at is None:  # only the newest may still wait for dispatch
            assert (t0 + dt.timedelta(seconds=tick * (ticks - 1)) - c.received_at).total_seconds() < 60
        else:
            first = c.milestones.filter(kind="dispatched").order_by("at").first()
            assert (first.at - c.received_at).total_seconds() <= 60
