"""Malformed files are refused with ImportFileError before anything is written; the fast insert keeps history."""
from __future__ import annotations

import zipfile

import pytest
from django.utils import translation

from liftsafe.core.messages import encode
from liftsafe.registry.importer import ImportFileError, run_import
from liftsafe.registry.models import Elevator, ImportRun, LifecycleEvent

from .test_import_nyc import HEADER, nyc_csv


@pytest.fixture(autouse=True)
def english():
    """These tests match the English messages (the Chinese ones are tested in test_import_intake.py)."""
    with translation.override("en"):
        yield


def assert_nothing_written():
    assert not Elevator.objects.exists() and not ImportRun.objects.exists()


@pytest.mark.django_db
def test_wrong_encoding(tmp_path):
    f = nyc_csv(tmp_path / "a.csv", [{"DV_DEVICE_NUMBER": "1P1"}] * 1)
    f.write_bytes(f.read_bytes() + "1P2,A,ACTIVE,1,1,1,1,CAFÉ STREET\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match=r"not valid UTF-8 \(the declared encoding\).*line 3"):
        run_import(f, "nyc-dob")
    assert_nothing_written()


@pytest.mark.django_db
def test_missing_columns_are_named(tmp_path):
    f = tmp_path / "a.csv"
    cols = [c for c in HEADER if c not in ("Borough", "BIN")]
    f.write_text(",".join(cols) + "\n" + ",".join("1" for _ in cols) + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"missing required column\(s\): Borough, BIN"):
        run_import(f, "nyc-dob")
    assert_nothing_written()


@pytest.mark.django_db
def test_file_over_the_size_rule_is_refused_without_reading(tmp_path, settings):
    f = tmp_path / "huge.csv"
    with open(f, "wb") as fh:  # a sparse 2 GiB file: no disk used, never read
        fh.truncate(2 * 1024**3)
    with pytest.raises(ImportFileError, match=r"over the limit of 536870912 bytes \(rule import_max_file_bytes\)"):
        run_import(f, "nyc-dob")
    small = nyc_csv(tmp_path / "a.csv", [{"DV_DEVICE_NUMBER": "1P1"}])
    settings.LIFTSAFE_RULES = {"import_max_file_bytes": 100}
    with pytest.raises(ImportFileError, match="import_max_file_bytes"):
        run_import(small, "nyc-dob")
    assert_nothing_written()


@pytest.mark.django_db
def test_gzip_bomb_is_stopped_at_the_size_rule(tmp_path, settings):
    import gzip

    f = tmp_path / "bomb.csv.gz"
    with gzip.open(f, "wb") as gz:
        gz.write((",".join(HEADER) + "\n").encode())
        gz.write(b"1" * (5 * 1024 * 1024))
    settings.LIFTSAFE_RULES = {"import_max_file_bytes": 1024 * 1024}
    with pytest.raises(ImportFileError, match="uncompressed content exceeds"):
        run_import(f, "nyc-dob")
    assert_nothing_written()


def _xlsx_like(path, member_bytes: int):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * member_bytes)
    return path


@pytest.mark.django_db
def test_xlsx_bomb_refused_before_openpyxl(tmp_path, settings, monkeypatch):
    import openpyxl

    def boom(*a, **k):
        raise AssertionError("openpyxl must not open a bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", boom)
    f = _xlsx_like(tmp_path / "bomb.xlsx", 20 * 1024 * 1024)  # 20 MiB of zeros → ~1000:1
    with pytest.raises(ImportFileError, match="import_xlsx_max_ratio"):
        run_import(f, "cn-template")
    settings.LIFTSAFE_RULES = {"import_xlsx_max_uncompressed_bytes": 1024 * 1024, "import_xlsx_max_ratio": 100000}
    with pytest.raises(ImportFileError, match="import_xlsx_max_uncompressed_bytes"):
        run_import(f, "cn-template")
    assert_nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("name,content,message", [
    ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100, "not a CSV file"),
    ("sheet.xlsx", b"this is plain text, not a workbook", "not an XLSX file"),
    ("book.csv", b"PK\x03\x04" + b"\x00" * 100, "not a CSV"),
    ("data.pdf", b"%PDF-1.4", "unsupported file type"),
    ("empty.csv", b"", "empty file"),
])
def test_not_a_csv_or_xlsx(tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        run_import(f, "nyc-dob")
    assert_nothing_written()


@pytest.mark.django_db
def test_zip_that_is_not_a_workbook(tmp_path):
    f = tmp_path / "x.xlsx"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ImportFileError, match="not an XLSX workbook"):
        run_import(f, "cn-template")


@pytest.mark.django_db
def test_fast_insert_history_rows_match_the_saved_rows(tmp_path, django_user_model):
    """The importer's insert path writes the same "+" history rows as simple_history's bulk_create_with_history."""
    user = django_user_model.objects.create_user("importer-test", password="x")
    f = nyc_csv(tmp_path / "a.csv", [{"DV_DEVICE_NUMBER": "1P1"}, {"DV_DEVICE_NUMBER": "1P2", "Device Status": "D"}])
    run = run_import(f, "nyc-dob", user=user)
    for e in Elevator.objects.all():
        h = e.history.get()
        assert (h.history_type, h.history_user_id, h.history_change_reason) == ("+", user.pk, encode("registry.import_run", mapping="nyc-dob", run=run.pk))
        for field in Elevator.history.model._meta.concrete_fields:
            if field.attname.startswith("history_"):
                continue
            assert getattr(h, field.attname) == getattr(e, field.attname), field.attname
    ev = LifecycleEvent.objects.get(elevator__source_id="1P2", kind="scrapped")
    assert ev.history.get().history_type == "+" and ev.recorded_at is not None
    # a later ordinary save keeps working with the reserved ids (no collision)
    from liftsafe.registry.models import Elevator as E

    e = E.objects.create(source="test", source_id="X", area=e.area, jurisdiction="US-NY", category="3110")
    assert e.pk > max(E.objects.exclude(pk=e.pk).values_list("pk", flat=True))
