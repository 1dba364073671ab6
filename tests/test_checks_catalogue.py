"""The check catalogue (schemas/checks.csv) is the one list of data-quality and quarantine checks: every
check name a run writes to audit.data_quality or audit.quarantine is in it (the bundled sample, the
four shared real extracts, the adapters' hostile fixtures and a hostile canonical extract), every row
of it is a check something runs, and a row check's action and reason are the catalogue's."""

from __future__ import annotations

import gzip
import io
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from cramp_audit.schemas.checks import LEVELS, REJECTED, REPAIRED, REPORTED, catalogue, catalogued
from cramp_audit.schemas.spec import OPTIONAL_TABLES, TABLES
from cramp_audit.schemas.validate import TableValidator, unusable_table_quality
from cramp_audit.transforms.registry import open_extract
from results_snapshot import SOURCES, snapshot_path

from cramp_audit.load import validate_extract
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract

EXTRACT_DATE = date(2026, 1, 1)
FIXTURES = Path(__file__).parent / "fixtures"
ADAPTER_FIXTURES = {"fhir": FIXTURES / "fhir", "mimic": FIXTURES / "mimic", "omop": FIXTURES / "omop",
                    "synthea": FIXTURES / "synthea"}


def _published_checks(name: str) -> set[tuple[str, str]]:
    """(table, check name) of every audit.quarantine and audit.data_quality row in a stored results
    snapshot (tests/test_results_snapshot.py proves a run publishes exactly those rows)."""
    text = gzip.decompress(snapshot_path(name).read_bytes()).decode("utf-8")
    parts = re.split(r"(?m)^## (\w+)\n", text)[1:]
    sections = dict(zip(parts[::2], parts[1::2], strict=True))
    pairs: set[tuple[str, str]] = set()
    for table in ("quarantine", "data_quality"):
        frame = pl.read_csv(io.StringIO(sections[table]), infer_schema=False)
        pairs |= set(frame.select("table_name", "check_name").iter_rows())
    return pairs


def _validated_checks(validations: list) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for v in validations:
        pairs |= set(v.quarantine.select("table_name", "check_name").iter_rows())
        pairs |= set(v.data_quality.select("table_name", "check_name").iter_rows())
    return pairs


def _hostile_canonical(folder: Path) -> Path:
    bad_patients = [{**DEFAULT_PATIENT, "patient_id": "P\u200b1"}, {**DEFAULT_PATIENT, "patient_id": "P2", "sex": "X"},
                    {**DEFAULT_PATIENT, "patient_id": "P3", "birth_date": "1950-02-30"}]
    bad_diagnoses = [{**DEFAULT_DIAGNOSIS, "code_system": "ICD11"}, {**DEFAULT_DIAGNOSIS, "patient_id": "NOBODY"}]
    bad_medications = [DEFAULT_MEDICATION, {**DEFAULT_MEDICATION, "dose_value": "NaN", "status": "maybe"},
                       {**DEFAULT_MEDICATION, "order_id": "O2", "dose_value": "-1", "dose_unit": "bananas"}]
    return write_extract(folder, patients=[DEFAULT_PATIENT, *bad_patients], diagnoses=bad_diagnoses,
                         medications=bad_medications, labs=[{"patient_id": "P1", "code_system": "LOINC",
                                                             "code": "19123-9", "collected_date": "someday"}])


def _validator_checks() -> set[tuple[str, str]]:
    """Every check name the validator can write: its row checks and whole-table checks per table."""
    pairs = {(t.name, n) for t in TABLES
             for n in TableValidator(t.name, EXTRACT_DATE).result().data_quality["check_name"]}
    return pairs | set(unusable_table_quality(dict.fromkeys(OPTIONAL_TABLES, 0))
                       .select("table_name", "check_name").iter_rows())


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_check_a_run_publishes_is_catalogued(name):
    published = _published_checks(name)
    assert published, f"{name}: the snapshot holds no check at all"
    assert published - set(catalogue()) == set()


@pytest.mark.parametrize("fmt", sorted(ADAPTER_FIXTURES))
def test_every_check_a_hostile_adapter_fixture_fails_is_catalogued(fmt):
    checks = _validated_checks(validate_extract(open_extract(ADAPTER_FIXTURES[fmt], fmt), EXTRACT_DATE))
    assert checks - set(catalogue()) == set()


def test_every_check_a_hostile_canonical_extract_fails_is_catalogued(tmp_path):
    validations = validate_extract(open_extract(_hostile_canonical(tmp_path / "x"), "canonical"), EXTRACT_DATE)
    failed = {(q["table_name"], q["check_name"]) for v in validations for q in v.quarantine.to_dicts()}
    assert {("patients", "patient_id:control_character"), ("patients", "sex:unknown_value"),
            ("patients", "birth_date:unparseable"), ("diagnoses", "code_system:unknown"),
            ("diagnoses", "patient_id:unknown_patient"), ("medications", "order_id:duplicate"),
            ("medications", "dose_value:not_positive"), ("medications", "dose_unit:unknown_unit"),
            ("labs", "collected_date:unparseable")} <= failed
    assert _validated_checks(validations) - set(catalogue()) == set()


def test_every_catalogued_check_is_one_something_runs():
    validator = _validator_checks()
    assert validator - set(catalogue()) == set()
    # The rest are written by the run's SQL (sql/derive_labs.sql ...), on every run: so a published one.
    published = set().union(*(_published_checks(n) for n in SOURCES))
    assert set(catalogue()) - validator - published == set(), "rows of schemas/checks.csv that nothing writes"
    assert ("labs", "magnesium_potassium_unit_known") in published - validator


def test_a_quarantine_row_carries_the_catalogue_action_and_reason(tmp_path):
    validations = validate_extract(open_extract(_hostile_canonical(tmp_path / "x"), "canonical"), EXTRACT_DATE)
    rows = [q for v in validations for q in v.quarantine.to_dicts()]
    for row in rows:
        entry = catalogued(row["table_name"], row["check_name"])
        assert (row["action"], row["field"]) == (entry.action, entry.field)
        reason = entry.reason.replace("{extract_date}", EXTRACT_DATE.isoformat())
        if "{allowed}" in reason:  # the list of allowed values is the code's (tokens, sexes, statuses)
            before, _, after = reason.partition("{allowed}")
            assert row["reason"].startswith(before) and row["reason"].endswith(after), row
        else:
            assert row["reason"] == reason


def test_catalogue_rows_are_complete_and_consistent():
    for (table, name), entry in catalogue().items():
        assert entry.level in LEVELS and entry.meaning and entry.reason, (table, name)
        assert entry.action in ((REJECTED, REPAIRED) if entry.level == "field" and not name.endswith(
            ":parses_in_some_row") else (REPORTED,)), (table, name)
        assert entry.field == "" or name.split(":")[0] == entry.field or entry.level == "concept", (table, name)
