"""An audit reads a canonical extract table by table in batches of rows (so memory is bounded by a
batch): batches of a few rows give exactly what one batch per table gives, and a bad line deep in a
file still leaves the database as it was."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from cramp_audit.data_samples.generate import SAMPLE_DIR
from cramp_audit.transforms import base
from cramp_audit.transforms.base import ExtractError

from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, run_audit

STAGING = ("patients", "encounters", "diagnoses", "medications", "labs", "procedures")
RUN_TABLES = {
    "quarantine": "table_name, source_file, source_row, action, field, check_name, reason, record",
    "data_quality": "table_name, check_name, rows_checked, rows_failed, passed",
    "table_counts": "table_name, source_table, rows_read, rows_loaded, rows_rejected, rows_repaired",
    "deviations": "rule_id, patient_id, event_date, explanation",
    "patient_rules": "rule_id, patient_id, status, reason",
}


def _audit(tmp_path: Path, name: str, source: Path = SAMPLE_DIR) -> AuditRequest:
    request = AuditRequest(source=str(source), db_path=str(tmp_path / name / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / name / "reports"), source_format="canonical")
    run_audit(request)
    return request


def _contents(db_path: str) -> dict[str, list[tuple]]:
    con = connect(db_path, read_only=True)
    try:
        found = {f"staging.{t}": con.execute(f"SELECT * FROM staging.{t} ORDER BY ALL").fetchall() for t in STAGING}
        for table, columns in RUN_TABLES.items():
            found[f"audit.{table}"] = con.execute(f"SELECT {columns} FROM audit.{table} ORDER BY ALL").fetchall()
        return found
    finally:
        con.close()


def test_batches_of_a_few_rows_load_and_judge_exactly_as_one_batch(tmp_path, monkeypatch):
    whole = _contents(_audit(tmp_path, "whole").db_path)
    # The sample's bad rows (a duplicate order id, unknown patients) sit in other batches than the
    # rows they collide with or refer to.
    monkeypatch.setattr(base, "BATCH_ROWS", 7)
    batched = _contents(_audit(tmp_path, "batched").db_path)
    assert whole["audit.quarantine"] and whole["audit.deviations"]
    for table, rows in whole.items():
        assert batched[table] == rows, table


def _with_bad_line_deep_in_labs(tmp_path: Path) -> Path:
    source = tmp_path / "extract"
    shutil.copytree(SAMPLE_DIR, source)
    labs = (source / "labs.csv").read_bytes().splitlines(keepends=True)
    labs.insert(len(labs) - 3, "P0000001,,LOINC,2823-3,Z\u00fcrich,2025-01-01,4.0,,mmol/L,,\n".encode("latin-1"))
    (source / "labs.csv").write_bytes(b"".join(labs))
    return source


def test_a_bad_line_deep_in_a_file_leaves_no_database_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "BATCH_ROWS", 50)
    source = _with_bad_line_deep_in_labs(tmp_path)
    request = AuditRequest(source=str(source), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"), source_format="canonical")
    with pytest.raises(ExtractError, match=r"labs.csv: line \d+ is not valid UTF-8"):
        run_audit(request)
    assert not Path(request.db_path).exists()


def test_a_bad_line_deep_in_a_file_leaves_an_existing_database_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "BATCH_ROWS", 50)
    request = _audit(tmp_path, "db")
    before = _contents(request.db_path)
    runs_before = _runs(request.db_path)
    bad = AuditRequest(source=str(_with_bad_line_deep_in_labs(tmp_path)), db_path=request.db_path,
                       reports_dir=request.reports_dir, source_format="canonical")
    with pytest.raises(ExtractError):
        run_audit(bad)
    assert _contents(request.db_path) == before and _runs(request.db_path) == runs_before


def _runs(db_path: str) -> list[tuple]:
    con = connect(db_path, read_only=True)
    try:
        return con.execute("SELECT run_id, status FROM audit.runs ORDER BY ALL").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("fmt, folder", [("synthea", "synthea_csv_v3_0_0"), ("omop", "omop_synthea27nj_5_4"),
                                         ("mimic", "mimic_iv_demo_2_2"), ("fhir", "fhir_r4_bulk_synthea_10pt")])
def test_an_adapter_read_in_small_batches_validates_exactly_as_in_one_batch(fmt, folder):
    """Every adapter hands its tables over a batch at a time, exactly as in one batch per table."""
    from cramp_audit.transforms.registry import open_extract

    from cramp_audit.load import validate_extract
    from tests.adapter_assertions import EXTERNAL

    whole = open_extract(EXTERNAL / folder, fmt)  # the default batch holds any of these files whole
    batched = open_extract(EXTERNAL / folder, fmt, batch_rows=500)
    assert batched.extract_date == whole.extract_date and batched.files == whole.files
    batches = {t: sum(1 for _ in whole.tables[t]()) for t in whole.tables}  # one per source file, here
    assert any(sum(1 for _ in batched.tables[t]()) > n for t, n in batches.items())  # some table really is batched
    extract_date = whole.extract_date or date(2026, 1, 1)
    validated = validate_extract(batched, extract_date)  # read a second time: skips must not count twice
    in_one = validate_extract(whole, extract_date)
    # The rows an adapter leaves out on purpose are counted in the same single pass as the rows.
    assert [s.__dict__ for s in batched.skipped] == [s.__dict__ for s in whole.skipped]
    for one, many in zip(in_one, validated, strict=True):
        assert one.table_name == many.table_name
        assert (one.rows_read, one.rows_loaded, one.rows_rejected, one.rows_repaired) == (
            many.rows_read, many.rows_loaded, many.rows_rejected, many.rows_repaired), one.table_name
        assert one.quarantine.equals(many.quarantine), one.table_name
        assert one.loaded.equals(many.loaded), one.table_name
