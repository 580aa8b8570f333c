"""Live board polling (issue 4): interval from the rule ``board_poll_s``, the cheap nothing-changed poll (204) and
the ``late_at`` hint that keeps the counts exact while the board skips them."""
import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from liftsafe.emergency import selectors, services
from liftsafe.emergency.models import EmergencyCase

pytestmark = pytest.mark.django_db


def new_case(world, key="a1", seconds_ago=600, **kw):
    """An IoT entrapment (no actor: as the monitoring path opens it)."""
    params = dict(channel="iot", case_type="entrapment", trapped_count=1)
    params.update(kw)
    return services.intake_alarm(world.elevators[key], received_at=timezone.now() - dt.timedelta(seconds=seconds_ago),
                                 **params).case


def age(*cases, minutes=1):
    """Last changed ``minutes`` ago (the delta re-sends a 2 s overlap, so "just now" would come again)."""
    EmergencyCase.objects.filter(pk__in=[c.pk for c in cases]).update(updated_at=timezone.now() - dt.timedelta(minutes=minutes))


def board(client, world, who="operator"):
    client.force_login(world.users[who])
    r = client.get(reverse("emergency:board"))
    assert r.status_code == 200
    html = r.content.decode()
    cursor = r["X-Board-Version"]
    late_at = re.search(r'id="board" data-cursor="[^"]+" data-late-at="([^"]+)"', html).group(1)
    return html, cursor, late_at


def delta(client, since, late_at=None):
    params = {"since": since}
    if late_at is not None:
        params["late_at"] = late_at
    return client.get(reverse("emergency:board_delta"), params)


def test_poll_interval_is_the_rule(client, world, settings):
    html, _c, _l = board(client, world)
    assert 'hx-trigger="every 1s"' in html  # default board_poll_s = 1 (issue 4)
    settings.LIFTSAFE_RULES = {"board_poll_s": 0.5}
    assert 'hx-trigger="every 0.5s"' in board(client, world)[0]
    settings.LIFTSAFE_RULES = {"board_poll_s": 0}
    with pytest.raises(ValueError, match="board_poll_s"):
        client.get(reverse("emergency:board"))


def test_nothing_changed_is_204_only_with_the_hint(client, world):
    c = new_case(world)
    age(c)
    html, cursor, late_at = board(client, world)
    assert f'id="case-{c.pk}"' in html and late_at == "never"  # undispatched 10 min ago: already late, nothing pending
    r = delta(client, cursor, late_at)
    assert r.status_code == 204 and r.content == b"" and r["X-Board-Version"] == cursor
    # without the hint (or with a bad one) the full answer, as before: counts, no rows
    for hint in (None, "soon"):
        r = delta(client, cursor, hint)
        body = r.content.decode()
        assert r.status_code == 200 and "<tr" not in body and 'id="board-counts-new"' in body and 'data-late-at="never"' in body


def test_any_change_in_scope_gets_rows_closed_ids_and_counts(client, world):
    c1 = new_case(world, "a1")
    age(c1)
    _html, cursor, late_at = board(client, world)
    assert delta(client, cursor, late_at).status_code == 204
    c2 = new_case(world, "a2", seconds_ago=1)  # an IoT alarm opens a case
    r = delta(client, cursor, late_at)
    body = r.content.decode()
    assert r.status_code == 200 and f'id="case-{c2.pk}"' in body and 'class="ch-iot"' in body
    assert f'id="case-{c1.pk}"' not in body  # only what changed
    assert '<span class="em-count alert"><b>2</b>' in body  # two awaiting dispatch
    cursor2 = r["X-Board-Version"]
    late2 = re.search(r'data-late-at="([^"]+)"', body).group(1)
    # c2 turns late at received + dispatch_delay_warning_s (60 s): the hint says so
    assert int(late2) == int((c2.received_at + dt.timedelta(seconds=60)).timestamp() * 1000)
    age(c2)
    services.record_milestone(world.users["operator"], c1, "cancelled")
    r = delta(client, cursor2, late2)
    assert r.status_code == 200 and f'data-closed="{c1.pk}"' in r.content.decode()


def test_out_of_scope_change_does_not_wake_the_board(client, world):
    c = new_case(world, "a1")
    age(c)
    _html, cursor, late_at = board(client, world)
    other = new_case(world, "b1", seconds_ago=1)  # district B: not the district-A operator's
    assert delta(client, cursor, late_at).status_code == 204
    # the city regulator sees district B: its board gets the row
    _h, rcursor, rlate = board(client, world, "city_regulator")
    EmergencyCase.objects.filter(pk=other.pk).update(updated_at=timezone.now() + dt.timedelta(seconds=5))
    r = delta(client, rcursor, rlate)
    assert r.status_code == 200 and f'id="case-{other.pk}"' in r.content.decode()


def test_counts_are_recomputed_once_late_at_has_passed(client, world):
    c = new_case(world, seconds_ago=30)  # turns late at +60 s (dispatch_delay_warning_s)
    age(c)
    html, cursor, late_at = board(client, world)
    assert int(late_at) == int((c.received_at + dt.timedelta(seconds=60)).timestamp() * 1000)
    assert delta(client, cursor, late_at).status_code == 204
    past = str(int((timezone.now() - dt.timedelta(seconds=1)).timestamp() * 1000))  # as if late_at were reached
    r = delta(client, cursor, past)
    assert r.status_code == 200 and 'id="board-counts-new"' in r.content.decode()


def test_board_counts_late_next_is_exact(world):
    """late_next is the first instant the late count grows; the count is unchanged just before it."""
    op = world.users["operator"]
    now = timezone.now()
    received = new_case(world, "a1", seconds_ago=30)  # undispatched: late at received + 60 s
    disp = services.dispatch_case(op, new_case(world, "a2", seconds_ago=100), 1, at=now - dt.timedelta(seconds=90))
    # dispatched: case timer vs arrival (30 min urban), dispatch timer vs response limit 180 s → late at dispatch + 180 s
    counts, nxt = selectors.board_counts(op, now)
    assert counts["late"] == 0 and counts["received"] == 1 and counts["dispatched"] == 1
    assert nxt == received.received_at + dt.timedelta(seconds=60)
    eps = dt.timedelta(milliseconds=1)
    assert selectors.board_counts(op, nxt - eps)[0]["late"] == 0 and selectors.board_counts(op, nxt)[0]["late"] == 1
    counts2, nxt2 = selectors.board_counts(op, nxt)
    disp.refresh_from_db()
    assert nxt2 == disp.level_dispatched_at + dt.timedelta(seconds=180)
    assert selectors.board_counts(op, nxt2 - eps)[0]["late"] == 1 and selectors.board_counts(op, nxt2)[0]["late"] == 2
    assert selectors.case_counts(op, now) == counts  # the older entry point agrees
    assert selectors.board_counts(world.users["operator"], now + dt.timedelta(days=1))[1] is None
