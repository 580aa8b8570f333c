"""Inbound: scheduled imports through the registry importer, once per file content, report kept."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from liftsafe.exchange import services, tasks
from liftsafe.exchange.models import ImportFile, ImportSchedule
from liftsafe.registry.models import Elevator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def import_dir(tmp_path, settings):
    """Schedules may only watch directories inside LIFTSAFE_IMPORT_DIR: here the test's own tmp directory."""
    settings.LIFTSAFE_IMPORT_DIR = str(tmp_path)
    return tmp_path
SAMPLE = Path(__file__).resolve().parents[2] / "registry" / "tests" / "fixtures" / "cn_template_sample.csv"


def test_schedule_imports_each_new_file_once_and_keeps_the_report(world, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    s = services.schedule_create(world.users["admin"], name="登记库", mapping="cn-template", drop_dir=str(drop), file_glob="*.csv")
    assert services.run_schedule(s) == []  # empty directory
    shutil.copy(SAMPLE, drop / "2026-11-01.csv")
    (drop / "notes.txt").write_text("not matched by the pattern")
    assert tasks.run_import_schedules() == 1  # the worker's job
    f = ImportFile.objects.get()
    assert f.status == "imported" and f.run is not None
    run = f.run
    assert (run.rows_total, run.rows_created, run.rows_rejected) == (8, 3, 5)  # good rows kept, bad rows reported
    from liftsafe.registry.importer import report_rows

    report = report_rows(run.report_csv)  # translated header; stable keys by position
    assert {r["source_id"] for r in report if r["action"] == "rejected"} == {
        "311010123201500004", "311010123201500005", "311010123201500006", "311010123201500007", "311010123201500008"}
    assert Elevator.objects.filter(source="cn-template").count() == 3
    s.refresh_from_db()
    assert s.last_file_sha == f.sha256 and s.last_checked_at is not None
    # the same content again (even renamed): skipped
    shutil.copy(SAMPLE, drop / "2026-11-02-copy.csv")
    assert services.run_schedule(s) == []
    # a changed file: imported (an update of one elevator)
    text = SAMPLE.read_text(encoding="utf-8").replace("测试数据 玄武区示例路1号", "测试数据 玄武区示例路1号（更正）")
    (drop / "2026-11-03.csv").write_text(text, encoding="utf-8")
    [f2] = services.run_schedule(s)
    assert f2.status == "imported" and (f2.run.rows_updated, f2.run.rows_unchanged, f2.run.rows_rejected) == (1, 2, 5)
    # a broken file: recorded as failed with the importer's error, tried once
    (drop / "2026-11-04.csv").write_text("注册代码,型号\n1,2\n", encoding="utf-8")
    [bad] = services.run_schedule(s)
    assert bad.status == "failed" and bad.run is None and "设备代码" in bad.error
    assert services.run_schedule(s) == []
    # the page shows the runs and the report
    c = Client()
    c.force_login(world.users["admin"])
    html = c.get(f"/exchange/imports/{s.pk}/").content.decode()
    assert "2026-11-01.csv" in html and "311010123201500008" in html and "2026-11-04.csv" in html
    api = c.get(f"/api/exchange/schedules/{s.pk}").json()
    assert [x["status"] for x in api["files"]] == ["failed", "imported", "imported"]
    assert api["files"][2]["run"]["rows_rejected"] == 5 and "311010123201500004" in api["files"][2]["run"]["report_csv"]


def test_schedule_validation_and_permission(world, tmp_path):
    admin = world.users["admin"]
    for bad, field in ((dict(mapping="nope"), "mapping"), (dict(drop_dir="relative/dir"), "drop_dir"),
                       (dict(drop_dir=str(tmp_path / "missing")), "drop_dir"), (dict(file_glob="../*.csv"), "file_glob"),
                       (dict(name=""), "name")):
        with pytest.raises(ValidationError) as exc:
            services.schedule_create(admin, **{"name": "s", "mapping": "nyc-dob", "drop_dir": str(tmp_path), **bad})
        assert field in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.schedule_create(world.users["regulator"], name="s", mapping="nyc-dob", drop_dir=str(tmp_path))
    c = Client()
    c.force_login(admin)
    r = c.post("/exchange/imports/new/", {"name": "dob", "mapping": "nyc-dob", "drop_dir": str(tmp_path), "file_glob": "*.csv.gz",
                                          "enabled": "on"})
    s = ImportSchedule.objects.get(name="dob")
    assert r.status_code == 302 and s.file_glob == "*.csv.gz"
    r = c.post(f"/exchange/imports/{s.pk}/run/")
    assert r.status_code == 302


def test_drop_root_and_files_still_being_written(world, tmp_path, settings):
    import os
    import time

    root, outside = tmp_path / "root", tmp_path / "elsewhere"
    (root / "drop").mkdir(parents=True)
    outside.mkdir()
    settings.LIFTSAFE_IMPORT_DIR = str(root)
    with pytest.raises(ValidationError) as e:
        services.schedule_create(world.users["admin"], name="out", mapping="cn-template", drop_dir=str(outside))
    assert "drop_dir" in e.value.message_dict
    with pytest.raises(ValidationError):  # ../ out of the root
        services.schedule_create(world.users["admin"], name="dots", mapping="cn-template", drop_dir=str(root / "drop" / ".." / ".."))
    s = services.schedule_create(world.users["admin"], name="in", mapping="cn-template", drop_dir=str(root / "drop"))
    settings.LIFTSAFE_RULES = {**settings.LIFTSAFE_RULES, "exchange_import_settle_s": 60}
    f = root / "drop" / "fresh.csv"
    shutil.copy(SAMPLE, f)
    assert services.run_schedule(s) == []  # modified just now: maybe still being written
    old = time.time() - 120
    os.utime(f, (old, old))
    assert [x.status for x in services.run_schedule(s)] == ["imported"]


@pytest.mark.parametrize("bad", ["/etc", "/etc/passwd", "../", "../..", "drop/../../..", "/", "link-out", "link-out/sub",
                                 "drop\x00", "x" * 2000])
def test_drop_dir_outside_the_import_dir_is_refused(world, tmp_path, settings, bad):
    """Regression (issue 18 item 14): a data officer pointed a schedule at /etc and listed *.conf."""
    root = tmp_path / "imports"
    (root / "drop").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "sub").mkdir()
    (root / "link-out").symlink_to(tmp_path / "secret")
    settings.LIFTSAFE_IMPORT_DIR = str(root)
    with pytest.raises(ValidationError) as e:
        services.schedule_create(world.users["admin"], name="x", mapping="cn-template", drop_dir=bad, file_glob="*.conf")
    assert "drop_dir" in e.value.message_dict
    c = Client()
    c.force_login(world.users["admin"])
    r = c.post("/exchange/imports/new/", {"name": "y", "mapping": "cn-template", "drop_dir": bad, "file_glob": "*.conf",
                                          "enabled": "on"})
    # the page shows the form again with the field's error; a NUL byte is refused earlier, by the input layer (400)
    assert r.status_code == (400 if "\x00" in bad else 200) and not ImportSchedule.objects.exists()


def test_relative_drop_dir_resolves_inside_and_a_swapped_symlink_is_not_run(world, tmp_path, settings):
    root = tmp_path / "imports"
    (root / "drop").mkdir(parents=True)
    settings.LIFTSAFE_IMPORT_DIR = str(root)
    s = services.schedule_create(world.users["admin"], name="rel", mapping="cn-template", drop_dir="drop")
    assert s.drop_dir == str((root / "drop").resolve())
    # the directory is replaced by a symlink leading out after the schedule was made: not read
    (tmp_path / "outside").mkdir()
    shutil.copy(SAMPLE, tmp_path / "outside" / "x.csv")
    (root / "drop").rmdir()
    (root / "drop").symlink_to(tmp_path / "outside")
    assert services.run_schedule(s) == [] and not ImportFile.objects.exists()
