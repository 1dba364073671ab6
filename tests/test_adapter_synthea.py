"""Synthea CSV adapter: the shared sample (counts computed independently with DuckDB, named rows,
no identifiers) and a hand-made fixture with newer optional columns, a gzip file and missing
optional files."""

from __future__ import annotations

from pathlib import Path

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

SAMPLE = EXTERNAL / "synthea_csv_v3_0_0"
FIXTURE = Path(__file__).parent / "fixtures" / "synthea"
LAB = "CATEGORY = 'laboratory' AND TYPE = 'numeric'"


@pytest.fixture(scope="module")
def sample():
    return read_to_end(SAMPLE, "synthea")


def count(stem: str, where: str = "true") -> int:
    return sql_count(f"SELECT count(*) FROM {csv(SAMPLE / (stem + '.csv.gz'))} WHERE {where}")


def test_sample_row_counts_match_the_source_files(sample):
    assert table_sizes(sample) == {
        "patients": count("patients"), "encounters": count("encounters"), "diagnoses": count("conditions"),
        "medications": count("medications"), "labs": count("observations", LAB),
        "procedures": count("procedures"),
    }
    assert table_sizes(sample) == {"patients": 27, "encounters": 604, "diagnoses": 438, "medications": 663,
                                   "labs": 233, "procedures": 249}


def test_sample_every_source_row_is_emitted_or_counted_as_skipped(sample):
    assert_canonical_frames(sample)
    assert_reconciles(sample, {f"{stem}.csv.gz": count(stem) for stem in (
        "patients", "encounters", "conditions", "medications", "observations", "procedures")})
    skipped = {s.reason: s.rows for s in sample.skipped}
    assert skipped == {
        "Synthea observation that is not a laboratory result":
            count("observations", "coalesce(CATEGORY, '') <> 'laboratory'"),
        "Synthea laboratory observation with a text value (an answer such as an address)":
            count("observations", "CATEGORY = 'laboratory' AND TYPE <> 'numeric'"),
    }


def test_sample_carries_no_direct_identifier(sample):
    identifiers = {value for column in ("SSN", "DRIVERS", "PASSPORT", "FIRST", "LAST", "MAIDEN", "ADDRESS", "ZIP")
                   for (value,) in sql_rows(f"SELECT DISTINCT {column} FROM {csv(SAMPLE / 'patients.csv.gz')} "
                                            f"WHERE {column} IS NOT NULL")}
    assert_no_identifiers(sample, identifiers)


def test_sample_dates_are_iso_dates(sample):
    assert_iso_dates(sample)
    assert sample.extract_date is None


def test_sample_named_rows(sample):
    patient = row(sample, "patients", "patients.csv.gz", 1)
    assert pick(patient, "patient_id", "birth_date", "sex", "death_date") == {
        "patient_id": "3edac2e3-d223-6fae-d515-daf96ef6bc76", "birth_date": "2014-10-06", "sex": "M",
        "death_date": None}
    encounter = row(sample, "encounters", "encounters.csv.gz", 1)
    assert pick(encounter, "encounter_id", "start_date", "encounter_class", "site_id", "provider_id") == {
        "encounter_id": "57f2562b-445c-f11c-ba40-edc55af3c84f", "start_date": "2023-01-27",
        "encounter_class": "ambulatory", "site_id": "e002090d-4e92-300e-b41e-7d1f21dee4c6",
        "provider_id": "2d85c411-b7bb-3133-8903-276c2e31f452"}
    condition = row(sample, "diagnoses", "conditions.csv.gz", 1)
    assert pick(condition, "code_system", "code", "recorded_date", "resolved_date", "encounter_id") == {
        "code_system": "SNOMED", "code": "195662009", "recorded_date": "2023-01-27", "resolved_date": "2023-02-09",
        "encounter_id": "57f2562b-445c-f11c-ba40-edc55af3c84f"}
    # "Loratadine 5 MG Chewable Tablet": strength from the description, frequency unknown.
    loratadine = row(sample, "medications", "medications.csv.gz", 1)
    assert pick(loratadine, "order_id", "code_system", "code", "start_date", "dose_value", "dose_unit",
                "frequency_per_day", "route") == {
        "order_id": "medications:1", "code_system": "RXNORM", "code": "665078", "start_date": "2009-09-27",
        "dose_value": "5", "dose_unit": "mg", "frequency_per_day": None, "route": "oral"}
    hctz = row(sample, "medications", "medications.csv.gz", 263)
    assert pick(hctz, "code", "dose_value", "end_date") == {"code": "310798", "dose_value": "25",
                                                            "end_date": "1992-12-27"}
    potassium = row(sample, "labs", "observations.csv.gz", 99)
    assert pick(potassium, "code_system", "code", "collected_date", "value_numeric", "unit") == {
        "code_system": "LOINC", "code": "6298-4", "collected_date": "2023-08-11", "value_numeric": "5.1",
        "unit": "mmol/L"}
    procedure = row(sample, "procedures", "procedures.csv.gz", 1)
    assert pick(procedure, "code_system", "code", "performed_date") == {
        "code_system": "SNOMED", "code": "430193006", "performed_date": "2023-10-10"}


def test_sample_patient_site_is_the_organization_of_most_of_their_encounters(sample):
    expected = dict(sql_rows(f"""
        SELECT PATIENT, arg_max(ORGANIZATION, (n, latest)) FROM (
            SELECT PATIENT, ORGANIZATION, count(*) AS n, max(START) AS latest
            FROM {csv(SAMPLE / 'encounters.csv.gz')} GROUP BY ALL) GROUP BY PATIENT"""))
    sites = dict(sample.tables["patients"].select("patient_id", "site_id").iter_rows())
    assert sites == {p: expected.get(p) for p in sites}


# ------------------------------------------------------------------------------------- fixture

@pytest.fixture(scope="module")
def fixture():
    return read_to_end(FIXTURE, "synthea")


def test_fixture_with_newer_columns_gzip_and_missing_optional_files(fixture):
    assert_canonical_frames(fixture)
    # No encounters or procedures file: those tables are absent, and no patient has a site.
    assert table_sizes(fixture) == {"patients": 2, "diagnoses": 3, "medications": 2, "labs": 1}
    assert fixture.tables["patients"]["site_id"].null_count() == 2
    assert_reconciles(fixture, {"patients.csv": 2, "conditions.csv": 3, "medications.csv.gz": 2,
                                "observations.csv": 4})
    assert_no_identifiers(fixture, {"999-11-2222", "S99912345", "X12345678X", "Alfred12", "Bo34", "Zimmer56",
                                    "12 Elm Street", "01101", "Kline11", "52000"})


def test_fixture_system_column_names_the_vocabulary(fixture):
    systems = fixture.tables["diagnoses"].select("code_system", "code").rows()
    assert systems == [("SNOMED", "449917004"), ("SNOMED", "55300003"), ("ICD10CM", "R25.2")]


def test_fixture_combination_product_has_no_single_strength(fixture):
    baclofen, combination = fixture.tables["medications"].select("dose_value", "dose_unit", "frequency_per_day").rows()
    assert baclofen == ("10", "mg", None)
    assert combination == (None, None, None)


def test_fixture_only_numeric_laboratory_observations_are_labs(fixture):
    assert fixture.tables["labs"].select("code", "value_numeric", "unit").rows() == [("19123-9", "1.6", "mg/dL")]
    assert sorted((s.reason, s.rows) for s in fixture.skipped) == [
        ("Synthea laboratory observation with a text value (an answer such as an address)", 1),
        ("Synthea observation that is not a laboratory result", 2)]


def test_folder_without_conditions_is_refused(tmp_path):
    (tmp_path / "patients.csv").write_text("Id,BIRTHDATE\np,2000-01-01\n")
    with pytest.raises(ExtractError, match="conditions"):
        read_to_end(tmp_path, "synthea")


def test_missing_required_column_is_refused(tmp_path):
    (tmp_path / "patients.csv").write_text("Id,BIRTHDATE\np,2000-01-01\n")
    (tmp_path / "conditions.csv").write_text("START,PATIENT\n2020-01-01,p\n")
    with pytest.raises(ExtractError, match="required column 'code'"):
        read_to_end(tmp_path, "synthea")
