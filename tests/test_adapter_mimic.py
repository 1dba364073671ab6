"""MIMIC-IV adapter: the shared demo (counts and the date mapping computed independently with
DuckDB, real years, intervals kept, named rows) and a hand-made fixture with a gzip file, a missing
optional table, NDC 0, an unmapped lab item and radiology order entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from cramp_audit.transforms.base import ExtractError

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

SAMPLE = EXTERNAL / "mimic_iv_demo_2_2"
FIXTURE = Path(__file__).parent / "fixtures" / "mimic"
ROW_SOURCES = {"patients": "patients", "admissions": "encounters", "diagnoses_icd": "diagnoses",
               "prescriptions": "medications", "labevents": "labs"}
RADIOLOGY = "order_type = 'Radiology' AND transaction_type = 'New'"
# MIMIC's documented anchor: shifted anchor_year lies in the real anchor_year_group; the mapping
# moves every date of a patient by the days from Jan 1 of anchor_year to Jan 1 of the group's middle year.
SHIFT = f"""shift AS (SELECT subject_id, (make_date((left(anchor_year_group, 4)::int
                                                + right(anchor_year_group, 4)::int) // 2, 1, 1)
                                    - make_date(anchor_year::int, 1, 1))::int AS days
            FROM {csv(SAMPLE / 'hosp/patients.csv.gz')})"""


def hosp(table: str) -> str:
    return csv(SAMPLE / "hosp" / f"{table}.csv.gz")


def count(table: str, where: str = "true") -> int:
    return sql_count(f"SELECT count(*) FROM {hosp(table)} WHERE {where}")


def mapped(table: str, key: str, column: str, where: str = "true") -> dict[str, str]:
    """key -> the column's date moved into real time, computed in SQL."""
    return dict(sql_rows(f"""WITH {SHIFT}
        SELECT t.{key}, strftime(t.{column}::timestamp::date + s.days, '%Y-%m-%d')
        FROM {hosp(table)} t JOIN shift s USING (subject_id) WHERE {where}"""))


@pytest.fixture(scope="module")
def sample():
    return read_to_end(SAMPLE, "mimic")


def test_sample_row_counts_match_the_source_files(sample):
    expected = {canonical: count(table) for table, canonical in ROW_SOURCES.items()}
    expected["procedures"] = count("procedures_icd") + count("poe", RADIOLOGY)
    assert table_sizes(sample) == expected
    assert expected == {"patients": 100, "encounters": 275, "diagnoses": 4506, "medications": 18087,
                        "labs": 107727, "procedures": 722 + 1562}


def test_sample_every_source_row_is_emitted_or_counted_as_skipped(sample):
    assert_canonical_frames(sample)
    read = {f"hosp/{table}.csv.gz": count(table) for table in (*ROW_SOURCES, "procedures_icd", "poe")}
    assert_reconciles(sample, read)
    assert {s.reason: s.rows for s in sample.skipped} == {
        "MIMIC provider order that is not a radiology order": count("poe", "order_type <> 'Radiology'"),
        "MIMIC radiology order entry that changes or discontinues an earlier order":
            count("poe", "order_type = 'Radiology' AND transaction_type <> 'New'"),
    }


def test_sample_codes_by_version_and_mapping(sample):
    by_system = {t: dict(sample.tables[t].group_by("code_system").len().iter_rows())
                 for t in ("diagnoses", "medications", "labs", "procedures")}
    mapped_items = (f'SELECT "itemid (omop_source_code)" FROM {csv(SAMPLE / "mapping/d_labitems_to_loinc.csv.gz")} '
                    "WHERE omop_vocabulary_id = 'LOINC' AND omop_concept_code IS NOT NULL")
    assert by_system == {
        "diagnoses": {"ICD9CM": count("diagnoses_icd", "icd_version = '9'"),
                      "ICD10CM": count("diagnoses_icd", "icd_version = '10'")},
        "medications": {"NDC": count("prescriptions", "ndc IS NOT NULL AND NOT regexp_matches(ndc, '^0*$')"),
                        "LOCAL": count("prescriptions", "ndc IS NULL OR regexp_matches(ndc, '^0*$')")},
        "labs": {"LOINC": count("labevents", f"itemid IN ({mapped_items})"),
                 "LOCAL": count("labevents", f"itemid NOT IN ({mapped_items})")},
        "procedures": {"ICD9CM": count("procedures_icd", "icd_version = '9'"),
                       "ICD10PCS": count("procedures_icd", "icd_version = '10'"),
                       "LOCAL": count("poe", RADIOLOGY)},
    }


def test_sample_dates_are_moved_into_real_years_exactly_as_documented(sample):
    assert_iso_dates(sample, earliest="1900-01-01", latest="2026-01-01")
    encounters = sample.tables["encounters"]
    assert dict(encounters.select("encounter_id", "start_date").rows()) == mapped("admissions", "hadm_id", "admittime")
    assert dict(encounters.select("encounter_id", "end_date").rows()) == mapped("admissions", "hadm_id", "dischtime")
    deaths = sample.tables["patients"].drop_nulls("death_date")
    assert dict(deaths.select("patient_id", "death_date").rows()) == mapped("patients", "subject_id", "dod",
                                                                            "dod IS NOT NULL")
    latest = max(sample.tables[t][c].max() for t, c in (
        ("encounters", "end_date"), ("labs", "collected_date"), ("medications", "end_date"),
        ("medications", "start_date"), ("procedures", "performed_date"), ("patients", "death_date")))
    assert sample.extract_date == date.fromisoformat(latest) and sample.extract_date < date(2026, 1, 1)


def test_sample_intervals_within_a_patient_are_preserved(sample):
    """Days from each patient's first admission to every admission and discharge: as in the source."""
    source = sql_rows(f"""
        SELECT hadm_id, admittime::date - min(admittime::date) OVER (PARTITION BY subject_id),
               dischtime::date - min(admittime::date) OVER (PARTITION BY subject_id)
        FROM {hosp('admissions')}""")
    days = sample.tables["encounters"].with_columns(pl.col("start_date", "end_date").str.to_date()).select(
        "encounter_id",
        (pl.col("start_date") - pl.col("start_date").min().over("patient_id")).dt.total_days(),
        (pl.col("end_date") - pl.col("start_date").min().over("patient_id")).dt.total_days())
    assert sorted(days.rows()) == sorted(source)


def test_sample_birth_date_from_anchor_age(sample):
    expected = dict(sql_rows(f"""SELECT subject_id, make_date((left(anchor_year_group, 4)::int
                                 + right(anchor_year_group, 4)::int) // 2 - anchor_age::int, 1, 1)::varchar
                                 FROM {hosp('patients')}"""))
    assert dict(sample.tables["patients"].select("patient_id", "birth_date").rows()) == expected


def test_sample_named_rows(sample):
    baclofen = row(sample, "medications", "hosp/prescriptions.csv.gz", 1664)
    assert pick(baclofen, "patient_id", "encounter_id", "code_system", "code", "description", "dose_value",
                "dose_unit", "frequency_per_day", "route", "start_date") == {
        "patient_id": "10010867", "encounter_id": "22196214", "code_system": "NDC", "code": "00904336561",
        "description": "Baclofen", "dose_value": "10", "dose_unit": "mg", "frequency_per_day": "2",
        "route": "PO/NG", "start_date": mapped("prescriptions", "pharmacy_id", "starttime",
                                               "pharmacy_id = '25485899'")["25485899"]}
    insulin = row(sample, "medications", "hosp/prescriptions.csv.gz", 73)  # ndc 0: a local drug name
    assert pick(insulin, "code_system", "code") == {"code_system": "LOCAL", "code": "Insulin"}
    magnesium = row(sample, "labs", "hosp/labevents.csv.gz", 14)
    assert pick(magnesium, "code_system", "code", "description", "value_numeric", "unit", "ref_low", "ref_high") == {
        "code_system": "LOINC", "code": "19123-9", "description": "Magnesium", "value_numeric": "2",
        "unit": "mg/dL", "ref_low": "1.6", "ref_high": "2.6"}
    pcs = row(sample, "procedures", "hosp/procedures_icd.csv.gz", 14)
    assert pick(pcs, "code_system", "code") == {"code_system": "ICD10PCS", "code": "02H633Z"}
    ct = row(sample, "procedures", "hosp/poe.csv.gz", 21)
    assert pick(ct, "patient_id", "code_system", "code", "description") == {
        "patient_id": "10002930", "code_system": "LOCAL", "code": "CT Scan", "description": "CT Scan"}
    diagnosis = row(sample, "diagnoses", "hosp/diagnoses_icd.csv.gz", 1)
    assert pick(diagnosis, "code_system", "code", "recorded_date") == {
        "code_system": "ICD9CM", "code": "4139",
        "recorded_date": mapped("admissions", "hadm_id", "admittime", "hadm_id = '22580999'")["22580999"]}


def test_sample_carries_no_source_attribute_it_does_not_map(sample):
    # MIMIC has no names or addresses; what it says of the person beyond the canonical columns
    # (race, here the unmistakable multi-part values) must not leak either.
    races = {v for (v,) in sql_rows(f"SELECT DISTINCT race FROM {hosp('admissions')} WHERE race LIKE '%/%'")}
    assert_no_identifiers(sample, races)


# ------------------------------------------------------------------------------------- fixture

@pytest.fixture(scope="module")
def fixture():
    return read_to_end(FIXTURE, "mimic")


def test_fixture_gzip_and_missing_optional_table(fixture):
    assert_canonical_frames(fixture)
    # No procedures_icd: procedures come from poe alone.
    assert table_sizes(fixture) == {"patients": 2, "encounters": 2, "diagnoses": 2, "medications": 3, "labs": 2,
                                    "procedures": 1}
    assert_reconciles(fixture, {"hosp/patients.csv": 2, "hosp/admissions.csv.gz": 2, "hosp/diagnoses_icd.csv": 2,
                                "hosp/prescriptions.csv": 3, "hosp/labevents.csv": 2, "hosp/poe.csv": 3})


def test_fixture_shift_is_a_constant_number_of_days_per_patient(fixture):
    # 2150 -> 2012 ("2011 - 2013"): 2150-03-01 is 59 days after Jan 1, and so is 2012-02-29.
    assert fixture.tables["encounters"].select("encounter_id", "start_date", "end_date", "encounter_class").rows() == [
        ("5001", "2012-02-29", "2012-03-04", "inpatient"), ("5002", "2015-06-11", "2015-06-12", "observation")]
    assert fixture.tables["patients"].select("birth_date", "death_date").rows() == [
        ("1952-01-01", "2013-01-09"), ("1970-01-01", None)]
    assert fixture.extract_date == date(2015, 6, 12)


def test_fixture_drugs_labs_and_radiology(fixture):
    assert fixture.tables["medications"].select("order_id", "code_system", "code", "dose_value",
                                                "frequency_per_day").rows() == [
        ("prescriptions:1", "NDC", "00172409660", "10", "3"),
        ("prescriptions:2", "LOCAL", "Sodium Chloride 0.9%", "100", None),   # ndc 0
        ("prescriptions:3", "LOCAL", "Magnesium Oxide", "400", "2"),         # no ndc
    ]
    assert fixture.tables["labs"].select("code_system", "code", "description", "value_numeric",
                                         "value_text").rows() == [
        ("LOINC", "19123-9", "Magnesium", "1.5", None), ("LOCAL", "99999", "Local Test", None, "HEMOLYZED")]
    assert fixture.tables["procedures"].select("code_system", "code", "performed_date").rows() == [
        ("LOCAL", "MRI", "2012-03-01")]
    assert sorted((s.rows, s.reason) for s in fixture.skipped) == [
        (1, "MIMIC provider order that is not a radiology order"),
        (1, "MIMIC radiology order entry that changes or discontinues an earlier order")]


def test_folder_without_admissions_is_refused(tmp_path):
    (tmp_path / "hosp").mkdir()
    (tmp_path / "hosp" / "patients.csv").write_text("subject_id\n1\n")
    with pytest.raises(ExtractError, match="admissions"):
        read_to_end(tmp_path, "mimic")
