"""FHIR R4 bulk NDJSON adapter: the shared SMART sample (counts computed independently with DuckDB,
named resources, no identifiers, no Observation file = no labs) and a hand-made fixture with
several files per resource, a gzip file, a malformed and a blank line, references of every form,
doses with timing, a lab with a comparator and a referral."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cramp_audit.transforms.base import ExtractError
from cramp_audit.transforms.registry import open_extract

from cramp_audit.load import validate_extract
from tests.adapter_assertions import (
    EXTERNAL,
    assert_canonical_frames,
    assert_iso_dates,
    assert_no_identifiers,
    assert_reconciles,
    pick,
    read_to_end,
    row,
    sql_count,
    sql_rows,
    table_sizes,
)

SAMPLE = EXTERNAL / "fhir_r4_bulk_synthea_10pt"
FIXTURE = Path(__file__).parent / "fixtures" / "fhir"


def resources(resource: str) -> str:
    return f"read_ndjson_objects('{SAMPLE / (resource + '.000.ndjson.gz')}')"


def count(resource: str, where: str = "true") -> int:
    return sql_count(f"SELECT count(*) FROM {resources(resource)} WHERE {where}")


def status_not_in(path: str, *values: str) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    return f"coalesce(json_extract_string(json, '{path}'), '') NOT IN ({listed})"


@pytest.fixture(scope="module")
def sample():
    return read_to_end(SAMPLE, "fhir")


def test_sample_row_counts_match_the_source_files(sample):
    expected = {
        "patients": count("Patient"),
        "encounters": count("Encounter", status_not_in("$.status", "cancelled", "entered-in-error")),
        "diagnoses": count("Condition", status_not_in("$.verificationStatus.coding[0].code",
                                                      "entered-in-error", "refuted")),
        "medications": count("MedicationRequest"),
        "procedures": count("Procedure", status_not_in("$.status", "not-done", "entered-in-error")),
    }
    # No Observation file in this copy: no labs table at all.
    assert table_sizes(sample) == expected
    assert expected == {"patients": 13, "encounters": 1215, "diagnoses": 555, "medications": 1745,
                        "procedures": 2056}


def test_sample_every_line_is_emitted_or_counted_as_skipped(sample):
    assert_canonical_frames(sample)
    assert_reconciles(sample, {f"{r}.000.ndjson.gz": count(r) for r in (
        "Patient", "Encounter", "Condition", "MedicationRequest", "Procedure")})
    assert sample.skipped == []


def test_sample_carries_no_direct_identifier(sample):
    # (Synthea's "medical record number" is the resource id itself, i.e. the patient_id, so it is not listed.)
    paths = ["$.name[*].family", "$.name[*].given[*]", "$.telecom[*].value", "$.address[*].line[*]",
             "$.address[*].city", "$.address[*].postalCode"]
    identifiers = {v for path in paths for (v,) in sql_rows(
        f"SELECT DISTINCT unnest(json_extract_string(json, '{path}')) FROM {resources('Patient')}")}
    identifiers |= {v for (v,) in sql_rows(f"""
        SELECT DISTINCT json_extract_string(i, '$.value') FROM
            (SELECT unnest(json_extract(json, '$.identifier[*]')) AS i FROM {resources('Patient')})
        WHERE json_extract_string(i, '$.type.coding[0].code') IN ('SS', 'DL', 'PPN')""")}
    assert len(identifiers) > 30
    assert_no_identifiers(sample, identifiers)


def test_sample_dates_and_export_date(sample):
    assert_iso_dates(sample)
    assert sample.extract_date == date(2024, 8, 6)  # log.ndjson transactionTime
    assert sample.tables["patients"]["death_date"].null_count() == 10  # 10 living + 3 deceased


def test_sample_named_resources(sample):
    assert pick(row(sample, "diagnoses", "Condition.000.ndjson.gz", 1), "patient_id", "encounter_id",
                "code_system", "code", "description", "recorded_date") == {
        "patient_id": "129c6ac7-8d06-89de-ad63-0204a93e76c3", "encounter_id": "f6003197-6507-1168-87be-ceccd5517094",
        "code_system": "SNOMED", "code": "91302008", "description": "Sepsis (disorder)",
        "recorded_date": "1976-01-19"}
    # "lisinopril 10 MG Oral Tablet", 1 unit once a day: 10 mg, once a day.
    assert pick(row(sample, "medications", "MedicationRequest.000.ndjson.gz", 1), "order_id", "patient_id",
                "code_system", "code", "start_date", "dose_value", "dose_unit", "frequency_per_day", "route",
                "prescriber_id", "status") == {
        "order_id": "002eb5b8-2964-effd-3b09-f132017dae04", "patient_id": "79a66c97-6131-3213-f3c9-4606946ab056",
        "code_system": "RXNORM", "code": "314076", "start_date": "1989-05-27", "dose_value": "10",
        "dose_unit": "mg", "frequency_per_day": "1", "route": "oral", "prescriber_id": "9999974394",
        "status": "stopped"}
    assert pick(row(sample, "encounters", "Encounter.000.ndjson.gz", 1), "encounter_id", "start_date",
                "encounter_class", "site_id", "provider_id") == {
        "encounter_id": "00c7f717-4030-5582-2ed8-888ad2bc878e", "start_date": "1989-10-04",
        "encounter_class": "ambulatory", "site_id": "a261e1fc-9361-3633-a2c4-8569a04b818d",
        "provider_id": "9999974493"}
    assert pick(row(sample, "procedures", "Procedure.000.ndjson.gz", 1), "code_system", "code",
                "performed_date") == {"code_system": "SNOMED", "code": "430193006", "performed_date": "2022-06-22"}
    assert pick(row(sample, "patients", "Patient.000.ndjson.gz", 1), "birth_date", "sex", "death_date") == {
        "birth_date": "1927-05-21", "sex": "F", "death_date": "1989-05-09"}


def test_sample_medication_codes_are_rxnorm(sample):
    assert sample.tables["medications"]["code_system"].unique().to_list() == ["RXNORM"]
    with_dose = count("MedicationRequest", "json_extract(json, '$.dosageInstruction[0].doseAndRate') IS NOT NULL")
    assert sample.tables["medications"]["frequency_per_day"].drop_nulls().len() == with_dose


# ------------------------------------------------------------------------------------- fixture

@pytest.fixture(scope="module")
def fixture():
    return read_to_end(FIXTURE, "fhir")


def test_fixture_reads_every_file_and_accounts_for_every_line(fixture):
    assert_canonical_frames(fixture)
    assert table_sizes(fixture) == {"patients": 2, "encounters": 1, "diagnoses": 3, "medications": 3, "labs": 2,
                                    "procedures": 1}
    assert_reconciles(fixture, {"Patient.000.ndjson": 1, "Patient.001.ndjson.gz": 1, "Encounter.000.ndjson": 1,
                                "Condition.000.ndjson": 5, "MedicationRequest.000.ndjson": 3,
                                "Observation.000.ndjson": 3, "ServiceRequest.000.ndjson": 2})
    assert fixture.extract_date is None
    assert_no_identifiers(fixture, {"Zimmer56", "Alfred12", "555-123-4567", "12 Elm Street", "Springfield",
                                    "01101", "999-11-2222"})


def test_malformed_line_becomes_a_row_validation_rejects_with_its_line_number(fixture):
    malformed = row(fixture, "diagnoses", "Condition.000.ndjson", 2)
    assert all(value is None for column, value in malformed.items() if not column.startswith("_"))
    validations = {v.table_name: v for v in validate_extract(open_extract(FIXTURE, "fhir"), date(2026, 1, 1))}
    quarantine = validations["diagnoses"].quarantine
    rejected = quarantine.filter((quarantine["source_row"] == 2) & (quarantine["action"] == "rejected"))
    assert rejected["source_file"].unique().to_list() == ["Condition.000.ndjson"]
    assert validations["diagnoses"].rows_loaded == 2
    assert sorted((s.source_table, s.reason) for s in fixture.skipped if s.table_name == "diagnoses") == [
        ("Condition.000.ndjson", "FHIR Condition entered in error or refuted"),
        ("Condition.000.ndjson", "blank line in an NDJSON file")]


def test_fixture_references_and_codes(fixture):
    diagnoses = fixture.tables["diagnoses"].drop_nulls("patient_id")
    assert diagnoses.select("patient_id", "encounter_id", "code_system", "code", "recorded_date").rows() == [
        ("pa", None, "ICD10CM", "R25.2", "2023-05-01"),   # ICD-10-CM preferred over the SNOMED coding
        ("pb", "eb1", "SNOMED", "55300003", "2023-06-01"),  # absolute URL with _history; recordedDate
    ]
    assert fixture.tables["patients"].select("patient_id", "sex", "death_date", "site_id").rows() == [
        ("pa", "M", None, "org-1"),             # managingOrganization
        ("pb", "F", "2024-01-02", "org-2"),     # site of their encounters (conditional reference)
    ]
    encounter = fixture.tables["encounters"].row(0, named=True)
    assert pick(encounter, "patient_id", "encounter_class", "provider_id") == {
        "patient_id": "pb", "encounter_class": "ambulatory", "provider_id": "9999"}  # urn:uuid reference


def test_fixture_doses(fixture):
    assert fixture.tables["medications"].select("order_id", "dose_value", "dose_unit", "frequency_per_day",
                                                "status").rows() == [
        ("m1", "20", "mg", "3", "active"),       # 2 tablets of 10 mg every 8 hours
        ("m2", "800", "mg", "2", "completed"),   # 800 mg, timing code BID
        ("m3", "10", "mg", None, "stopped"),     # no dosage: strength only, frequency unknown
    ]


def test_fixture_labs_and_referrals(fixture):
    assert fixture.tables["labs"].select("code", "value_numeric", "value_text", "unit", "ref_low",
                                         "ref_high").rows() == [
        ("19123-9", "1.6", None, "mg/dL", "1.7", "2.3"),
        ("2823-3", None, "<2.5", "mmol/L", None, None),
    ]
    assert fixture.tables["procedures"].select("code_system", "code", "description", "performed_date").rows() == [
        ("SNOMED", "309627007", "Referral to neurology service", "2023-05-03")]
    assert sorted((s.source_table, s.rows, s.reason) for s in fixture.skipped if s.table_name != "diagnoses") == [
        ("Observation.000.ndjson", 1, "FHIR Observation that is not a laboratory result"),
        ("ServiceRequest.000.ndjson", 1, "FHIR ServiceRequest for a laboratory test")]


def test_folder_without_patient_file_is_refused(tmp_path):
    (tmp_path / "Condition.000.ndjson").write_text("{}\n")
    with pytest.raises(ExtractError, match="Patient"):
        read_to_end(tmp_path, "fhir")
