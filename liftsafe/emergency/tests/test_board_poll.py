"""Live board polling (issue 4): interval from the rule ``board_poll_s``; a poll when nothing of the user's scope
changed is one indexed query and a ``204 No Content``; a change still gets rows, closed ids and counts."""
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liftsafe.emergency import services, views
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
    return r.content.decode(), r["X-Board-Version"]


def delta(client, since):
    return client.get(reverse("emergency:board_delta"), {"since": since})


def test_poll_interval_is_the_rule(client, world, settings):
    html, _c = board(client, world)
    assert 'hx-trigger="every 1s"' in html  # default board_poll_s = 1 (issue 4)
    settings.LIFTSAFE_RULES = {"board_poll_s": 0.5}
    assert 'hx-trigger="every 0.5s"' in board(client, world)[0]
    for bad in (0, -1, "fast"):
        settings.LIFTSAFE_RULES = {"board_poll_s": bad}
        with pytest.raises(ValueError, match="board_poll_s: must be a positive number"):
            client.get(reverse("emergency:board"))


def test_nothing_changed_is_204_from_one_query(client, world):
    c = new_case(world)
    age(c)
    html, cursor = board(client, world)
    assert f'id="case-{c.pk}"' in html and 'data-count="late"' in html and 'data-open="1"' in html
    r = delta(client, cursor)
    assert r.status_code == 204 and r.content == b"" and r["X-Board-Version"] == cursor
    since = dt.datetime.fromisoformat(cursor)
    with CaptureQueriesContext(connection) as q:
        data = views.board_data(world.users["operator"], since)
    assert data["rows"] == [] and data["closed"] == []
    assert len([x for x in q.captured_queries if "emergency_emergencycase" in x["sql"]]) == 1
    # without a cursor: the full answer, every open case and the counts
    body = client.get(reverse("emergency:board_delta")).content.decode()
    assert f'id="case-{c.pk}"' in body and 'id="board-counts-new"' in body


def test_any_change_in_scope_gets_rows_closed_ids_and_counts(client, world):
    c1 = new_case(world, "a1")
    age(c1)
    _html, cursor = board(client, world)
    assert delta(client, cursor).status_code == 204
    c2 = new_case(world, "a2", seconds_ago=1)  # an IoT alarm opens a case
    r = delta(client, cursor)
    body = r.content.decode()
    assert r.status_code == 200 and f'id="case-{c2.pk}"' in body and 'class="ch-iot"' in body
    assert f'id="case-{c1.pk}"' not in body  # only what changed
    assert '<span class="em-count alert"><b>2</b>' in body and 'data-open="2"' in body  # two awaiting dispatch
    cursor2 = r["X-Board-Version"]
    assert cursor2 > cursor
    age(c2)
    services.record_milestone(world.users["operator"], c1, "cancelled")
    r = delta(client, cursor2)
    assert r.status_code == 200 and f'data-closed="{c1.pk}"' in r.content.decode()


def test_out_of_scope_change_does_not_wake_the_board(client, world):
    c = new_case(world, "a1")
    age(c)
    _html, cursor = board(client, world)
    other = new_case(world, "b1", seconds_ago=1)  # district B: not the district-A operator's
    assert delta(client, cursor).status_code == 204
    # the city regulator sees district B: its board gets the row
    age(other)
    _h, rcursor = board(client, world, "city_regulator")
    assert delta(client, rcursor).status_code == 204
    EmergencyCase.objects.filter(pk=other.pk).update(updated_at=timezone.now() + dt.timedelta(seconds=5))
    r = delta(client, rcursor)
    assert r.status_code == 200 and f'id="case-{other.pk}"' in r.content.decode()
