"""OMOP CDM v5.4 adapter: the shared Eunomia sample (counts computed independently with DuckDB,
named rows, no identifiers) and a hand-made fixture with upper-case file and column names, a gzip
file, extra columns, missing optional tables, CONCEPT fallbacks and a computed daily dose."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.adapter_assertions import (
    EXTERNAL,
    assert_canonical_frames,
    assert_iso_dates,
    assert_no_identifiers,
    assert_reconciles,
    csv,
    pick,
    read_to_end,
    row,
    sql_count,
    sql_rows,
    table_sizes,
)

SAMPLE = EXTERNAL / "omop_synthea27nj_5_4"
FIXTURE = Path(__file__).parent / "fixtures" / "omop"
ROW_SOURCES = {"PERSON": "patients", "VISIT_OCCURRENCE": "encounters", "CONDITION_OCCURRENCE": "diagnoses",
               "DRUG_EXPOSURE": "medications", "MEASUREMENT": "labs", "PROCEDURE_OCCURRENCE": "procedures"}
# A measurement is a lab result unless it has no numeric value and its concept is not a lab test.
LAB_MEASUREMENTS = f"""
    SELECT count(*) FROM {csv(SAMPLE / 'MEASUREMENT.csv.gz')} m
    LEFT JOIN {csv(SAMPLE / 'CONCEPT.csv.gz')} c ON c.concept_id = m.measurement_concept_id
    WHERE m.value_as_number IS NOT NULL OR c.concept_class_id = 'Lab Test'"""


@pytest.fixture(scope="module")
def sample():
    return read_to_end(SAMPLE, "omop")


def count(table: str) -> int:
    return sql_count(f"SELECT count(*) FROM {csv(SAMPLE / (table + '.csv.gz'))}")


def test_sample_row_counts_match_the_source_files(sample):
    expected = {canonical: count(table) for table, canonical in ROW_SOURCES.items()}
    expected["labs"] = sql_count(LAB_MEASUREMENTS)
    assert table_sizes(sample) == expected
    assert expected == {"patients": 28, "encounters": 1791, "diagnoses": 470, "medications": 883, "labs": 9152,
                        "procedures": 1649}


def test_sample_every_source_row_is_emitted_or_counted_as_skipped(sample):
    assert_canonical_frames(sample)
    assert_reconciles(sample, {f"{table}.csv.gz": count(table) for table in ROW_SOURCES})
    assert [(s.source_table, s.rows, s.reason) for s in sample.skipped] == [
        ("MEASUREMENT.csv.gz", count("MEASUREMENT") - sql_count(LAB_MEASUREMENTS),
         "OMOP measurement without a numeric value and not a lab")]


def test_sample_carries_no_direct_identifier(sample):
    # PROVIDER holds names; PERSON's source value is the upstream record id. Neither is mapped.
    names = {n for (n,) in sql_rows(f"SELECT provider_name FROM {csv(SAMPLE / 'PROVIDER.csv.gz')}")}
    source_ids = {v for (v,) in sql_rows(f"SELECT person_source_value FROM {csv(SAMPLE / 'PERSON.csv.gz')}")}
    assert_no_identifiers(sample, names | source_ids)


def test_sample_dates_and_extract_date(sample):
    assert_iso_dates(sample)
    assert sample.extract_date == date(2022, 10, 10)  # CDM_SOURCE.source_release_date


def test_sample_named_rows(sample):
    assert pick(row(sample, "diagnoses", "CONDITION_OCCURRENCE.csv.gz", 1), "patient_id", "encounter_id",
                "code_system", "code", "description", "recorded_date", "resolved_date") == {
        "patient_id": "1", "encounter_id": "1", "code_system": "SNOMED", "code": "65363002",
        "description": "Otitis media", "recorded_date": "2002-10-15", "resolved_date": "2003-03-20"}
    # Eunomia has quantity 0 and no DRUG_STRENGTH: the strength comes from the RxNorm name, frequency unknown.
    furosemide = row(sample, "medications", "DRUG_EXPOSURE.csv.gz", 401)
    assert pick(furosemide, "order_id", "patient_id", "code_system", "code", "dose_value", "dose_unit",
                "frequency_per_day", "route") == {
        "order_id": "401", "patient_id": "11", "code_system": "RXNORM", "code": "313988", "dose_value": "40",
        "dose_unit": "mg", "frequency_per_day": None, "route": "oral"}
    magnesium = row(sample, "labs", "MEASUREMENT.csv.gz", 3682)
    assert pick(magnesium, "patient_id", "code_system", "code", "value_numeric", "unit") == {
        "patient_id": "11", "code_system": "LOINC", "code": "19123-9", "value_numeric": "1.9", "unit": "mg/dL"}
    assert pick(row(sample, "encounters", "VISIT_OCCURRENCE.csv.gz", 1), "encounter_id", "patient_id",
                "start_date", "encounter_class", "provider_id") == {
        "encounter_id": "21", "patient_id": "1", "start_date": "2000-12-27", "encounter_class": "ambulatory",
        "provider_id": "10"}
    deaths = sample.tables["patients"].filter(sample.tables["patients"]["death_date"].is_not_null())
    assert sorted(deaths.select("patient_id", "death_date").rows()) == sorted(
        sql_rows(f"SELECT person_id, death_date FROM {csv(SAMPLE / 'DEATH.csv.gz')}"))


# ------------------------------------------------------------------------------------- fixture

@pytest.fixture(scope="module")
def fixture():
    return read_to_end(FIXTURE, "omop")


def test_fixture_upper_case_names_gzip_and_missing_optional_tables(fixture):
    assert_canonical_frames(fixture)
    # No VISIT_OCCURRENCE or PROCEDURE_OCCURRENCE: those tables are absent.
    assert table_sizes(fixture) == {"patients": 2, "diagnoses": 3, "medications": 2, "labs": 2}
    assert_reconciles(fixture, {"PERSON.csv": 2, "condition_occurrence.csv.gz": 3, "DRUG_EXPOSURE.csv": 2,
                                "MEASUREMENT.csv": 3, "DEATH.csv": 1})
    assert fixture.extract_date == date(2024, 3, 31)


def test_fixture_person_birth_death_and_site(fixture):
    assert fixture.tables["patients"].select("patient_id", "birth_date", "sex", "death_date", "site_id").rows() == [
        ("1", "1950-03-01", "M", None, "site-a"),   # no day of birth: the 1st
        ("2", "1962-11-05", "F", "2024-01-02", None),
    ]
    assert [(s.source_table, s.rows, s.reason) for s in fixture.skipped if s.table_name == "patients"] == [
        ("DEATH.csv", 1, "OMOP death record of a person not in PERSON")]


def test_fixture_codes_standard_concept_first_then_source_value_as_local(fixture):
    assert fixture.tables["diagnoses"].select("code_system", "code", "description").rows() == [
        ("SNOMED", "449917004", "Cramp in lower limb"),          # standard concept beats the ICD10CM source concept
        ("LOCAL", "CRAMPX", "CRAMPX"),                           # concept 0: the source value
        ("LOCAL", "V1", "Unmapped local finding"),               # vocabulary not accepted: named by its concept
    ]


def test_fixture_daily_dose_only_when_quantity_days_supply_and_strength_are_known(fixture):
    baclofen, magnesium = fixture.tables["medications"].select(
        "order_id", "dose_value", "dose_unit", "frequency_per_day", "route", "prescriber_id").rows()
    assert baclofen == ("100", "30", "mg", "1", "oral", "77")    # 90 tablets x 10 mg / 30 days
    assert magnesium == ("101", "400", "mg", None, "oral", None)  # strength from the name only


def test_fixture_measurements(fixture):
    labs = fixture.tables["labs"].select("code", "value_numeric", "value_text", "unit", "ref_low", "ref_high")
    assert labs.rows() == [
        ("19123-9", "1.6", None, "mg/dL", "1.7", "2.3"),
        ("5767-9", None, "Cloudy", None, None, None),             # a lab test without a number is kept
    ]
    assert [(s.rows, s.reason) for s in fixture.skipped if s.table_name == "labs"] == [
        (1, "OMOP measurement without a numeric value and not a lab")]
