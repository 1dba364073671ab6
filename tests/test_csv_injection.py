"""CSV formula injection (OWASP): no cell of a report CSV starts as a formula a spreadsheet would run.

Ids, descriptions and the explanations built from them come from the extract; a cell starting
with "=", "+", "-", "@", a tab or a carriage return is written with an apostrophe in front, and
numbers stay numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from cramp_audit.cli import main
from cramp_audit.reports import defuse_formulas
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_PATIENT = "+cmd|' /C calc'!A0"
HOSTILE_SITE = "=1+1"
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "-2+3+cmd|' /C calc'!A0"
CSV_FILES = ("rule_summary.csv", "rule_by_stratum.csv", "rule_by_site.csv", "cohort_attrition.csv",
             "worklist_internal.csv", "data_quality.csv")


def read_cells(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run (no Prefect) of an extract whose ids, site and drug descriptions are formulas."""
    root = tmp_path_factory.mktemp("injection")
    patients = [{**DEFAULT_PATIENT, "patient_id": HOSTILE_PATIENT, "site_id": HOSTILE_SITE},
                {**DEFAULT_PATIENT, "patient_id": "@P2", "site_id": HOSTILE_SITE},
                {**DEFAULT_PATIENT, "patient_id": "P3", "site_id": HOSTILE_SITE}]
    diagnoses = [{**DEFAULT_DIAGNOSIS, "patient_id": p["patient_id"]} for p in patients]
    quinine = {**DEFAULT_MEDICATION, "code": "9071", "dose_value": "", "dose_unit": ""}
    medications = [{**quinine, "order_id": "O1", "patient_id": HOSTILE_PATIENT, "description": HYPERLINK},
                   {**quinine, "order_id": "O2", "patient_id": "@P2", "description": DDE},
                   {**quinine, "order_id": "O3", "patient_id": "P3", "description": "quinine 300 mg"}]
    source = write_extract(root / "extract", patients=patients, diagnoses=diagnoses, medications=medications)
    status = main(["run", str(source), "--format", "canonical", "--no-prefect",
                   "--db", str(root / "cramp.duckdb"), "--reports", str(root / "reports")])
    assert status == 0
    [run_dir] = {path.parent for path in (root / "reports").glob("*/worklist_internal.csv")}
    return run_dir


def test_no_cell_of_any_report_csv_starts_as_a_formula(reports: Path) -> None:
    for name in CSV_FILES:
        rows = read_cells(reports / name)
        assert rows, name
        for row in rows:
            for column, cell in row.items():
                assert not cell.startswith(FORMULA_STARTS), f"{name}: {column} = {cell!r}"


def test_hostile_values_are_kept_behind_an_apostrophe(reports: Path) -> None:
    worklist = read_cells(reports / "worklist_internal.csv")
    by_patient = {row["patient_id"]: row for row in worklist if row["rule_id"] == "LC-QUININE"}
    assert set(by_patient) == {"'" + HOSTILE_PATIENT, "'@P2", "P3"}
    # The explanation starts with the order's description; only the first character makes it a formula.
    assert by_patient["'" + HOSTILE_PATIENT]["explanation"].startswith("'" + HYPERLINK)
    assert by_patient["'@P2"]["explanation"].startswith("'" + DDE)
    assert by_patient["P3"]["explanation"].startswith("Quinine 300 mg")  # untouched

    by_site = read_cells(reports / "rule_by_site.csv")
    assert len(by_site) == 14 and {row["site_id"] for row in by_site} == {"'" + HOSTILE_SITE}


def test_numbers_stay_numbers(reports: Path) -> None:
    quinine = [row for row in read_cells(reports / "rule_by_site.csv") if row["rule_id"] == "LC-QUININE"]
    assert [(row["denominator"], row["deviations"]) for row in quinine] == [("<11", "<11")]
    counts = [row for row in read_cells(reports / "data_quality.csv") if row["table_name"] == "patients"]
    assert counts[0]["rows_read"] == "3"

    frame = pl.DataFrame({"text": ["-5", "=1", "\tx", "\rx", "a=b", None], "count": [-3, 1, 2, 3, 4, 5],
                          "rate": [-0.5, 0.1, 0.2, 0.3, 0.4, None]})
    defused = defuse_formulas(frame)
    assert defused["text"].to_list() == ["'-5", "'=1", "'\tx", "'\rx", "a=b", None]
    assert defused["count"].to_list() == [-3, 1, 2, 3, 4, 5] and defused["rate"].dtype == pl.Float64
