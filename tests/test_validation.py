"""Every validation reason of extract-format.md ("What validation does with a bad row"), each with a
tiny extract that triggers exactly it: the quarantine row, the action, and that good rows load."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from cramp_audit.transforms.registry import open_extract

from cramp_audit.load import validate_extract
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract

EXTRACT_DATE = date(2026, 1, 1)
GOOD = {
    "patients": DEFAULT_PATIENT,
    "encounters": {"encounter_id": "E1", "patient_id": "P1", "start_date": "2025-03-01", "end_date": "2025-03-01"},
    "diagnoses": {**DEFAULT_DIAGNOSIS, "encounter_id": "E1"},
    "medications": DEFAULT_MEDICATION,
    "labs": {"patient_id": "P1", "code_system": "LOINC", "code": "19123-9", "collected_date": "2025-03-01",
             "value_numeric": "2.0", "unit": "mg/dL"},
    "procedures": {"patient_id": "P1", "code_system": "CPT", "code": "72148", "performed_date": "2025-03-05"},
}
KEYS = {"patients": "patient_id", "medications": "order_id", "encounters": "encounter_id"}

# (table, changes to a good row, field, check, action) — one row per reason in extract-format.md.
CASES = [
    ("patients", {"patient_id": ""}, "patient_id", "missing", "rejected"),
    ("patients", {"birth_date": "1950-13-01"}, "birth_date", "unparseable", "rejected"),
    ("patients", {"birth_date": "03/04/1950"}, "birth_date", "unparseable", "rejected"),
    ("patients", {"birth_date": "1899-12-31"}, "birth_date", "before_1900", "rejected"),
    ("patients", {"birth_date": "2026-01-02"}, "birth_date", "after_extract_date", "rejected"),
    ("patients", {"death_date": "1949-12-31"}, "death_date", "before_birth", "rejected"),
    ("patients", {"sex": "X"}, "sex", "unknown_value", "repaired"),
    ("patients", {"death_date": "someday"}, "death_date", "unparseable", "repaired"),
    ("encounters", {"end_date": "2025-02-28"}, "end_date", "before_start", "repaired"),
    ("encounters", {"patient_id": "NOBODY"}, "patient_id", "unknown_patient", "rejected"),
    ("diagnoses", {"code_system": "ICD11"}, "code_system", "unknown", "rejected"),
    ("diagnoses", {"patient_id": "NOBODY"}, "patient_id", "unknown_patient", "rejected"),
    ("diagnoses", {"encounter_id": "E404"}, "encounter_id", "unknown_encounter", "repaired"),
    ("diagnoses", {"recorded_date": ""}, "recorded_date", "missing", "rejected"),
    ("diagnoses", {"resolved_date": "2025-01-01"}, "resolved_date", "before_start", "repaired"),
    ("medications", {"dose_value": "-5"}, "dose_value", "not_positive", "repaired"),
    ("medications", {"dose_value": "0"}, "dose_value", "not_positive", "repaired"),
    ("medications", {"frequency_per_day": "0"}, "frequency_per_day", "not_positive", "repaired"),
    ("medications", {"dose_value": "four hundred"}, "dose_value", "not_a_number", "repaired"),
    ("medications", {"dose_unit": "bananas"}, "dose_unit", "unknown_unit", "repaired"),
    # rules-v2.md: "An end date before the start is rejected, not nulled" (orders only)
    ("medications", {"end_date": "2025-03-01"}, "end_date", "before_start", "rejected"),
    ("medications", {"start_date": "1800-01-01"}, "start_date", "before_1900", "rejected"),
    ("medications", {"code": ""}, "code", "missing", "rejected"),
    ("labs", {"value_numeric": "hemolysed"}, "value_numeric", "not_a_number", "repaired"),
    ("labs", {"value_numeric": "inf"}, "value_numeric", "not_finite", "repaired"),
    ("labs", {"unit": "furlongs"}, "unit", "unknown_unit", "repaired"),
    ("labs", {"ref_low": "low"}, "ref_low", "not_a_number", "repaired"),
    ("procedures", {"performed_date": "2026-06-01"}, "performed_date", "after_extract_date", "rejected"),
    ("procedures", {"code_system": "ICD10CM"}, "code_system", "unknown", "rejected"),
]


def _extract_with(tmp_path: Path, table: str, bad_row: dict) -> Path:
    tables = {name: [row] for name, row in GOOD.items()}
    tables[table] = [GOOD[table], bad_row]
    return write_extract(tmp_path / "extract", **tables)


def _validated(folder: Path) -> dict:
    return {v.table_name: v for v in validate_extract(open_extract(folder, "canonical"), EXTRACT_DATE)}


@pytest.mark.parametrize(("table", "changes", "field", "check", "action"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_each_bad_row_is_quarantined_with_its_reason(tmp_path, table, changes, field, check, action):
    bad_row = {**GOOD[table], **changes}
    if table in KEYS and KEYS[table] not in changes:
        bad_row[KEYS[table]] = bad_row[KEYS[table]] + "-2"  # a key of its own: only the intended check fails
    result = _validated(_extract_with(tmp_path, table, bad_row))[table]

    rows = result.quarantine.to_dicts()
    assert [(r["table_name"], r["source_row"], r["action"], r["field"], r["check_name"]) for r in rows] == [
        (table, 2, action, field, f"{field}:{check}")]
    assert rows[0]["source_file"] == f"{table}.csv"
    assert json.loads(rows[0]["record"])[field] == (bad_row[field] or None)
    assert result.rows_read == 2
    if action == "rejected":
        assert result.rows_loaded == 1 and result.rows_rejected == 1
    else:
        assert result.rows_loaded == 2 and result.rows_repaired == 1
        repaired = result.loaded.filter(result.loaded["_source_row"] == 2).to_dicts()[0]
        assert repaired[field] is None
        untouched = [c for c in GOOD[table] if c != field and c not in changes and c != KEYS.get(table)]
        assert all(repaired[c] is not None for c in untouched)
    assert result.loaded.filter(result.loaded["_source_row"] == 1).height == 1  # the good row loaded


def test_duplicate_key_keeps_the_first_row(tmp_path):
    second = {**DEFAULT_MEDICATION, "description": "second copy"}
    result = _validated(write_extract(tmp_path / "x", medications=[DEFAULT_MEDICATION, second]))["medications"]
    assert result.quarantine.select("source_row", "action", "check_name").rows() == [
        (2, "rejected", "order_id:duplicate")]
    assert result.loaded["description"].to_list() == [DEFAULT_MEDICATION["description"]]


def test_non_numeric_lab_value_is_kept_in_value_text(tmp_path):
    lab = {**GOOD["labs"], "value_numeric": "<0.5"}
    result = _validated(write_extract(tmp_path / "x", labs=[lab]))["labs"]
    row = result.loaded.to_dicts()[0]
    assert row["value_numeric"] is None and row["value_text"] == "<0.5"


def test_a_row_failing_twice_is_rejected_once_with_both_reasons(tmp_path):
    bad = {**DEFAULT_PATIENT, "patient_id": "P2", "birth_date": "", "sex": "Q"}
    result = _validated(write_extract(tmp_path / "x", patients=[DEFAULT_PATIENT, bad]))["patients"]
    # The row cannot be placed (no birth date); the repair of its sex is moot, so only the rejection shows.
    assert result.quarantine.select("action", "check_name").rows() == [("rejected", "birth_date:missing")]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)


def test_empty_patients_table_is_a_failed_data_quality_check_not_a_crash(tmp_path):
    result = _validated(write_extract(tmp_path / "x", patients=[], diagnoses=[], medications=[]))["patients"]
    check = result.data_quality.filter(result.data_quality["check_name"] == "table:not_empty").to_dicts()[0]
    assert check["passed"] is False and result.rows_read == 0


def test_column_of_the_wrong_type_throughout_is_a_data_quality_row(tmp_path):
    meds = [{**DEFAULT_MEDICATION, "order_id": f"O{i}", "dose_value": "one tablet"} for i in range(3)]
    result = _validated(write_extract(tmp_path / "x", medications=meds))["medications"]
    dq = {r["check_name"]: r for r in result.data_quality.to_dicts()}
    assert dq["dose_value:parses_in_some_row"]["passed"] is False
    assert dq["dose_value:not_a_number"]["rows_failed"] == 3
    assert result.rows_loaded == 3  # the orders are still good evidence


def test_codes_and_tokens_are_case_insensitive(tmp_path):
    dx = {**DEFAULT_DIAGNOSIS, "code_system": "icd10cm", "code": "r25.2"}
    result = _validated(write_extract(tmp_path / "x", diagnoses=[dx]))["diagnoses"]
    assert result.quarantine.is_empty() and result.loaded["code_system"].to_list() == ["ICD10CM"]


def test_parquet_typed_columns_are_checked_as_typed_values(tmp_path):
    """A Parquet file's Date / Float64 columns are validated as they are; other types go the text way."""
    import polars as pl

    folder = write_extract(tmp_path / "x")
    labs = pl.DataFrame({
        "patient_id": ["P1"] * 5, "code_system": ["LOINC"] * 5, "code": ["19123-9"] * 5,
        "collected_date": [date(2025, 3, 1), date(2025, 3, 2), date(1890, 1, 1), date(2026, 6, 1), None],
        "value_numeric": [0.6, float("inf"), 0.7, 0.8, 0.9],
        "ref_low": pl.Series([1, 1, 1, 1, 1], dtype=pl.Int64),  # not Float64: read as text, parsed as before
        "unit": ["mmol/L"] * 5})
    labs.write_parquet(folder / "labs.parquet")
    result = _validated(folder)["labs"]
    assert result.quarantine.select("source_row", "action", "check_name").sort("source_row").rows() == [
        (2, "repaired", "value_numeric:not_finite"),
        (3, "rejected", "collected_date:before_1900"),
        (4, "rejected", "collected_date:after_extract_date"),
        (5, "rejected", "collected_date:missing")]
    # The quarantine record shows each value as text, as for a CSV row (json would make inf a null).
    record = json.loads(result.quarantine.filter(result.quarantine["source_row"] == 2)["record"][0])
    assert (record["value_numeric"], record["collected_date"], record["ref_low"]) == ("inf", "2025-03-02", "1")
    loaded = result.loaded.sort("_source_row")
    assert loaded["collected_date"].to_list() == [date(2025, 3, 1), date(2025, 3, 2)]
    assert loaded["value_numeric"].to_list() == [0.6, None]
    assert loaded["value_text"].to_list() == [None, "inf"]  # the repaired value is still evidence
    assert loaded["ref_low"].to_list() == [1.0, 1.0]


def test_an_encounter_of_another_patient_is_quarantined_as_such(tmp_path):
    # extract-format.md: a row's encounter_id is an encounter of the same patient.
    second = {**DEFAULT_PATIENT, "patient_id": "P2"}
    their_encounter = {**GOOD["encounters"], "encounter_id": "E2", "patient_id": "P2"}
    borrowed = {**GOOD["diagnoses"], "encounter_id": "E2"}
    folder = write_extract(tmp_path / "x", patients=[GOOD["patients"], second],
                           encounters=[GOOD["encounters"], their_encounter],
                           diagnoses=[GOOD["diagnoses"], borrowed])
    result = _validated(folder)["diagnoses"]
    assert result.quarantine.select("source_row", "action", "check_name", "reason").rows() == [
        (2, "repaired", "encounter_id:other_patient", "encounter belongs to another patient")]
    assert result.loaded["encounter_id"].to_list() == ["E1", None]
