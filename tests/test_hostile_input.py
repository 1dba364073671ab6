"""Hostile and broken extracts: a refusal is one short line naming file, line and column that never
copies the file's text; an encoding problem is refused the same way in a header and in a data row,
for every CSV reader; something that is not a file is called what it is; an id with a control
character is quarantined, not taken as a new patient."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest
from cramp_audit.transforms.base import MAX_MESSAGE_CHARS, ExtractError
from cramp_audit.transforms.files import find_csv_problem, safe_reason
from cramp_audit.transforms.registry import open_extract

from cramp_audit.cli import main
from cramp_audit.db import connect
from tests.adapter_assertions import read_to_end
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract, write_table

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "ZZSECRET-Ann-Smith"  # stands for patient data: must never be in a message


def _run(capsys: pytest.CaptureFixture[str], tmp_path: Path, source: Path, fmt: str) -> tuple[int, list[str]]:
    db = tmp_path / "cramp.duckdb"
    status = main(["run", str(source), "--format", fmt, "--no-prefect", "--db", str(db),
                   "--reports", str(tmp_path / "reports")])
    lines = capsys.readouterr().err.splitlines()
    assert not db.exists()  # refused: the database was never created (or removed again)
    return status, [line for line in lines if line.startswith("cramp-audit: error:")]


def _read_all(source: Path, fmt: str) -> None:
    extract = open_extract(source, fmt, batch_rows=1000)
    for batches in extract.tables.values():
        for _ in batches():
            pass


# --- raw source text in errors --------------------------------------------------------------------


def test_an_unterminated_quoted_field_is_refused_without_copying_it(tmp_path, capsys):
    source = write_extract(tmp_path / "extract")
    field = SECRET + " " + "x" * 8_000_000  # polars' own message quoted all of it (50 MB gave 52 MB)
    (source / "patients.csv").write_text(
        "patient_id,birth_date,sex,site_id\nP1,1950-01-01,F,S1\n"
        f'P2,1950-01-01,"{field}\nP3,1950-01-01,F,S1\n')
    status, errors = _run(capsys, tmp_path, source, "canonical")
    assert status == 2 and len(errors) == 1
    [message] = errors
    assert message == ("cramp-audit: error: patients.csv: line 3, column 3, 'sex': a quoted value opens here "
                       "and is never closed (a \" without its closing \"); fix the quoting and export again")
    assert SECRET not in message and "xxxx" not in message


def test_an_unterminated_quote_in_an_adapter_file_names_that_file(tmp_path, capsys):
    source = tmp_path / "synthea"
    shutil.copytree(FIXTURES / "synthea", source)
    with (source / "conditions.csv").open("a") as conditions:
        conditions.write(f'2023-07-01,,p-1,e-1,http://snomed.info/sct,449917004,"{SECRET} never closed\n')
    with pytest.raises(ExtractError) as refused:
        read_to_end(source, "synthea")
    assert str(refused.value) == (f"{source / 'conditions.csv'}: line 5, column 7, 'DESCRIPTION': a quoted value "
                                  "opens here and is never closed (a \" without its closing \"); fix the quoting "
                                  "and export again")
    status, errors = _run(capsys, tmp_path, source, "synthea")
    assert status == 2 and len(errors) == 1 and SECRET not in errors[0]


@pytest.mark.parametrize("row, where", [
    (f'P2,19"50-01-01,{SECRET}', "line 3, column 2, 'birth_date': a quote inside a value that does not start with one"),
    (f'"P2"{SECRET},1950-01-01,F', "line 3, column 1, 'patient_id': text follows the closing quote of a quoted value"),
    (f"P2,1950-01-01,F,{SECRET}", "line 3: 4 values where the header has 3 columns"),
])
def test_a_malformed_row_is_refused_naming_line_and_column_only(tmp_path, row, where):
    source = write_extract(tmp_path / "extract")
    (source / "patients.csv").write_text(f"patient_id,birth_date,sex\nP1,1950-01-01,F\n{row}\n")
    with pytest.raises(ExtractError) as refused:
        _read_all(source, "canonical")
    assert str(refused.value) == f"patients.csv: {where}"


def test_well_formed_quoting_is_not_a_problem(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b'a,b,c\n"x, ""y""",2,"multi\nline, with comma"\r\n"",,"end"\n')
    assert find_csv_problem(path) is None
    assert pl.read_csv(path).height == 2  # and polars agrees


def test_a_reader_message_loses_what_it_quoted_and_is_capped():
    polars_like = ValueError(f'could not parse `"{SECRET}"x` as dtype `str` at column \'a\' (column number 1)\n\n'
                             f"The current offset ... {SECRET}")
    assert safe_reason(polars_like) == "could not parse … as dtype … at column"
    assert safe_reason(ValueError('Malformed JSON. Input: "{"id": "' + SECRET)) == "Malformed JSON. Input:"
    assert len(safe_reason(ValueError("y" * 100_000))) == 160
    # Whatever a refusal is built from, it is one line of bounded length.
    message = str(ExtractError("a.csv: " + "line\n" * 100_000))
    assert "\n" not in message and len(message) == MAX_MESSAGE_CHARS


# --- encodings --------------------------------------------------------------------------------------


LABS_HEADER = "patient_id,code_system,code,description,collected_date,value_numeric,unit\n"
LAB_ROW = "P1,LOINC,2823-3,Potassium,2025-03-05,3.1,mmol/L\n"


def test_a_latin1_byte_in_a_header_is_refused_like_one_in_a_data_row(tmp_path, capsys):
    """Before, a latin-1 byte in the header silently turned `description` into `descr�ption`, so the
    column was dropped as unknown (0 of 1,497 descriptions kept); one in a data row refused the extract."""
    header = tmp_path / "header"
    write_extract(header)
    (header / "labs.csv").write_bytes(LABS_HEADER.replace("description", "descripci\u00f3n").encode("latin-1")
                                      + LAB_ROW.encode())
    status, errors = _run(capsys, tmp_path, header, "canonical")
    assert (status, errors) == (2, ["cramp-audit: error: labs.csv: line 1 is not valid UTF-8 (column 4); "
                                    "re-export the file as UTF-8"])

    row = tmp_path / "row"
    write_extract(row)
    (row / "labs.csv").write_bytes((LABS_HEADER + LAB_ROW + LAB_ROW.replace("Potassium", "K\u00e4lium"))
                                   .encode("latin-1"))
    status, errors = _run(capsys, tmp_path, row, "canonical")
    assert (status, errors) == (2, ["cramp-audit: error: labs.csv: line 3 is not valid UTF-8 (column 4, "
                                    "'description'); re-export the file as UTF-8"])


@pytest.mark.parametrize("where", ["header", "row"])
def test_an_adapter_refuses_a_latin1_byte_instead_of_replacing_it(tmp_path, capsys, where):
    """Synthea (and OMOP, MIMIC: common.scan_csv) read lossily before: the byte became U+FFFD inside
    the patient id or code it was part of."""
    source = tmp_path / "synthea"
    shutil.copytree(FIXTURES / "synthea", source)
    lines = (source / "conditions.csv").read_text().splitlines(keepends=True)
    if where == "header":
        lines[0] = lines[0].replace("DESCRIPTION", "DESCRIPCI\u00d3N")
    else:
        lines[2] = lines[2].replace("p-2", "p-\u00e92")
    (source / "conditions.csv").write_bytes("".join(lines).encode("latin-1"))
    line, column = (1, "column 7") if where == "header" else (3, "column 3, 'PATIENT'")
    with pytest.raises(ExtractError) as refused:
        read_to_end(source, "synthea")
    assert str(refused.value) == (f"{source / 'conditions.csv'}: line {line} is not valid UTF-8 ({column}); "
                                  "re-export the file as UTF-8")
    status, errors = _run(capsys, tmp_path, source, "synthea")
    assert status == 2 and len(errors) == 1 and "conditions.csv: line" in errors[0]


def test_a_latin1_byte_in_a_gzipped_file_names_its_line(tmp_path):
    source = tmp_path / "synthea"
    shutil.copytree(FIXTURES / "synthea", source)
    with gzip.open(source / "medications.csv.gz", "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"Baclofen", b"Baclof\xe9n")
    with gzip.open(source / "medications.csv.gz", "wb") as handle:
        handle.write(b"".join(lines))
    with pytest.raises(ExtractError) as refused:
        read_to_end(source, "synthea")
    assert str(refused.value).endswith("medications.csv.gz: line 2 is not valid UTF-8 (column 7, 'DESCRIPTION'); "
                                       "re-export the file as UTF-8")


def test_fhir_ndjson_is_read_as_utf8_strictly_too(tmp_path):
    source = tmp_path / "fhir"
    shutil.copytree(FIXTURES / "fhir", source)
    path = source / "Condition.000.ndjson"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b"Condition", b"Conditi\xf3n", 1)
    path.write_bytes(b"".join(lines))
    with pytest.raises(ExtractError) as refused:
        _read_all(source, "fhir")
    assert str(refused.value) == f"{path}: line 1 is not valid UTF-8; re-export the file as UTF-8"


# --- not a file; control characters in ids -----------------------------------------------------------


def test_a_required_table_that_is_a_folder_is_called_a_folder(tmp_path, capsys):
    source = write_extract(tmp_path / "extract")
    (source / "medications.csv").unlink()
    (source / "medications.csv").mkdir()
    (source / "medications.csv" / "part-00000.csv").write_text("order_id\n")
    status, errors = _run(capsys, tmp_path, source, "canonical")
    assert errors == [f"cramp-audit: error: {source / 'medications.csv'}: is a folder, not a file "
                      "(each table is one file)"] and status == 2
    assert main(["validate", str(source)]) == 2  # detection says the same
    assert "is a folder, not a file" in capsys.readouterr().err


def test_a_link_to_nothing_is_called_a_broken_link(tmp_path):
    source = write_extract(tmp_path / "extract")
    (source / "labs.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(ExtractError, match="labs.csv: is a link to a file that does not exist"):
        read_to_end(source, "canonical")


def test_an_id_with_a_control_character_is_quarantined_not_a_new_patient(tmp_path, capsys):
    patients = [DEFAULT_PATIENT, {**DEFAULT_PATIENT, "patient_id": "P1\x00"},
                {**DEFAULT_PATIENT, "patient_id": "P\u200b2"},
                {**DEFAULT_PATIENT, "patient_id": "P3", "site_id": "S\t1"}]
    diagnoses = [{**DEFAULT_DIAGNOSIS, "patient_id": p["patient_id"]} for p in patients]
    source = write_extract(tmp_path / "extract", patients=patients, diagnoses=diagnoses,
                           medications=[DEFAULT_MEDICATION])
    write_table(source, "medications", [DEFAULT_MEDICATION, {**DEFAULT_MEDICATION, "order_id": "O\x002"}])
    db = tmp_path / "cramp.duckdb"
    assert main(["run", str(source), "--format", "canonical", "--no-prefect", "--db", str(db),
                 "--reports", str(tmp_path / "reports")]) == 0
    con = connect(db, read_only=True)
    try:
        cohort = con.sql("SELECT patient_id, site_id FROM audit.cohort ORDER BY patient_id").fetchall()
        quarantined = con.sql("SELECT table_name, source_row, action, field, reason FROM audit.quarantine "
                              "WHERE field IN ('patient_id', 'order_id', 'site_id') AND reason LIKE '%control%' "
                              "ORDER BY table_name, source_row, field").fetchall()
    finally:
        con.close()
    reason = "contains a control or invisible character (e.g. NUL, tab, zero-width space)"
    assert cohort == [("P1", "S1"), ("P3", None)]  # P3's site repaired (nulled), the two look-alike ids refused
    assert quarantined == [("diagnoses", 2, "rejected", "patient_id", reason),
                           ("diagnoses", 3, "rejected", "patient_id", reason),
                           ("medications", 2, "rejected", "order_id", reason),
                           ("patients", 2, "rejected", "patient_id", reason),
                           ("patients", 3, "rejected", "patient_id", reason),
                           ("patients", 4, "repaired", "site_id", reason)]
