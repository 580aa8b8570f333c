"""The nyc-dob mapping: decisions on the real file's dirt (small files) and the full real-file report (fixture)."""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from liftsafe.core.messages import encode
from liftsafe.core.models import Area
from liftsafe.registry.importer import report_rows, run_import
from liftsafe.registry.models import Building, Elevator, ImportRun, LifecycleEvent, Organisation

DATA = Path(__file__).resolve().parents[1] / "data" / "nyc_dob_elevator_devices_2015.csv.gz"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nyc_import_report.json"

HEADER = ["DV_DEVICE_NUMBER", "Device Status", "DV_DEVICE_STATUS_DESCRIPTION", "BIN", "TAX_BLOCK", "TAX_LOT", "HOUSE_NUMBER",
          "STREET_NAME", "ZIP_CODE", "Borough", "Device Type", "DV_LASTPER_INSP_DATE", "DV_LASTPER_INSP_DISP", "DV_APPROVAL_DATE",
          "DV_MANUFACTURER", "DV_TRAVEL_DISTANCE", "DV_SPEED_FPM", "DV_CAPACITY_LBS", "DV_CAR_BUFFER_TYPE", "DV_GOVERNOR_TYPE",
          "DV_MACHINE_TYPE", "DV_SAFETY_TYPE", "DV_MODE_OPERATION", "DV_STATUS_DATE", "DV_FLOOR_FROM", "DV_FLOOR_TO", "LATITUDE", "LONGITUDE"]
BASE = {"Device Status": "A", "DV_DEVICE_STATUS_DESCRIPTION": "ACTIVE", "BIN": "1008273", "TAX_BLOCK": "525", "TAX_LOT": "56",
        "HOUSE_NUMBER": "494", "STREET_NAME": "WEST BROADWAY", "ZIP_CODE": "10012", "Borough": "Manhattan",
        "Device Type": "Passenger Elevator (P)", "DV_LASTPER_INSP_DATE": "20150325", "DV_LASTPER_INSP_DISP": "NV",
        "DV_APPROVAL_DATE": "19960524", "DV_MANUFACTURER": "OTIS", "DV_TRAVEL_DISTANCE": "60'", "DV_SPEED_FPM": "100",
        "DV_CAPACITY_LBS": "2000.0", "DV_MACHINE_TYPE": "OG", "DV_STATUS_DATE": "20140113", "DV_FLOOR_FROM": "B",
        "DV_FLOOR_TO": "6", "LATITUDE": "40.727254549594306", "LONGITUDE": "-73.99984125121291"}


def nyc_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, HEADER, restval="")
        w.writeheader()
        for r in rows:
            w.writerow({**BASE, **r})
    return path


def issues(run: ImportRun) -> list[dict]:
    return report_rows(run.report_csv)


@pytest.mark.django_db
def test_dirt_decisions(tmp_path):
    f = nyc_csv(tmp_path / "nyc.csv", [
        {"DV_DEVICE_NUMBER": "1P1", "DV_SPEED_FPM": "95UP", "DV_APPROVAL_DATE": "********", "ZIP_CODE": "0", "DV_MANUFACTURER": "OTES"},
        {"DV_DEVICE_NUMBER": "1P2", "DV_SPEED_FPM": "VAR", "ZIP_CODE": "100210000", "DV_MANUFACTURER": "OTIS ELEV CO",
         "DV_TRAVEL_DISTANCE": "103'1", "DV_MACHINE_TYPE": "OH"},
        {"DV_DEVICE_NUMBER": "1P3", "DV_SPEED_FPM": "40'", "ZIP_CODE": "100211234", "DV_MANUFACTURER": "HOUSING AUTHORITY",
         "DV_TRAVEL_DISTANCE": "E", "Device Status": "D", "DV_STATUS_DATE": "20100301"},
        {"DV_DEVICE_NUMBER": "1P4", "ZIP_CODE": "99999", "DV_MANUFACTURER": "**", "DV_APPROVAL_DATE": "9O0719", "Device Status": "W"},
        {"DV_DEVICE_NUMBER": "1P5", "DV_MANUFACTURER": "729", "Device Status": "J", "DV_SPEED_FPM": "7000", "DV_CAPACITY_LBS": "4.863"},
        {"DV_DEVICE_NUMBER": "1P6", "Borough": ""},                                   # dummy record: rejected
        {"DV_DEVICE_NUMBER": "1X7", "Device Type": "Rocket (R)"},                   # unknown device type: rejected
        {"DV_DEVICE_NUMBER": "2F8", "Device Type": "Freight (F)", "Borough": "Bronx", "DV_MACHINE_TYPE": "OH", "Device Status": "H"},
        {"DV_DEVICE_NUMBER": "3E9", "Device Type": "Escalator (E)", "Borough": "Brooklyn", "DV_MACHINE_TYPE": ""},
        {"DV_DEVICE_NUMBER": "4D10", "Device Type": "Dumbwaiter (D)", "Borough": "Queens"},
        {"DV_DEVICE_NUMBER": "5H11", "Device Type": "Handicap Lift (H)", "Borough": "Staten Island", "DV_MACHINE_TYPE": "OH"},
        {"DV_DEVICE_NUMBER": "1S12", "Device Type": "Sidewalk (S)", "DV_MACHINE_TYPE": "BD"},
        {"DV_DEVICE_NUMBER": "1P1"},                                                  # repeated device number: rejected
    ])
    run = run_import(f, "nyc-dob")
    assert (run.rows_total, run.rows_created, run.rows_rejected) == (13, 10, 3)
    e = {x.source_id: x for x in Elevator.objects.filter(source="nyc-dob")}
    # speeds: "95UP"/"VAR"/"40'" dropped (not guessed); 100 fpm = 0.508 m/s; 7000 fpm implausible → dropped
    assert e["1P1"].rated_speed_mps is None and e["1P2"].rated_speed_mps is None and e["1P3"].rated_speed_mps is None
    assert e["1P4"].rated_speed_mps == Decimal("0.508") and e["1P5"].rated_speed_mps is None
    assert e["1P4"].rated_load_kg == Decimal("907.2") and e["1P5"].rated_load_kg is None  # 2000 lbs; "4.863" lbs dropped
    # "****" approval date = no date, row kept, not reported; "9O0719" dropped and reported
    assert e["1P1"].installation_date is None and e["1P4"].installation_date is None
    assert e["1P2"].installation_date == dt.date(1996, 5, 24)
    # ZIP: 0 / 99999 → empty; ZIP+4 with 0000 → 5 digits; real +4 kept
    assert (e["1P1"].postal_code, e["1P2"].postal_code, e["1P3"].postal_code, e["1P4"].postal_code) == ("", "10021", "10021-1234", "")
    # travel: 60' = 18.29 m, 103'1 = 31.42 m, "E" dropped
    assert e["1P1"].travel_height_m == Decimal("18.29") and e["1P2"].travel_height_m == Decimal("31.42")
    assert e["1P3"].travel_height_m is None
    # manufacturers: typos and suffixes folded; owners and number-only values → none, raw kept
    otis = Organisation.objects.get(kind="manufacturer", name="OTIS")
    assert e["1P1"].manufacturer_id == otis.pk and e["1P2"].manufacturer_id == otis.pk
    assert e["1P2"].manufacturer_name_raw == "OTIS ELEV CO"
    assert e["1P3"].manufacturer is None and e["1P3"].manufacturer_name_raw == "HOUSING AUTHORITY"
    assert e["1P4"].manufacturer is None and e["1P5"].manufacturer is None and e["1P5"].manufacturer_name_raw == "729"
    assert not Organisation.objects.filter(name__in=["HOUSING AUTHORITY", "729", "**"]).exists()
    # categories (docs/domain §1.1)
    cats = {k: v.category for k, v in e.items()}
    assert cats == {"1P1": "3110", "1P2": "3210", "1P3": "3110", "1P4": "3110", "1P5": "3110", "2F8": "3220",
                    "3E9": "3310", "4D10": "3430", "5H11": "3400", "1S12": "3120"}
    # status: D → scrapped (+ event), W → stopped, J and H → in use
    assert (e["1P3"].status, e["1P4"].status, e["1P5"].status, e["2F8"].status) == ("scrapped", "stopped", "in_use", "in_use")
    assert LifecycleEvent.objects.filter(elevator=e["1P3"], kind="scrapped", occurred_on=dt.date(2010, 3, 1)).exists()
    assert LifecycleEvent.objects.filter(elevator=e["1P2"], kind="registered", occurred_on=dt.date(1996, 5, 24)).exists()
    # areas, jurisdiction, urban, building, extra, raw disposition
    assert e["2F8"].area.code == "US-NY-NYC-BX" and e["1P1"].area.parent.code == "US-NY-NYC"
    assert e["1P1"].jurisdiction == "US-NY" and e["1P1"].urban
    assert e["1P1"].search_address == "494 WEST BROADWAY" and e["1P1"].building.source_key == "1008273"
    assert e["1P2"].extra["DV_SPEED_FPM"] == "VAR" and e["1P1"].last_inspection_disposition == "NV"
    # the report: row number, column and reason
    rep = issues(run)
    rejected = {(i["row"], i["column"], i["reason"]) for i in rep if i["action"] == "rejected"}
    assert rejected == {("7", "Borough", "required"), ("8", "Device Type+DV_MACHINE_TYPE", "unknown_value"),
                        ("14", "DV_DEVICE_NUMBER", "duplicate_key")}
    dropped = {(i["source_id"], i["column"], i["reason"]) for i in rep if i["action"] == "dropped"}
    assert ("1P1", "DV_SPEED_FPM", "not_integer") in dropped and ("1P5", "DV_SPEED_FPM", "out_of_range") in dropped
    assert ("1P4", "DV_APPROVAL_DATE", "not_date") in dropped and ("1P3", "DV_MANUFACTURER", "not_an_organisation") in dropped
    assert ("1P3", "DV_TRAVEL_DISTANCE", "not_length") in dropped
    assert not any(i["source_id"] == "1P1" and i["column"] == "DV_APPROVAL_DATE" for i in rep)  # "****" is a null, not an error


@pytest.mark.django_db
def test_rerun_is_a_no_op_and_changes_keep_history(tmp_path):
    f = nyc_csv(tmp_path / "a.csv", [{"DV_DEVICE_NUMBER": "1P1"}, {"DV_DEVICE_NUMBER": "1P2", "Device Status": "D"}])
    first = run_import(f, "nyc-dob")
    assert (first.rows_created, first.rows_updated) == (2, 0)
    hist = Elevator.history.count()
    counts = (Elevator.objects.count(), LifecycleEvent.objects.count(), Organisation.objects.count(), Area.objects.count(), Building.objects.count())
    again = run_import(f, "nyc-dob")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    assert Elevator.history.count() == hist
    assert counts == (Elevator.objects.count(), LifecycleEvent.objects.count(), Organisation.objects.count(), Area.objects.count(), Building.objects.count())
    # a changed row is updated with a history record naming the import
    g = nyc_csv(tmp_path / "b.csv", [{"DV_DEVICE_NUMBER": "1P1", "DV_SPEED_FPM": "200"}, {"DV_DEVICE_NUMBER": "1P2", "Device Status": "D"}])
    third = run_import(g, "nyc-dob")
    assert (third.rows_created, third.rows_updated, third.rows_unchanged) == (0, 1, 1)
    e = Elevator.objects.get(source_id="1P1")
    assert e.rated_speed_mps == Decimal("1.016")
    h = e.history.first()
    assert h.history_type == "~" and h.rated_speed_mps == Decimal("1.016") and h.history_change_reason == encode("registry.import_run", mapping="nyc-dob", run=third.pk)
    assert e.history.count() == 2


@pytest.mark.django_db
def test_dry_run_counts_and_writes_nothing(tmp_path):
    f = nyc_csv(tmp_path / "a.csv", [{"DV_DEVICE_NUMBER": "1P1"}, {"DV_DEVICE_NUMBER": "1P2", "Borough": ""}])
    run = run_import(f, "nyc-dob", dry_run=True)
    assert (run.rows_created, run.rows_rejected, run.pk) == (1, 1, None)
    assert not Elevator.objects.exists() and not ImportRun.objects.exists() and not Area.objects.exists()
    assert not Organisation.objects.exists() and not Elevator.history.exists()


@pytest.mark.django_db
def test_import_command_writes_report(tmp_path, capsys):
    f = nyc_csv(tmp_path / "a.csv", [{"DV_DEVICE_NUMBER": "1P1", "DV_SPEED_FPM": "95UP"}, {"DV_DEVICE_NUMBER": "1P2", "Borough": ""}])
    out = tmp_path / "rejected.csv"
    from django.utils import translation

    with translation.override("en"):
        call_command("import", str(f), mapping="nyc-dob", report=str(out), no_progress=True)
    text = capsys.readouterr().out
    assert "2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected" in text and str(out) in text
    rows = report_rows(out.read_text(encoding="utf-8-sig"))
    assert {(r["row"], r["column"], r["action"]) for r in rows} == {("2", "DV_SPEED_FPM", "dropped"), ("3", "Borough", "rejected")}


@pytest.mark.django_db
def test_full_nyc_file_report_matches_fixture():
    """The real 76,088-row file: exact counts and reason histograms (fixture), spot checks, idempotent re-run."""
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    run = run_import(DATA, "nyc-dob")
    got = {
        "rows_total": run.rows_total, "rows_created": run.rows_created, "rows_updated": run.rows_updated,
        "rows_unchanged": run.rows_unchanged, "rows_rejected": run.rows_rejected,
        **{k: run.summary[k] for k in ("rejected_reasons", "dropped_reasons", "areas_created", "buildings_created",
                                       "organisations_created", "events_created")},
    }
    assert got == expected
    assert run.rows_total == 76088 and run.rows_rejected == 27 and run.rows_created == 76061
    assert run.summary["rejected_reasons"] == {"Borough: required": 27}  # the 27 blank-borough dummy/test rows
    # spot checks of real rows
    e = Elevator.objects.get(source="nyc-dob", source_id="1D10000")
    assert e.manufacturer is None and e.status == "in_use" and e.address == "494 WEST BROADWAY"
    assert e.category == "3430" and e.area.code == "US-NY-NYC-MN" and e.postal_code == "10012"
    assert e.installation_date == dt.date(1996, 5, 24) and e.last_inspection_date == dt.date(2014, 3, 25)
    w = Elevator.objects.get(source_id="1D1")  # "521 EAST   68 STREET", ZIP 0, status W
    assert (w.address, w.postal_code, w.status) == ("521 EAST 68 STREET", "", "stopped")
    assert Elevator.objects.filter(status="scrapped").count() == 1506
    assert Elevator.objects.filter(area__code="US-NY-NYC-SI").count() == 1227
    assert not Elevator.objects.filter(source_id="1P12000").exists()  # a blank-borough dummy row
    assert Organisation.objects.get(kind="manufacturer", name="OTIS").manufactured_elevators.count() > 2500
    assert Elevator.history.count() == 76061
    # re-run: nothing changes, no new history
    again = run_import(DATA, "nyc-dob")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged, again.rows_rejected) == (0, 0, 76061, 27)
    assert Elevator.history.count() == 76061 and LifecycleEvent.objects.count() == run.summary["events_created"]


def test_data_copy_is_the_shared_original():
    """The compressed copy has all 76,088 data rows of the shared file."""
    with gzip.open(DATA, "rt", encoding="utf-8", newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 76089


MTA = Path(__file__).resolve().parents[1] / "data" / "nyc_mta_2023_opendata.csv.gz"


@pytest.mark.django_db
def test_mta_units_one_elevator_per_unit():
    run = run_import(MTA, "mta-units")
    assert (run.rows_total, run.rows_created, run.rows_rejected, run.summary["duplicates_merged"]) == (7548, 638, 0, 6910)
    qs = Elevator.objects.filter(source="nyc-mta")
    assert qs.count() == 638
    assert qs.filter(category="3110").count() == 359 and qs.filter(category="3310").count() == 279
    assert not qs.exclude(place_type=4).exists() and not qs.filter(crowded_place=False).exists()
    es = qs.get(source_id="ES436")
    assert es.area.code == "US-NY-NYC-QN" and es.building.name == "Sutphin Blvd-Archer Av-JFK Airport - Station"
    assert es.extra["Station MRN"] == "279" and es.jurisdiction == "US-NY"
    assert Area.objects.filter(code__startswith="US-NY").count() == 7
    again = run_import(MTA, "mta-units")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 638)
