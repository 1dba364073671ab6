"""The audit finds exactly what the generator planted — no missed and no extra deviation, the
expected cohort, the expected quarantine — on the bundled sample and on a generated extract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, run_audit

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data_samples" / "sample"


def _generate(out: Path, fmt: str) -> Path:
    subprocess.run([sys.executable, "-m", "cramp_audit.data_samples.generate", "--patients", "3000", "--seed", "11",
                    "--format", fmt, "--out", str(out)], cwd=REPO, check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def generated_extract(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("generated") / "extract", "csv")


@pytest.fixture(scope="module")
def generated_parquet_extract(tmp_path_factory) -> Path:
    """The same patients as Parquet, dates and numbers in typed columns (read as they are, not as text)."""
    return _generate(tmp_path_factory.mktemp("generated-parquet") / "extract", "parquet")


def _audit(source: Path, tmp_path: Path) -> tuple[str, dict[str, pl.DataFrame]]:
    request = AuditRequest(source=str(source), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"))
    run_id = run_audit(request).run_id
    con = connect(request.db_path, read_only=True)
    try:
        found = {name: con.sql(query, params={"run_id": run_id}).pl() for name, query in {
            "deviations": "SELECT DISTINCT patient_id, rule_id FROM audit.deviations WHERE run_id = $run_id",
            "cohort": "SELECT patient_id, index_date FROM audit.cohort WHERE run_id = $run_id",
            "quarantine": "SELECT DISTINCT table_name, source_row, action FROM audit.quarantine WHERE run_id = $run_id",
            "counts": "SELECT * FROM audit.table_counts WHERE run_id = $run_id",
        }.items()}
    finally:
        con.close()
    return run_id, found


def _pairs(frame: pl.DataFrame, *columns: str) -> set[tuple]:
    return set(frame.select(columns).iter_rows())


@pytest.mark.parametrize("source", ["bundled", "generated", "generated-parquet"])
def test_audit_finds_exactly_the_planted_deviations(source, request, tmp_path):
    folder = SAMPLE if source == "bundled" else request.getfixturevalue(
        "generated_extract" if source == "generated" else "generated_parquet_extract")
    _, found = _audit(folder, tmp_path)

    planted = pl.read_csv(folder / "planted_deviations.csv", infer_schema=False)
    missed = _pairs(planted, "patient_id", "rule_id") - _pairs(found["deviations"], "patient_id", "rule_id")
    extra = _pairs(found["deviations"], "patient_id", "rule_id") - _pairs(planted, "patient_id", "rule_id")
    assert (sorted(missed), sorted(extra)) == ([], [])
    assert planted.height > 0

    cohort = pl.read_csv(folder / "expected_cohort.csv", try_parse_dates=True)
    assert _pairs(found["cohort"], "patient_id", "index_date") == _pairs(cohort, "patient_id", "index_date")

    expected_quarantine = pl.read_csv(folder / "expected_quarantine.csv")
    assert _pairs(found["quarantine"], "table_name", "source_row", "action") == _pairs(
        expected_quarantine.rename({"table": "table_name"}), "table_name", "source_row", "action")

    counts = found["counts"]
    assert counts.filter(pl.col("rows_read") != pl.col("rows_loaded") + pl.col("rows_rejected")
                         + pl.col("rows_skipped")).is_empty()
    assert set(counts["table_name"]) == {"patients", "encounters", "diagnoses", "medications", "labs", "procedures"}
