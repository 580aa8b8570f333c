#!/usr/bin/env python
"""MQTT drain benchmark for liftsafe monitoring (issue 4).

Loads a persistent-session queue of ``--messages`` QoS 1 messages for
``--devices`` devices on a private Mosquitto (bench/mosquitto-bench.conf,
port 18107, unlimited queues), then times the drain by:

  (a) ``mosquitto_sub`` (the C client: the limit);
  (b) a bare paho + ``json.loads`` consumer (the Python floor);
  (c) one liftsafe worker (``Consumer`` + ``process_batch``: schema, ledger,
      flood cap, detection rules, device state, alarms, cases; PostgreSQL);
  (d) two liftsafe workers sharing the subscription ($share/liftsafe/...);

and prints the rates and ratios side by side, with the CPU per message of
the liftsafe workers, their PostgreSQL backends and the broker (µs; wall
rates swing with the machine's other load, CPU per message much less).
``--kill`` adds the
reliability run: a worker is killed with SIGKILL mid-drain and restarted
under the same session; alarms and cases are then counted against the
expected ones (zero lost, zero duplicated).

Usage (small first, then full scale):
    .venv/bin/python bench/bench_mqtt.py --devices 2000 --messages 4000 --kill
    .venv/bin/python bench/bench_mqtt.py --devices 100000 --messages 200000 --kill
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

PORT = 18107
URL = f"mqtt://127.0.0.1:{PORT}"
DB_NAME = "bench_monitoring"
DB_URL = common.database_url(common.DEFAULT_ADMIN_URL, DB_NAME)
TOPIC = "liftsafe/v1/+/+"
ALARM_CODES = ["90", "01", "41", "92", "02"]  # entrapment (→ case), safety circuit, power loss, over-travel, door fault


def setup_django():
    common.setup_django(DB_URL, data_dir="/tmp/monitoring-bench-var", log_level="ERROR")


# --------------------------------------------------------------------------- broker
def start_broker() -> subprocess.Popen:
    conf = HERE / "mosquitto-bench.conf"
    p = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit("bench mosquitto did not start")


def create_session(client_id: str, topic: str) -> None:
    """Create a persistent session (MQTT 5, 1 week expiry) subscribed at QoS 1, then leave."""
    from liftsafe.monitoring.mqtt import make_client

    c, _ = make_client(URL, client_id, persistent=True, session_expiry_s=7 * 24 * 3600)  # holds the loaded queue
    done = []
    c.on_subscribe = lambda *a: done.append(1)
    c.loop_start()
    c.subscribe(topic, qos=1)
    for _ in range(200):
        if done:
            break
        time.sleep(0.01)
    c.disconnect()
    c.loop_stop()


def drop_session(client_id: str) -> None:
    from liftsafe.monitoring.mqtt import make_client

    c, _ = make_client(URL, client_id, persistent=False)
    c.disconnect()


# --------------------------------------------------------------------------- data
def messages(n_dev: int, n_msg: int, alarm_every: int, seed: int = 4) -> tuple[list[tuple[str, bytes]], dict]:
    """Realistic traffic: status (55 %), heartbeat (35 %), stats (9 %), events every ``alarm_every``-th message
    (each event on its own device, so every one must produce exactly one alarm)."""
    import datetime as dt

    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    out, expected = [], {"alarms": 0, "entrapments": 0}
    seq = [0] * n_dev
    event_devs = iter(range(n_dev))
    for i in range(n_msg):
        d = i % n_dev
        if alarm_every and i % alarm_every == alarm_every - 1:
            d = next(event_devs, d)
            code = ALARM_CODES[(i // alarm_every) % len(ALARM_CODES)]
            typ, data = "event", {"code": code}
            expected["alarms"] += 1
            expected["entrapments"] += code == "90"
        else:
            r = rng.random()
            if r < 0.55:
                typ, data = "status", {"mode": 1, "running": rng.randint(0, 1), "dir": 0, "door_zone": 1, "floor": rng.randint(1, 20),
                                       "door": 1, "passenger": 2, "power": 1, "up_limit": 2, "down_limit": 2, "speed": 1.0}
            elif r < 0.90:
                typ, data = "heartbeat", {"rssi": -rng.randint(50, 90)}
            else:
                typ, data = "stats", {"run_count": rng.randint(0, 10**6), "run_hours": round(rng.random() * 1e4, 1)}
        seq[d] += 1
        dev = f"B{d:06d}"
        ts = (now + dt.timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
        body = {"v": 1, "type": typ, "device": dev, "id": str(seq[d]), "ts": ts, "data": data}
        out.append((f"liftsafe/v1/{dev}/{typ}", json.dumps(body, separators=(",", ":")).encode()))
    return out, expected


def publish(msgs: list[tuple[str, bytes]]) -> float:
    from liftsafe.monitoring.mqtt import make_client

    c, _ = make_client(URL, f"bench-pub-{os.getpid()}", persistent=False)
    c.loop_start()
    t = time.time()
    for i in range(0, len(msgs), 20_000):  # message ids are 16-bit: keep fewer than 65,535 outstanding
        infos = [c.publish(tp, p, qos=1) for tp, p in msgs[i:i + 20_000]]
        for info in infos:
            info.wait_for_publish(timeout=120)
    dt_ = time.time() - t
    c.disconnect()
    c.loop_stop()
    return dt_


def prepare_db(n_dev: int) -> None:
    common.create_database(common.DEFAULT_ADMIN_URL, DB_NAME, fresh=False)
    common.migrate()
    from liftsafe.core.models import Area
    from liftsafe.monitoring.models import MonitoringDevice
    from liftsafe.registry.models import Elevator

    have = MonitoringDevice.objects.filter(device_id__startswith="B").count()
    if have >= n_dev:
        return
    prov, _ = Area.objects.get_or_create(code="990000", defaults={"name": "Bench", "level": "province"})
    areas = [Area.objects.get_or_create(code=f"9901{i:02d}", defaults={"name": f"Bench {i}", "level": "district", "parent": prov})[0]
             for i in range(20)]
    existing = set(Elevator.objects.filter(source="bench").values_list("source_id", flat=True))
    new = [Elevator(source="bench", source_id=f"E{d:06d}", jurisdiction="990000", category="3110", area=areas[d % 20],
                    address=f"{d} Bench Road", status="in_use", rated_speed_mps=1.5)
           for d in range(n_dev) if f"E{d:06d}" not in existing]
    Elevator.objects.bulk_create(new, batch_size=5000)
    ids = dict(Elevator.objects.filter(source="bench").values_list("source_id", "pk"))
    have_dev = set(MonitoringDevice.objects.values_list("device_id", flat=True))
    MonitoringDevice.objects.bulk_create([MonitoringDevice(device_id=f"B{d:06d}", elevator_id=ids[f"E{d:06d}"], vendor="bench")
                                          for d in range(n_dev) if f"B{d:06d}" not in have_dev], batch_size=5000)


def reset_state() -> None:
    """Empty the ledger, alarms, incidents, dead letters and emergency cases; reset device state."""
    from django.apps import apps
    from django.db import connection

    tables = [m._meta.db_table for m in apps.get_app_config("monitoring").get_models()
              if m._meta.model_name not in ("monitoringdevice", "historicalmonitoringdevice", "dooranalyticsrun")]
    tables += [m._meta.db_table for m in apps.get_app_config("emergency").get_models()]
    tables += [m._meta.db_table for m in apps.get_app_config("core").get_models() if "notification" in m._meta.model_name]
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cur.execute("UPDATE monitoring_monitoringdevice SET online=false, last_seen=NULL, last_device_time=NULL, last_message_id='', "
                    "last_status='{}', last_stats='{}', state='{}', window_start=NULL, window_count=0, timer_due=NULL, messages_accepted=0")
        # autovacuum is off on these machines: without this, every run leaves 100,000+ dead device rows
        # behind and the planner works from the statistics of an empty table (a production database vacuums)
        cur.execute("VACUUM ANALYZE monitoring_monitoringdevice, monitoring_processedmessage, registry_elevator, monitoring_alarm")


def db_counts() -> dict:
    from django.db.models import Max, Sum

    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.monitoring.models import Alarm, DeadLetter, MonitoringDevice, ProcessedMessage

    return {"ledger": ProcessedMessage.objects.count(), "alarms": Alarm.objects.count(),
            "max_occurrences": Alarm.objects.aggregate(m=Max("occurrences"))["m"] or 0,
            "cases": EmergencyCase.objects.count(), "entrapment_alarms_with_case": Alarm.objects.filter(type="entrapment", case_id__isnull=False).count(),
            "dead_letters": DeadLetter.objects.count(),
            "accepted": MonitoringDevice.objects.aggregate(s=Sum("messages_accepted"))["s"] or 0}


# --------------------------------------------------------------------------- consumers
def run_mosquitto_sub(n: int) -> float:
    cid = "bench-sub-c"
    subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(PORT), "-V", "mqttv5", "-c", "-x", "604800", "-i", cid, "-q", "1",
                    "-t", TOPIC, "-E"], check=True)
    publish(MSGS)
    t = time.time()
    subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(PORT), "-V", "mqttv5", "-c", "-x", "604800", "-i", cid, "-q", "1",
                    "-t", TOPIC, "-C", str(n)], check=True, stdout=subprocess.DEVNULL)
    dt_ = time.time() - t
    drop_session(cid)
    return dt_


def run_bare_paho(n: int) -> float:
    import paho.mqtt.client as mqtt

    from liftsafe.monitoring.mqtt import make_client

    cid = "bench-paho"
    create_session(cid, TOPIC)
    publish(MSGS)
    got = [0]

    def on_message(client, userdata, msg):
        json.loads(msg.payload)
        got[0] += 1
        if got[0] >= n:
            client.disconnect()

    t = time.time()
    c, _ = make_client(URL, cid, persistent=True, receive_maximum=2000)
    c.on_message = on_message
    c.loop_forever()
    dt_ = time.time() - t
    drop_session(cid)
    assert got[0] >= n, got
    del mqtt
    return dt_


def proc_cpu_s(pid) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def worker_main(args) -> None:
    """Subprocess: one liftsafe worker; prints JSON {processed, started, last, cpu_s, pg_cpu_s} when idle.

    ``cpu_s``: the worker process's CPU seconds from connect to exit (start-up excluded); ``pg_cpu_s``: its PostgreSQL backend's
    (the connection is kept for the whole run so that one backend does all the work).
    ``--profile FILE``: cProfile of the processing thread.
    """
    setup_django()
    from django.db import connection

    from liftsafe.monitoring.mqtt import Consumer

    connection.settings_dict["CONN_MAX_AGE"] = None
    connection.ensure_connection()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
    import resource

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    pg0 = proc_cpu_s(backend)
    c = Consumer(URL, args.client_id, group="liftsafe", batch_size=args.batch, batch_wait_s=0.02)
    c.start()
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    names = {}

    def note_threads():  # native thread id → name, for the per-thread CPU split
        import threading

        names.update({t.native_id: t.name for t in threading.enumerate()})

    note_threads()
    main0 = time.thread_time()
    n = c.run(idle_exit_s=args.idle)
    main_cpu = time.thread_time() - main0
    threads = {}  # CPU of the threads still alive (processing = main, reader = mqtt); the rest is the helper's
    for tid, name in names.items():
        cpu_t = proc_cpu_s(f"{os.getpid()}/task/{tid}")
        if cpu_t:
            threads[name.split("-")[0] if not name.startswith("Main") else "main"] = round(cpu_t, 2)
    threads["main"] = round(main_cpu, 2)
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    pg_cpu = proc_cpu_s(backend) - pg0
    c.close()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru.ru_utime + ru.ru_stime) - (ru0.ru_utime + ru0.ru_stime)  # the drain, without Django's start-up
    print(json.dumps({"processed": n, "started": c.started_at, "last": c.last_batch_at,
                      "cpu_s": round(cpu, 2), "pg_cpu_s": round(pg_cpu, 2), "threads_cpu_s": threads}), flush=True)


def spawn_worker(cid: str, batch: int, idle: float = 3.0, profile: str = "") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "worker", "--client-id", cid, "--batch", str(batch), "--idle", str(idle)]
                            + (["--profile", profile] if profile else []),
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "LIFTSAFE_DATABASE_URL": DB_URL})


BROKER_PID = 0


def run_workers(n_workers: int, batch: int, profile: str = "") -> tuple[float, list[dict]]:
    """Drain the queue with ``n_workers`` workers; returns (seconds, per-worker reports + broker CPU)."""
    reset_state()
    cids = [f"bench-worker-{i}" for i in range(n_workers)]
    for cid in cids:
        create_session(cid, f"$share/liftsafe/{TOPIC}")
    publish(MSGS)
    broker0 = proc_cpu_s(BROKER_PID)
    procs = [spawn_worker(cid, batch, profile=f"{profile}.{i}" if profile else "") for i, cid in enumerate(cids)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    outs[0]["broker_cpu_s"] = round(proc_cpu_s(BROKER_PID) - broker0, 2)
    for cid in cids:
        drop_session(cid)
    t = max(o["last"] for o in outs if o["last"]) - min(o["started"] for o in outs)
    return t, outs


def cpu_line(n: int, outs: list[dict]) -> str:
    """CPU per message: worker processes, their PostgreSQL backends, the broker (µs)."""
    w = sum(o["cpu_s"] for o in outs) * 1e6 / n
    pg = sum(o.get("pg_cpu_s", 0) for o in outs) * 1e6 / n
    br = outs[0].get("broker_cpu_s", 0) * 1e6 / n
    return f"CPU/msg: worker {w:.0f} µs + PostgreSQL {pg:.0f} µs + broker {br:.0f} µs = {w + pg + br:.0f} µs"


def run_kill(batch: int, n: int) -> dict:
    """Reliability: one worker, SIGKILL after ~40 % of the queue, restart under the same session, drain."""
    from liftsafe.monitoring.models import ProcessedMessage

    reset_state()
    cid = "bench-kill"
    create_session(cid, f"$share/liftsafe/{TOPIC}")
    publish(MSGS)
    p = spawn_worker(cid, batch, idle=30)
    while ProcessedMessage.objects.count() < 0.4 * n:
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    at_kill = ProcessedMessage.objects.count()
    p2 = spawn_worker(cid, batch, idle=3)
    out = json.loads(p2.communicate()[0].strip().splitlines()[-1])
    drop_session(cid)
    return {"killed_after": at_kill, "restart_processed": out["processed"], **db_counts()}


MSGS: list = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("worker")
    w.add_argument("--client-id", required=True)
    w.add_argument("--batch", type=int, default=1000)
    w.add_argument("--idle", type=float, default=3.0)
    w.add_argument("--profile", default="")
    ap.add_argument("--devices", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--alarm-every", type=int, default=500, help="one event (→ one alarm) every N messages")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--only", default="abcd", help="which consumers to run (subset of abcd)")
    ap.add_argument("--kill", action="store_true", help="add the kill -9 reliability run")
    ap.add_argument("--profile", default="", help="cProfile each liftsafe worker of (c) into FILE.<i>")
    args = ap.parse_args()
    if args.cmd == "worker":
        return worker_main(args)

    setup_django()
    broker = start_broker()
    global BROKER_PID
    BROKER_PID = broker.pid
    try:
        t = time.time()
        prepare_db(args.devices)
        print(f"db ready: {args.devices} devices ({time.time() - t:.1f} s)", flush=True)
        global MSGS
        MSGS, expected = messages(args.devices, args.messages, args.alarm_every)
        print(f"{len(MSGS)} messages, {sum(len(p) for _, p in MSGS) / len(MSGS):.0f} B avg; expected alarms {expected}", flush=True)
        n = len(MSGS)
        res = {}
        load = os.getloadavg()
        if "a" in args.only:
            res["a"] = n / run_mosquitto_sub(n)
            print(f"(a) mosquitto_sub      {res['a']:>9,.0f} msg/s", flush=True)
        if "b" in args.only:
            res["b"] = n / run_bare_paho(n)
            print(f"(b) bare paho + json   {res['b']:>9,.0f} msg/s", flush=True)
        if "c" in args.only:
            t, outs = run_workers(1, args.batch, args.profile)
            res["c"] = n / t
            c_counts = db_counts()
            print(f"(c) 1 liftsafe worker  {res['c']:>9,.0f} msg/s  {outs}  {c_counts}  load {os.getloadavg()[0]:.1f}", flush=True)
            print(f"    {cpu_line(n, outs)}", flush=True)
        if "d" in args.only:
            t, outs = run_workers(2, args.batch)
            res["d"] = n / t
            print(f"(d) 2 liftsafe workers {res['d']:>9,.0f} msg/s  split {[o['processed'] for o in outs]}  {outs}  {db_counts()}  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
            print(f"    {cpu_line(n, outs)}", flush=True)
        print("\nrates and ratios (msg/s):")
        keys = [k for k in "abcd" if k in res]
        print("      " + "".join(f"{k:>10}" for k in keys))
        print("rate  " + "".join(f"{res[k]:>10,.0f}" for k in keys))
        for k in keys:
            print(f"{k}/x   " + "".join(f"{res[k] / res[j]:>10.2f}" for j in keys))
        if args.kill:
            r = run_kill(args.batch, n)
            ok = (r["ledger"] == n and r["accepted"] == n and r["alarms"] == expected["alarms"] and r["max_occurrences"] == 1
                  and r["cases"] == expected["entrapments"] and r["entrapment_alarms_with_case"] == expected["entrapments"])
            print(f"\nkill -9 run: {r}; expected alarms {expected['alarms']}, cases {expected['entrapments']} → {'OK' if ok else 'FAILED'}")
        print(f"load average at start {load}, now {os.getloadavg()}")
    finally:
        broker.terminate()
        broker.wait()


if __name__ == "__main__":
    main()
