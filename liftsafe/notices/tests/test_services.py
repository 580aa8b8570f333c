"""Official documents: numbering per authority and year (gap-free, never reused), append-only corrections,
delivery and reading, scope and refusals, and the hazard's stop-use order issuing its document."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from django.http import Http404

from liftsafe.core.errors import PermissionDenied
from liftsafe.hazards import services as hz
from liftsafe.notices import selectors, services
from liftsafe.notices.models import Delivery, Document, Kind, Series


def issue(world, user="regulator", e="a1", **kw):
    kw.setdefault("kind", Kind.RECTIFICATION)
    kw.setdefault("facts", "层门锁紧元件啮合长度不足")
    kw.setdefault("deadline", timezone.localdate() + dt.timedelta(days=10))
    return services.document_issue(world.users[user], elevator=world.elevators[e], **kw)


def test_numbers_per_authority_and_year_without_gaps(world):
    d1 = issue(world)
    d2 = issue(world, kind=Kind.STOP_USE, deadline=None)
    d3 = issue(world, user="city_regulator", e="b1")  # the city bureau has its own series
    year = timezone.localdate().year
    assert (d1.seq, d2.seq, d3.seq) == (1, 2, 1)
    assert d1.number == f"320102特整改〔{year}〕1号" and d2.number == f"320102特停用〔{year}〕2号"
    assert d3.number == f"320100特整改〔{year}〕1号" and d3.authority_name == "南京市市场监督管理局"
    assert Series.objects.get(area=world.district_a, year=year).last == 2


def test_a_refused_issue_uses_no_number(world):
    issue(world)
    with pytest.raises(ValidationError) as exc:
        issue(world, facts="   ")
    assert "facts" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        issue(world, deadline=None)  # a rectification notice needs a deadline
    assert "deadline" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        issue(world, deadline=timezone.localdate() - dt.timedelta(days=1))
    assert "deadline" in exc.value.message_dict
    assert issue(world).seq == 2  # no gap left by the refusals


def test_only_regulators_in_scope_issue(world):
    for role in ("operator", "use_unit", "maintenance_unit", "inspection_agency", "insurer", "nobody"):
        with pytest.raises(PermissionDenied):
            issue(world, user=role)
    with pytest.raises(Http404):
        issue(world, e="b1")  # district A's regulator cannot issue on district B's lift
    assert not Document.objects.exists() and not Series.objects.filter(last__gt=0).exists()


def test_correction_supersedes_and_keeps_both(world):
    old = issue(world)
    new = issue(world, supersedes=old, facts="更正：层门锁紧元件啮合长度 5 mm，不足 7 mm")
    assert new.supersedes == old and new.seq == old.seq + 1
    old.refresh_from_db()
    assert old.superseded_by == new and Document.objects.count() == 2
    with pytest.raises(ValidationError) as exc:
        issue(world, supersedes=old)  # an already superseded document is not corrected twice
    assert "supersedes" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        issue(world, e="a2", supersedes=new)
    assert "supersedes" in exc.value.message_dict


def test_delivery_and_reading_recorded_for_the_addressee_only(world):
    d = issue(world)
    delivery = Delivery.objects.get(document=d)
    assert delivery.organisation == world.orgs[("use_unit", "a")] and delivery.read_at is None
    services.document_mark_read(world.users["regulator"], d)  # the issuer opening it is not a reading
    assert Delivery.objects.get(pk=delivery.pk).read_at is None
    services.document_mark_read(world.users["use_unit"], d)
    delivery.refresh_from_db()
    first = delivery.read_at
    assert first is not None and delivery.read_by == world.users["use_unit"]
    services.document_mark_read(world.users["use_unit"], d)
    delivery.refresh_from_db()
    assert delivery.read_at == first  # the first opening counts
    assert delivery.history.count() == 2  # delivered, read


def test_who_reads_which_documents(world):
    da, db = issue(world), issue(world, user="city_regulator", e="b1")
    assert set(selectors.documents_for(world.users["regulator"])) == {da}
    assert set(selectors.documents_for(world.users["city_regulator"])) == {da, db}
    assert set(selectors.documents_for(world.users["use_unit"])) == {da}
    for role in ("maintenance_unit", "operator", "insurer", "inspection_agency", "rescue_station", "nobody"):
        assert not selectors.documents_for(world.users[role]).exists()


def test_stop_use_order_of_a_hazard_issues_a_numbered_document(world):
    reg = world.users["regulator"]
    h = hz.hazard_file(reg, elevator=world.elevators["a1"], source="spot_check", title="曳引钢丝绳断股", level="major",
                        responsible_unit=world.orgs[("use_unit", "a")])
    order = hz.stop_use_order(reg, h, reason="钢丝绳断股，责令停用")
    doc = Document.objects.get(hazard=h)
    assert doc.kind == Kind.STOP_USE and doc.elevator == order.elevator and doc.seq == 1
    assert "曳引钢丝绳断股" in doc.facts and "责令停用" in doc.facts
    assert Delivery.objects.filter(document=doc, organisation=world.orgs[("use_unit", "a")]).exists()
