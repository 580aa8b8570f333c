"""The pages through the real HTTP path (no JavaScript): a worker completes a visit, the use unit countersigns,
the regulator sees overdue lifts and flagged visits; errors name the item or field; frozen stays frozen."""
import datetime as dt

from django.test import Client
from django.utils import timezone

from liftsafe.maintenance.models import Visit


def client(user):
    c = Client()
    c.force_login(user)
    return c


def test_worker_completes_visit_on_pages_and_use_unit_countersigns(mw):
    w = client(mw.users["maintenance_unit"])
    r = w.get("/maintenance/today/")
    assert r.status_code == 200 and mw.elevators["a1"].address in r.content.decode()
    r = w.get("/maintenance/today/?code=100001")  # typed rescue code → the open visit
    assert r.status_code == 302 and f"/maintenance/visits/{mw.visit.pk}/" in r["Location"]
    r = w.get(r["Location"])
    assert r.status_code == 200 and 'name="code" value="100001"' in r.content.decode()
    base = f"/maintenance/visits/{mw.visit.pk}/do/"
    w.post(base + "check_in/", {"code": "999", "method": "qr"})
    assert Visit.objects.get(pk=mw.visit.pk).state == "planned"  # wrong code refused
    w.post(base + "check_in/", {"code": "100001", "method": "qr", "worker2": str(mw.users["worker2"].pk),
                                "latitude": "32.0401", "longitude": "118.7901", "accuracy_m": "6"})
    v = Visit.objects.get(pk=mw.visit.pk)
    assert v.state == "checked_in" and v.check_in_method == "qr"
    page = w.get(f"/maintenance/visits/{v.pk}/").content.decode()
    assert "A-1-29" in page and "层门锁紧元件啮合长度" in page
    r = w.post(base + "items/", {"r_A-1-29": "normal", "value_A-1-29": "8", "r_A-1-03": "abnormal"}, follow=True)
    errors = [str(m) for m in r.context["messages"]]
    assert len(errors) == 1 and errors[0].startswith("A-1-03: ")  # abnormal without a note: refused, the item named
    assert Visit.objects.get(pk=v.pk).results == {}
    w.post(base + "items/", {"r_A-1-29": "normal", "value_A-1-29": "8", "r_A-1-03": "abnormal",
                             "note_A-1-03": "noise", "action_A-1-03": "bearing greased"})
    assert Visit.objects.get(pk=v.pk).abnormal_count == 1
    Visit.objects.filter(pk=v.pk).update(checked_in_at=timezone.now() - dt.timedelta(minutes=40))
    w.post(base + "check_out/")
    assert Visit.objects.get(pk=v.pk).state == "checked_out"
    u = client(mw.users["use_unit"])
    assert str(v.pk) in u.get("/maintenance/countersign/").content.decode()
    w.post(base + "countersign/")  # the maintenance unit cannot
    assert not Visit.objects.get(pk=v.pk).frozen
    u.post(base + "countersign/")
    v = Visit.objects.get(pk=v.pk)
    assert v.frozen and v.countersigned_by == mw.users["use_unit"]
    hist = client(mw.users["regulator"]).get(f"/maintenance/visits/{v.pk}/").content.decode()
    assert hist.count(">use_unit<") == 1 and hist.count(">maintenance_unit<") >= 3  # who did what, from the history
    r = w.post(base + "items/", {"r_A-1-01": "normal"}, follow=True)  # frozen: refused on the page too
    last = list(r.context["messages"])[-1]
    assert r.status_code == 200 and last.level_tag == "error" and str(last).startswith("已冻结: ")  # the field's zh-Hans label
    assert "A-1-01" not in Visit.objects.get(pk=v.pk).results


def test_regulator_pages(mw):
    g = client(mw.users["regulator"])
    r = g.get("/maintenance/overdue/")
    assert r.status_code == 200 and mw.elevators["a1"].address in r.content.decode()
    assert client(mw.users["maintenance_unit"]).get("/maintenance/overdue/").status_code == 403
    Visit.objects.filter(pk=mw.visit.pk).update(flags=["short_dwell"], state="checked_out", checked_out_at=timezone.now())
    r = g.get("/maintenance/flagged/")
    assert r.status_code == 200 and f"/maintenance/visits/{mw.visit.pk}/" in r.content.decode()
    # a1 is no longer overdue once visited
    assert mw.elevators["a1"].address not in g.get("/maintenance/overdue/").content.decode().split("<h2>")[1]
    assert client(mw.users["nobody"]).get(f"/maintenance/visits/{mw.visit.pk}/").status_code == 404


def test_pages_in_chinese_name_the_frozen_field(mw):
    w = client(mw.users["maintenance_unit"])
    w.cookies["django_language"] = "zh-hans"
    page = w.get("/maintenance/today/").content.decode()
    assert "今日维保" in page and ">维保<" in page  # the page title and the nav link
    r = w.get("/maintenance/today/?code=000000", follow=True)
    assert "今天您在此电梯没有待进行的维保。" in r.content.decode()
