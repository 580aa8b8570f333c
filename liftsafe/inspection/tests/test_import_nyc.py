"""NYC DOB inspection import through the mapping (liftsafe/inspection/mappings/nyc-dob.toml), from real rows of the
registry file in the repo: records, unknown disposition codes counted, no duplicate on re-import, validity derived."""
import csv
import datetime as dt
import gzip
from pathlib import Path

import pytest

from liftsafe.inspection.importer import import_records
from liftsafe.inspection.models import InspectionRecord, Validity
from liftsafe.registry.importer import run_import
from liftsafe.registry.models import Elevator

DATA = Path(__file__).resolve().parents[2] / "registry" / "data" / "nyc_dob_elevator_devices_2015.csv.gz"
TODAY = dt.date(2026, 12, 7)


@pytest.fixture
def sample(tmp_path):
    """Real rows: 3 NV, 3 DF, one of each other code found in the first rows of the file."""
    want, seen, out = {"NV": 3, "DF": 3}, {}, []
    with gzip.open(DATA, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        for row in reader:
            code = row["DV_LASTPER_INSP_DISP"]
            if not row["Borough"] or seen.get(code, 0) >= want.get(code, 1):
                continue
            seen[code] = seen.get(code, 0) + 1
            out.append(row)
            if len(out) >= 16:
                break
    path = tmp_path / "nyc_sample.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(out)
    return path, out


@pytest.mark.django_db
def test_import_real_rows(sample):
    path, rows = sample
    run_import(path, "nyc-dob")
    res = import_records(path, "nyc-dob", today=TODAY)
    mapped = [r for r in rows if r["DV_LASTPER_INSP_DISP"] in ("NV", "DF") and r["DV_LASTPER_INSP_DATE"]]
    assert res.created == len(mapped) == InspectionRecord.objects.count() == 6
    assert sum(res.unknown.values()) == len(rows) - 6 and "NV" not in res.unknown and "DF" not in res.unknown
    r = mapped[0]
    e = Elevator.objects.get(source="nyc-dob", source_id=r["DV_DEVICE_NUMBER"])
    rec = InspectionRecord.objects.get(elevator=e)
    on = dt.datetime.strptime(r["DV_LASTPER_INSP_DATE"], "%Y%m%d").date()
    assert rec.inspected_on == on and rec.conclusion == "pass" and rec.source_disposition == r["DV_LASTPER_INSP_DISP"]
    v = Validity.objects.get(elevator=e)
    # NYC annual policy (docs/domain §12): due 12 months after the last inspection; 2015 data → expired today
    assert v.policy == "nyc_annual" and v.next_due == on.replace(year=on.year + 1) and v.state == "expired"
    e.refresh_from_db()
    assert e.next_inspection_due == v.next_due and e.last_inspection_conclusion == "pass"
    if r["DV_APPROVAL_DATE"].isdigit() and len(r["DV_APPROVAL_DATE"]) == 8:
        assert e.supervision_pass_estimated and e.supervision_pass_date == dt.datetime.strptime(r["DV_APPROVAL_DATE"], "%Y%m%d").date()
    again = import_records(path, "nyc-dob", today=TODAY)
    assert again.created == 0 and again.existing == 6 and InspectionRecord.objects.count() == 6


@pytest.mark.django_db
def test_bad_mapping_refused(tmp_path):
    from django.core.exceptions import ValidationError

    bad = tmp_path / "bad.toml"
    bad.write_text('[source]\nname="x"\nelevator_source="x"\nkey="K"\n[record]\ndate_column="D"\ndate_formats=["%Y"]\n'
                   'disposition_column="C"\n[record.conclusions]\nOK = "fine"\n', "utf-8")
    with pytest.raises(ValidationError) as exc:
        import_records(bad, str(bad))
    assert "record.conclusions" in exc.value.message_dict
