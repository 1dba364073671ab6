"""Real-world file shapes read correctly, and an unreadable extract is refused with exit 2 and one
line naming the file (and column), leaving the database as it was."""

from __future__ import annotations

import gzip
import re
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from cramp_audit.transforms.base import ExtractError

from cramp_audit.cli import main
from tests.adapter_assertions import read_to_end
from tests.extract_builder import DEFAULT_PATIENT, write_extract


def _patients_file(folder: Path, content: bytes) -> None:
    write_extract(folder)
    (folder / "patients.csv").write_bytes(content)


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbfpatient_id,birth_date,sex\nP1,1950-01-01,F\n",          # UTF-8 BOM
    b"patient_id,birth_date,sex\r\nP1,1950-01-01,F\r\n",                   # CRLF
    b"PATIENT_ID,Birth_Date,SEX\nP1,1950-01-01,F\n",                       # upper-case headers
    b"patient_id,birth_date,sex,notes\nP1,1950-01-01,F,\"a, b\nc\"\n",     # quoted comma + newline, extra column
], ids=["bom", "crlf", "upper-case-headers", "quoted-fields"])
def test_file_shapes_read_the_same(tmp_path, content):
    _patients_file(tmp_path, content)
    patients = read_to_end(tmp_path, "canonical").tables["patients"]
    assert patients.select("patient_id", "birth_date", "sex").rows() == [("P1", "1950-01-01", "F")]
    assert patients["_source_row"].to_list() == [1]


def test_quoted_newline_does_not_shift_row_numbers(tmp_path):
    _patients_file(tmp_path, b'patient_id,birth_date,site_id\nP1,1950-01-01,"two\nlines"\nP2,1960-01-01,S\n')
    patients = read_to_end(tmp_path, "canonical").tables["patients"]
    assert patients.select("patient_id", "_source_row").rows() == [("P1", 1), ("P2", 2)]


def test_csv_gz_and_parquet(tmp_path):
    write_extract(tmp_path)
    with open(tmp_path / "patients.csv", "rb") as src, gzip.open(tmp_path / "patients.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    (tmp_path / "patients.csv").unlink()
    pl.read_csv(tmp_path / "diagnoses.csv", infer_schema=False).with_columns(
        pl.col("recorded_date").str.to_date()).write_parquet(tmp_path / "diagnoses.parquet")
    (tmp_path / "diagnoses.csv").unlink()
    extract = read_to_end(tmp_path, "canonical")
    assert extract.tables["patients"]["patient_id"].to_list() == [DEFAULT_PATIENT["patient_id"]]
    # A Parquet date column is taken as a date, not turned into text to be parsed back.
    assert extract.tables["diagnoses"]["recorded_date"].to_list() == [date(2025, 3, 1)]


def test_other_encoding_is_a_clear_error(tmp_path):
    _patients_file(tmp_path, "patient_id,birth_date,site_id\nP1,1950-01-01,Zürich\n".encode("latin-1"))
    with pytest.raises(ExtractError, match=r"patients.csv: line 2 is not valid UTF-8"):
        read_to_end(tmp_path, "canonical")


def _exit_and_stderr(capsys, argv: list[str]) -> tuple[int, list[str]]:
    status = main(argv)
    return status, capsys.readouterr().err.strip().splitlines()


def test_missing_required_file_exits_2_with_one_line(tmp_path, capsys):
    write_extract(tmp_path / "x")
    (tmp_path / "x" / "medications.csv").unlink()
    db = tmp_path / "cramp_audit.duckdb"
    status, lines = _exit_and_stderr(capsys, ["run", str(tmp_path / "x"), "--format", "canonical",
                                              "--db", str(db), "--no-prefect"])
    assert status == 2 and len(lines) == 1 and "medications.csv: required file missing" in lines[0]
    assert not db.exists()


def test_missing_required_column_exits_2_naming_file_and_column(tmp_path, capsys):
    write_extract(tmp_path / "x")
    (tmp_path / "x" / "diagnoses.csv").write_text("patient_id,code_system,code\nP1,ICD10CM,R252\n")
    status, lines = _exit_and_stderr(capsys, ["validate", str(tmp_path / "x"), "--format", "canonical"])
    assert status == 2 and len(lines) == 1
    assert "diagnoses.csv: required column 'recorded_date' missing" in lines[0]


def test_not_a_folder_exits_2(tmp_path, capsys):
    (tmp_path / "file.csv").write_text("a\n")
    status, lines = _exit_and_stderr(capsys, ["validate", str(tmp_path / "file.csv")])
    assert status == 2 and len(lines) == 1 and "not a folder" in lines[0]


def test_empty_file_exits_2(tmp_path, capsys):
    write_extract(tmp_path / "x")
    (tmp_path / "x" / "patients.csv").write_bytes(b"")
    status, lines = _exit_and_stderr(capsys, ["validate", str(tmp_path / "x"), "--format", "canonical"])
    assert status == 2 and len(lines) == 1 and "patients.csv: the file is empty" in lines[0]


def test_bad_usage_exits_2_with_one_line(capsys):
    status, lines = _exit_and_stderr(capsys, ["run", "--period-start", "yesterday"])
    assert status == 2 and len(lines) == 1 and "not a date" in lines[0]


def test_run_refuses_a_bad_extract_before_starting_prefect(tmp_path, capsys):
    write_extract(tmp_path / "x")
    (tmp_path / "x" / "patients.csv").write_text("patient_id,sex\nP1,F\n")
    db = tmp_path / "cramp_audit.duckdb"
    status, lines = _exit_and_stderr(capsys, ["run", str(tmp_path / "x"), "--db", str(db)])  # the Prefect path
    assert status == 2 and lines == [f"cramp-audit: error: {tmp_path / 'x' / 'patients.csv'}: required column "
                                     "'birth_date' missing"]
    assert not db.exists()


def test_a_configuration_with_an_unknown_key_exits_2_before_the_run(tmp_path, capsys):
    config = tmp_path / "site.toml"
    config.write_text("[cohort]\nfollowup = 90\n")
    db = tmp_path / "cramp_audit.duckdb"
    status, lines = _exit_and_stderr(capsys, ["run", "--config", str(config), "--db", str(db), "--no-prefect"])
    assert status == 2 and len(lines) == 1 and str(config) in lines[0] and "followup" in lines[0]
    assert not db.exists()


def test_validate_prints_reconciled_counts_and_writes_nothing(tmp_path, capsys, monkeypatch):
    sample = Path(__file__).resolve().parent.parent / "data_samples" / "sample"
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(sample)]) == 0
    out = capsys.readouterr().out.splitlines()
    expected = pl.read_csv(sample / "expected_quarantine.csv")
    rejected = expected.filter(pl.col("action") == "rejected").group_by("table").len()
    for table, n in rejected.iter_rows():
        line = next(line for line in out if line.startswith(table + " "))
        read, loaded, rejected_count = (int(x.replace(",", "")) for x in line.split()[1:4])
        assert rejected_count == n and read == loaded + n
    assert out[0] == "format: canonical" and out[-1].startswith("counts reconcile")
    assert list(tmp_path.iterdir()) == []


def test_validate_prints_every_reason_a_sample_row_would_be_quarantined_rejected_first(capsys):
    """outputs.md: `validate` prints what would be quarantined and why: every (action, field, reason) of
    each table with its row count, as many as expected_quarantine.csv lists for that table."""
    sample = Path(__file__).resolve().parent.parent / "data_samples" / "sample"
    assert main(["validate", str(sample)]) == 0
    printed: dict[tuple[str, str, str], int] = {}
    actions: dict[str, list[str]] = {}
    table = ""
    for line in capsys.readouterr().out.splitlines():
        if reason := re.fullmatch(r"\s+([\d,]+) × (rejected|repaired) (\w+): .+", line):
            rows, action, field = reason.groups()
            printed[(table, action, field)] = printed.get((table, action, field), 0) + int(rows.replace(",", ""))
            actions.setdefault(table, []).append(action)
        elif line and not line.startswith(" "):
            table = line.split()[0]
    expected = pl.read_csv(sample / "expected_quarantine.csv").group_by("table", "action", "field").len()
    assert printed == {(t, a, f): n for t, a, f, n in expected.iter_rows()}
    # rules-v2.md: an order's end date before its start is rejected (v1: repaired)
    assert actions["medications"] == ["rejected", "rejected", "rejected", "repaired", "repaired"]
    assert all(a == sorted(a) for a in actions.values())  # rejected before repaired in every table


def test_a_run_summary_keeps_the_first_reasons_of_the_list_validate_prints():
    from cramp_audit.load import check_extract
    from cramp_audit.validation_summary import RUN_SUMMARY_REASONS, summarise

    extract, validations = check_extract(Path(__file__).resolve().parent.parent / "data_samples" / "sample")
    every, short = summarise(extract, validations), summarise(extract, validations, RUN_SUMMARY_REASONS)
    assert [s.reasons for s in short] == [e.reasons[:RUN_SUMMARY_REASONS] for e in every]
    assert max(len(e.reasons) for e in every) > RUN_SUMMARY_REASONS  # the sample has more to cut


@pytest.mark.parametrize("medications", [[], [{"order_id": "O1", "patient_id": "P1", "code_system": "RXNORM",
                                              "code": "9071", "start_date": "02/03/2025"}]],
                         ids=["header-only", "every-row-rejected"])
def test_a_required_table_without_a_usable_row_stops_the_run(tmp_path, capsys, medications):
    """Audited, an extract without usable medication rows would 'succeed' with no quinine anywhere."""
    write_extract(tmp_path / "x", medications=medications)
    db = tmp_path / "cramp_audit.duckdb"
    status, lines = _exit_and_stderr(capsys, ["run", str(tmp_path / "x"), "--db", str(db), "--no-prefect"])
    errors = [line for line in lines if line.startswith("cramp-audit: error:")]
    assert status == 2 and errors == lines[-1:]  # the progress lines, then one error line
    assert errors[0].startswith(f"cramp-audit: error: medications: no usable rows ({len(medications)} read, "
                                f"{len(medications)} rejected)")
    assert not db.exists()  # as for any extract refused: the database is as it was
    assert main(["validate", str(tmp_path / "x")]) == 0
    assert ("medications: no usable rows — a run refuses an extract whose required table is empty"
            in capsys.readouterr().out.splitlines())
