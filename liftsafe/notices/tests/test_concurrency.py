"""Document numbers under concurrency: regulators issuing at the same moment get consecutive numbers with no gap
and no reuse, also when some issues fail inside their transaction (the number is given back)."""
import datetime as dt
import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from liftsafe.notices import services
from liftsafe.notices.models import Document, Kind, Series
from liftsafe.testing import make_user, make_world


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_parallel_issues_number_without_gap_or_reuse():
    """24 threads (own connections), two regulators of one district and the city's regulator, a quarter of the
    issuing transactions rolled back after the number was taken; PostgreSQL required (SQLite serialises writers)."""
    from liftsafe.conftest import postgresql_only
    from liftsafe.core.models import Role

    postgresql_only()
    w = make_world()
    regs = [w.users["regulator"], make_user("regulator2", Role.REGULATOR, area=w.district_a), w.users["city_regulator"]]
    deadline = timezone.localdate() + dt.timedelta(days=15)
    barrier = threading.Barrier(24)
    results, errors = [], []

    def worker(i):
        try:
            barrier.wait()
            user = regs[i % 3]
            e = w.elevators["a1" if i % 2 else "a2"]
            if i % 4 == 3:
                # the issuing transaction fails after the number was taken (e.g. the caller's own later step):
                # the rollback gives the number back
                try:
                    with transaction.atomic():
                        services.document_issue(user, elevator=e, kind=Kind.RECTIFICATION, facts="x", deadline=deadline)
                        raise _Rollback
                except _Rollback:
                    results.append(None)
                return
            d = services.document_issue(user, elevator=e, kind=Kind.RECTIFICATION, facts=f"fact {i}", deadline=deadline)
            results.append((d.authority_id, d.seq))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    issued = [r for r in results if r is not None]
    assert len(issued) == 18
    year = timezone.localdate().year
    for area in (w.district_a, w.city):
        seqs = sorted(seq for a, seq in issued if a == area.pk)
        assert seqs == list(range(1, len(seqs) + 1))  # consecutive from 1: no gap, no reuse
        assert Series.objects.get(area=area, year=year).last == len(seqs)
        assert sorted(Document.objects.filter(authority=area).values_list("seq", flat=True)) == seqs
