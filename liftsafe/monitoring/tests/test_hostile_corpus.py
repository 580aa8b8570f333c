"""Issue 18 "Done when": the hostile telemetry corpus (tests/data/hostile-telemetry.json, 69 messages) over both
transports. Each hostile message is followed by a valid entrapment of the same device (its own elevator): every bad
message ends with its expected outcome (dead-lettered with its reason, or a duplicate), every entrapment opens its
emergency case, and the counters add up. MQTT against the real Mosquitto, under this run's own topic root."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections import Counter
from pathlib import Path

from django.utils import timezone

from liftsafe.core.models import ApiToken
from liftsafe.testing import make_elevator
from liftsafe.emergency.models import EmergencyCase
from liftsafe.monitoring import services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm, DeadLetter, MonitoringDevice
from liftsafe.monitoring.mqtt import publish_many

from .test_mqtt import PREFIX, URL, _consumer, _wait, broker  # noqa: F401 - broker is a fixture

CORPUS = json.loads((Path(__file__).parent / "data" / "hostile-telemetry.json").read_text(encoding="utf-8"))["messages"]


def test_corpus_is_large_and_varied():
    assert len(CORPUS) >= 50
    reasons = Counter(e["expect"] for e in CORPUS)
    for r in ("dead:malformed_json", "dead:schema", "dead:too_large", "dead:unknown_device", "dead:device_time_future",
              "dead:device_time_past", "dead:topic_mismatch", "duplicate"):
        assert reasons[r] >= 1, r
    assert any(e.get("pad", 0) >= 10 * 1024 * 1024 for e in CORPUS)


class Run:
    """One transport's run: a device and an elevator per corpus entry, plus one shared device."""

    def __init__(self, world, transport: str):
        self.tag = uuid.uuid4().hex[:6]
        self.now = timezone.now()
        self.entries = [(i, e) for i, e in enumerate(CORPUS) if transport in e.get("transports", ["mqtt", "http"])]
        area = world.district_a
        self.devs = {}
        for i, _e in self.entries:
            el = make_elevator(f"H{self.tag}{i}", area)
            self.devs[i] = services.bind_device(el, f"H-{self.tag}-{i}")
        self.shared = services.bind_device(make_elevator(f"H{self.tag}S", area), f"HS-{self.tag}")

    def sub(self, text: str, i: int) -> str:
        for k, v in (("@DEV@", self.devs[i].device_id), ("@SHARED@", self.shared.device_id), ("@ID@", f"h{i}-{self.tag}"),
                     ("@RUN@", self.tag), ("@NOW@", self.now.isoformat()),
                     ("@FUTURE@", (self.now + dt.timedelta(hours=1)).isoformat()),
                     ("@PAST@", (self.now - dt.timedelta(days=8)).isoformat())):
            text = text.replace(k, v)
        return text

    def payload(self, i: int, e: dict) -> bytes:
        if "hex" in e:
            data = bytes.fromhex(e["hex"])
            return self.sub(data.decode("latin-1"), i).encode("latin-1")
        text = self.sub(e["text"], i)
        if "pad" in e:
            text = text.replace("@PAD@", "x" * e["pad"])
        return text.encode("utf-8")

    def topic(self, i: int, e: dict) -> str:
        dev = self.sub(e.get("topic_device", "@DEV@"), i)
        m = re.search(r'"type":"(\w+)"', e.get("text", ""))  # the message's own type unless the entry says otherwise
        return services.topic_for(dev, e.get("topic_type", m.group(1) if m else "event"), PREFIX)

    def entrapment(self, i: int) -> bytes:
        return json.dumps({"v": 1, "type": "event", "device": self.devs[i].device_id, "id": f"trap-{i}-{self.tag}",
                           "ts": self.now.isoformat(), "data": {"code": "90"}}).encode()

    def check(self) -> None:
        """Every entrapment opened its case; dead letters match the expected reasons one for one."""
        traps = Alarm.objects.filter(type=AlarmType.ENTRAPMENT, device__in=list(self.devs.values()))
        assert traps.count() == len(self.entries)
        assert not traps.filter(case_id__isnull=True).exists(), list(traps.filter(case_id__isnull=True).values("device__device_id", "case_error"))
        assert EmergencyCase.objects.filter(pk__in=traps.values("case_id")).count() == len(self.entries)
        assert all(a.occurrences == 1 for a in traps)  # the 10 MB entrapment before it had no effect
        for i, e in self.entries:  # the dead letters that name their message id are the right ones
            mid = f"h{i}-{self.tag}"
            if e["expect"] not in ("dead:malformed_json", "dead:too_large") and '"id":"@ID@"' in e.get("text", ""):
                rows = list(DeadLetter.objects.filter(message_id=mid).values_list("reason", flat=True))
                assert rows == ([e["expect"][5:]] if e["expect"].startswith("dead:") else []), (e["name"], rows)
        expected = Counter(e["expect"][5:] for _i, e in self.entries if e["expect"].startswith("dead:"))
        assert Counter(DeadLetter.objects.values_list("reason", flat=True)) == expected
        for d in DeadLetter.objects.all():
            assert "\x00" not in d.payload + d.detail + d.message_id + d.device_key
            assert len(d.payload) <= 4096 and len(d.payload_sha256) == 64
        big = DeadLetter.objects.get(reason="too_large", payload_size__gt=10 * 1024 * 1024)
        assert len(big.payload) == 4096
        accepted = sum(1 for _i, e in self.entries if e["expect"] == "accepted") + len(self.entries)
        assert sum(MonitoringDevice.objects.filter(pk__in=[d.pk for d in [*self.devs.values(), self.shared]])
                   .values_list("messages_accepted", flat=True)) == accepted


def test_hostile_corpus_over_http(world, client):
    run = Run(world, "http")
    _rec, tok = ApiToken.issue(world.users["admin"], "corpus")
    h = {"HTTP_AUTHORIZATION": f"Bearer {tok}"}
    totals: Counter = Counter()
    for i, e in run.entries:
        body = b'{"messages": [' + run.payload(i, e) + b", " + run.entrapment(i) + b"]}"
        r = client.post("/api/monitoring/messages", body, content_type="application/json", **h)
        assert r.status_code in (200, 422), (e["name"], r.status_code, r.content[:300])
        if r.status_code == 422:  # not even the envelope can be read: the whole body is one malformed_json dead letter
            assert e["expect"] == "dead:malformed_json", e["name"]
            r = client.post("/api/monitoring/messages", b'{"messages": [' + run.entrapment(i) + b"]}",
                            content_type="application/json", **h)
            assert r.status_code == 200 and r.json()["outcomes"] == ["accepted"], e["name"]
            totals.update(["dead:malformed_json", "accepted"])
            continue
        out = r.json()
        assert out["outcomes"] == [e["expect"], "accepted"], e["name"]
        assert out["accepted"] + out["duplicates"] + sum(out["dead"].values()) == 2
        totals.update(out["outcomes"])
    assert totals["accepted"] == len(run.entries) + sum(1 for _i, e in run.entries if e["expect"] == "accepted")
    run.check()


def test_hostile_corpus_over_mqtt(world, broker):  # noqa: F811
    run = Run(world, "mqtt")
    out = []
    for i, e in run.entries:
        out.append((run.topic(i, e), run.payload(i, e)))
        out.append((services.topic_for(run.devs[i].device_id, "event", PREFIX), run.entrapment(i)))
    c = _consumer(f"hc{run.tag}", f"hostile-{run.tag}", batch_size=40)
    try:
        publish_many(URL, out)
        # (the broker keeps at most 3 batches in flight: the rest arrive as the worker acknowledges)
        assert _wait(lambda: len(c.queue) >= 3 * 40, 30), len(c.queue)
        assert c.run(idle_exit_s=3.0) == len(out)
    finally:
        c.close(forget=True)
    run.check()
