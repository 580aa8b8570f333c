"""Realistic device traffic for registry elevators: status, events, statistics, heartbeats, injected faults.

Each simulated car moves between floors (doors open at a landing, close, run,
stop in the door zone), occasionally carries passengers, and reports status
on change plus every ``status_every_s``, a heartbeat every ``heartbeat_every_s``
and counters every ``stats_every_s`` (device time = the simulated clock).
Faults are injected at ``fault_rate`` per car per hour: entrapment (car stops
between floors with a passenger and closed doors), alarm button, door open
while running, over-travel, overspeed, and area power cuts that trap the cars
that carry passengers. ``bad_rate`` adds malformed / wrong-typed messages.

Used by ``liftsafe simulate`` (to MQTT or in-process) and the demo's periodic feed (:mod:`.demo_feed`).
"""
from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

from .services import topic_for

FAULTS = ("entrapment", "alarm_button", "door_open_running", "over_travel", "overspeed", "power_cut")


@dataclass
class Car:
    device: str
    floors: int = 12
    floor: int = 1
    target: int = 1
    running: int = 0
    door: int = 2  # 1 closed, 2 not closed
    passenger: int = 2
    zone: int = 1  # 1 in the door zone, 2 outside
    power: int = 1
    mode: int = 1
    speed: float = 0.0
    rated: float = 1.5
    fault: str = ""
    fault_until: dt.datetime | None = None
    seq: int = 0
    run_count: int = 0
    door_cycles: int = 0
    last_status: dt.datetime | None = None
    last_hb: dt.datetime | None = None
    last_stats: dt.datetime | None = None
    area: str = ""
    prev: tuple = field(default_factory=tuple)


class Simulator:
    """Deterministic (seeded) traffic generator; :meth:`step` advances the clock and returns ``[(topic, payload)]``."""

    def __init__(self, devices: list[tuple[str, str, int, float]], *, seed: int = 1, status_every_s: float = 10,
                 heartbeat_every_s: float = 60, stats_every_s: float = 300, fault_rate: float = 0.5,
                 bad_rate: float = 0.0, faults: tuple[str, ...] = FAULTS, id_base: int = 0):
        """``devices``: ``(device_id, area_code, floors, rated_speed_mps)``; ``fault_rate`` per car per hour."""
        self.rng = random.Random(seed)
        self.cars = [Car(device=d, area=a, floors=max(2, f or 12), rated=r or 1.5, seq=id_base) for d, a, f, r in devices]
        self.status_every = dt.timedelta(seconds=status_every_s)
        self.hb_every = dt.timedelta(seconds=heartbeat_every_s)
        self.stats_every = dt.timedelta(seconds=stats_every_s)
        self.fault_rate, self.bad_rate, self.faults = fault_rate, bad_rate, faults

    def _msg(self, car: Car, type_: str, ts: dt.datetime, data: dict | None) -> tuple[str, bytes]:
        car.seq += 1
        body = {"v": 1, "type": type_, "device": car.device, "id": str(car.seq), "ts": ts.isoformat(timespec="milliseconds")}
        if data is not None:
            body["data"] = data
        return topic_for(car.device, type_), json.dumps(body, separators=(",", ":")).encode()

    def _status(self, car: Car, ts: dt.datetime) -> tuple[str, bytes]:
        car.last_status = ts
        data = {"mode": car.mode, "running": car.running, "dir": 0 if not car.running else (1 if car.target > car.floor else 2),
                "door_zone": car.zone, "floor": car.floor, "door": car.door, "passenger": car.passenger, "power": car.power,
                "up_limit": 1 if car.fault == "over_travel" else 2, "down_limit": 2, "speed": round(car.speed, 2)}
        return self._msg(car, "status", ts, data)

    def inject(self, car: Car, fault: str, ts: dt.datetime, out: list) -> None:
        """Start ``fault`` on ``car`` now (lasts 1-3 min of simulated time)."""
        car.fault, car.fault_until = fault, ts + dt.timedelta(seconds=self.rng.uniform(60, 180))
        if fault == "entrapment":
            car.running, car.door, car.passenger, car.speed = 0, 1, 1, 0.0
            car.zone = 2 if self.rng.random() < 0.6 else 1
        elif fault == "alarm_button":
            out.append(self._msg(car, "event", ts, {"code": "90", "floor": car.floor}))
        elif fault == "door_open_running":
            car.running, car.door, car.speed = 1, 2, car.rated
        elif fault == "over_travel":
            car.running, car.door, car.speed = 0, 1, 0.0
            out.append(self._msg(car, "event", ts, {"code": "92"}))
        elif fault == "overspeed":
            car.running, car.door, car.speed = 1, 1, car.rated * 1.3
        elif fault == "power_cut":
            for other in self.cars:
                if other.area == car.area and not other.fault:
                    other.fault, other.fault_until = "power_cut", car.fault_until
                    other.zone = 2 if other.running else 1
                    other.power, other.running, other.speed = 2, 0, 0.0
                    if other.passenger == 1:
                        other.door = 1
                    out.append(self._msg(other, "event", ts, {"code": "41"}))
                    out.append(self._status(other, ts))
            return
        out.append(self._status(car, ts))

    def step(self, now: dt.datetime, dt_s: float = 1.0) -> list[tuple[str, bytes]]:
        """Advance every car by ``dt_s`` seconds ending at ``now``; return the messages produced."""
        out: list[tuple[str, bytes]] = []
        p_fault = self.fault_rate * dt_s / 3600.0
        for car in self.cars:
            if car.fault:
                if car.fault_until and now >= car.fault_until:
                    car.fault, car.fault_until = "", None
                    car.power, car.running, car.door, car.speed, car.passenger, car.zone = 1, 0, 2, 0.0, 2, 1
                    out.append(self._msg(car, "event", now, {"code": "40"}))
                    out.append(self._status(car, now))
            elif self.rng.random() < p_fault and self.faults:
                self.inject(car, self.rng.choice(self.faults), now, out)
            else:
                self._move(car, now, dt_s, out)
            if car.last_status is None or now - car.last_status >= self.status_every:
                out.append(self._status(car, now))
            if car.last_hb is None or now - car.last_hb >= self.hb_every:
                car.last_hb = now
                out.append(self._msg(car, "heartbeat", now, {"rssi": -self.rng.randint(50, 95)}))
            if car.last_stats is None or now - car.last_stats >= self.stats_every:
                car.last_stats = now
                out.append(self._msg(car, "stats", now, {"run_count": car.run_count, "door_cycles": car.door_cycles}))
            if self.bad_rate and self.rng.random() < self.bad_rate * dt_s:
                out.append(self._bad(car, now))
        return out

    def _move(self, car: Car, now: dt.datetime, dt_s: float, out: list) -> None:
        before = (car.running, car.door, car.floor, car.passenger)
        if car.running:
            car.floor += 1 if car.target > car.floor else -1
            car.zone = 2
            if car.floor == car.target:
                car.running, car.speed, car.door, car.zone = 0, 0.0, 2, 1
                car.door_cycles += 1
        elif car.door == 2 and self.rng.random() < 0.3 * dt_s:
            car.door = 1
            car.passenger = 1 if self.rng.random() < 0.5 else 2
        elif car.door == 1 and self.rng.random() < 0.5 * dt_s:
            car.target = self.rng.randint(1, car.floors)
            if car.target != car.floor:
                car.running, car.speed = 1, car.rated
                car.run_count += 1
            else:
                car.door = 2
                car.passenger = 2
        if (car.running, car.door, car.floor, car.passenger) != before:
            out.append(self._status(car, now))

    def _bad(self, car: Car, now: dt.datetime) -> tuple[str, bytes]:
        kind = self.rng.randrange(3)
        if kind == 0:
            return topic_for(car.device, "status"), b'{"v":1,"type":"status",'  # truncated JSON
        if kind == 1:
            car.seq += 1
            return topic_for(car.device, "status"), json.dumps({"v": 1, "type": "status", "device": car.device, "id": str(car.seq),
                                                                "ts": now.isoformat(), "data": {"mode": "normal"}}).encode()
        return topic_for("UNKNOWN-" + car.device, "heartbeat"), json.dumps(
            {"v": 1, "type": "heartbeat", "device": "UNKNOWN-" + car.device, "id": "1", "ts": now.isoformat()}).encode()


def simulation_elevators(limit: int):
    """Up to ``limit`` in-use passenger lifts (:data:`codes.PASSENGER_LIFT_CATEGORIES`, never dumbwaiters or
    escalators) without a device, spread over the areas deterministically: round-robin over the areas
    (by area code), lowest elevator id first within each area. Returns a list of elevators."""
    from liftsafe.registry.models import Elevator

    from .codes import PASSENGER_LIFT_CATEGORIES

    base = Elevator.objects.filter(status=Elevator.Status.IN_USE, category__in=PASSENGER_LIFT_CATEGORIES,
                                   monitoring_devices__isnull=True)
    areas = list(base.order_by("area__code").values_list("area_id", flat=True).distinct())
    areas = list(dict.fromkeys(areas))
    if not areas or limit <= 0:
        return []
    per_area = -(-limit // len(areas))  # ceil: enough from each area for the round-robin
    pools = [list(base.filter(area_id=a).order_by("pk")[:per_area]) for a in areas]
    out = []
    for i in range(per_area):
        for pool in pools:
            if i < len(pool) and len(out) < limit:
                out.append(pool[i])
    return out


def devices_for_simulation(limit: int, *, bind: bool = True, prefix: str = "SIM-") -> list[tuple[str, str, int, float]]:
    """``(device_id, area_code, floors, rated_speed)`` for up to ``limit`` active devices on passenger lifts;
    with ``bind``, first binds ``<prefix><elevator id>`` to :func:`simulation_elevators` until there are
    ``limit``. Devices on other categories (dumbwaiters, escalators) are never simulated."""
    from .codes import PASSENGER_LIFT_CATEGORIES
    from .models import MonitoringDevice
    from .services import bind_device

    devices = (MonitoringDevice.objects.filter(active=True, elevator__category__in=PASSENGER_LIFT_CATEGORIES)
               .exclude(vendor="huawei-door-replay"))  # the demo's door sensor (demo_feed) is not a car
    if bind:  # simulated devices an earlier version bound to dumbwaiters / escalators: retire them (no offline alarms)
        (MonitoringDevice.objects.filter(active=True, vendor="simulator").exclude(elevator__category__in=PASSENGER_LIFT_CATEGORIES)
         .update(active=False, online=False))
    have = devices.count()
    if bind and have < limit:
        for e in simulation_elevators(limit - have):
            bind_device(e, f"{prefix}{e.pk}", vendor="simulator")
    rows = devices.select_related("elevator__area").order_by("pk")[:limit]
    return [(d.device_id, d.elevator.area.code, d.elevator.floors or 12, float(d.elevator.rated_speed_mps or 1.5)) for d in rows]
