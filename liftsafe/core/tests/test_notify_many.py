import pytest

from liftsafe.core.models import Notification
from liftsafe.core.notifications import notify, notify_many


@pytest.mark.django_db
def test_notify_many_is_once_only_and_requires_keys(world):
    org = world.orgs[("maintenance_unit", "a")]
    notify(kind="t.x", subject="s", body="b", organisation=org, dedupe_key="k1")
    items = [dict(kind="t.x", subject="s" * 300, body="b", organisation=org, dedupe_key=k) for k in ("k1", "k2", "k3")]
    assert notify_many(items) == 2                     # k1 was queued before
    assert notify_many(items) == 0                     # a second scan queues nothing
    assert Notification.objects.filter(kind="t.x").count() == 3
    n = Notification.objects.get(dedupe_key="k2")
    assert n.organisation == org and len(n.subject) == 255 and n.status == "pending"
    with pytest.raises(ValueError):
        notify_many([dict(kind="t.x", subject="s", body="b")])
