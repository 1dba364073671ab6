"""Code systems have one definition (schemas/code_systems.csv): a system URI means the same in a
canonical extract as in a FHIR export, an ICD-10-PCS code compares the same with or without its dot
in staging and in the value sets, and every token anything accepts, prefers or ships is defined."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from cramp_audit.schemas.code_systems import code_system_token, code_systems, normalise_code, token_of
from cramp_audit.schemas.spec import CODE_SYSTEMS, SOURCE_FILE, SOURCE_ROW
from cramp_audit.sql.valuesets.build import canonical_code_system
from cramp_audit.transforms.fhir import TOKENS_BY_TABLE
from cramp_audit.transforms.registry import open_extract

from cramp_audit.load import staging_rows, validate_extract
from tests.extract_builder import DEFAULT_DIAGNOSIS, write_extract

EXTRACT_DATE = date(2026, 1, 1)
VALUE_SETS = Path(__file__).resolve().parent.parent / "sql" / "valuesets"
SNOMED_URI = "http://snomed.info/sct"
CRAMP_IN_LOWER_LEG = "449918009"  # SNOMED, in LEG_CRAMPS


def _loaded_diagnoses(folder: Path, fmt: str) -> pl.DataFrame:
    [diagnoses] = [v for v in validate_extract(open_extract(folder, fmt), EXTRACT_DATE) if v.table_name == "diagnoses"]
    assert diagnoses.quarantine.is_empty(), diagnoses.quarantine.to_dicts()
    return diagnoses.loaded


def _fhir_extract(folder: Path, system: str) -> Path:
    folder.mkdir()
    resources = {
        "Patient": {"resourceType": "Patient", "id": "P1", "gender": "female", "birthDate": "1950-01-01"},
        "Condition": {"resourceType": "Condition", "id": "C1", "subject": {"reference": "Patient/P1"},
                      "code": {"coding": [{"system": system, "code": CRAMP_IN_LOWER_LEG}]},
                      "onsetDateTime": "2025-03-01"},
        "MedicationRequest": {"resourceType": "MedicationRequest", "id": "O1", "status": "active",
                              "subject": {"reference": "Patient/P1"}, "authoredOn": "2025-03-02",
                              "medicationCodeableConcept": {"coding": [
                                  {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6582"}]}},
    }
    for name, resource in resources.items():
        (folder / f"{name}.ndjson").write_text(json.dumps(resource) + "\n")
    return folder


@pytest.mark.parametrize("system", [SNOMED_URI, "https://snomed.info/sct"])
def test_a_canonical_extract_with_a_system_uri_is_accepted_and_mapped_like_fhir(tmp_path, system):
    canonical = write_extract(tmp_path / "canonical", diagnoses=[
        {**DEFAULT_DIAGNOSIS, "code_system": system, "code": CRAMP_IN_LOWER_LEG}])
    fhir = _fhir_extract(tmp_path / "fhir", system)
    columns = ["patient_id", "code_system", "code", "recorded_date"]
    from_canonical = _loaded_diagnoses(canonical, "canonical").select(columns)
    from_fhir = _loaded_diagnoses(fhir, "fhir").select(columns)
    assert from_canonical.rows() == from_fhir.rows() == [("P1", "SNOMED", CRAMP_IN_LOWER_LEG, date(2025, 3, 1))]


def test_every_spelling_of_a_system_gives_the_same_token_everywhere():
    # The canonical validator (token_of, per distinct value), the adapters' lazy expression (OMOP
    # vocabulary_id, Synthea SYSTEM) and the value-set build agree, spelling by spelling.
    spellings = [(s, system.token) for system in code_systems().values() for s in (system.token, *system.aliases)]
    spellings += [(uri.replace("http://", "https://"), token) for uri, token in spellings if "://" in uri]
    spellings += [("icd-10-cm", "ICD10CM"), (" SNOMED CT ", "SNOMED"), ("ICD11", None), ("RxNorm Extension", None)]
    names = [name for name, _ in spellings]
    lazy = pl.select(code_system_token(pl.lit(pl.Series(names, dtype=pl.String)))).to_series().to_list()
    assert lazy == [token for _, token in spellings]
    assert [token_of(n) for n in names] == [token for _, token in spellings]
    assert canonical_code_system("SNOMEDCT") == "SNOMED" and canonical_code_system("ICD11") == "ICD11"


@pytest.mark.parametrize(("token", "codes", "normalised"), [
    ("ICD10PCS", ["0SRC0J9", "0SR.C0J9", " 0src0j9 "], "0SRC0J9"),
    ("ICD10CM", ["R25.2", "R252", "r25.2"], "R252"),
    ("ICD9CM", ["729.82", "72982"], "72982"),
    ("SNOMED", [" 449918009"], "449918009"),
    ("NDC", ["00904-3365-61"], "00904-3365-61"),  # not an ICD code: its punctuation is kept
])
def test_codes_normalise_the_same_in_staging_and_in_the_value_sets(token, codes, normalised):
    loaded = pl.DataFrame({"code_system": [token] * len(codes), "code": codes, SOURCE_FILE: "f.csv", SOURCE_ROW: 1})
    assert staging_rows("procedures", loaded)["code"].to_list() == [normalised] * len(codes)
    assert [normalise_code(token, c) for c in codes] == [normalised] * len(codes)


def test_every_token_a_table_accepts_prefers_or_ships_is_defined():
    defined = set(code_systems())
    accepted = {t for tokens in CODE_SYSTEMS.values() for t in tokens}
    preferred = {t for tokens in TOKENS_BY_TABLE.values() for t in tokens}
    shipped = set()
    for name in ("value_sets.csv", "value_set_exclusions.csv"):
        with open(VALUE_SETS / name, newline="", encoding="utf-8") as handle:
            shipped |= {r["code_system"] for r in csv.DictReader(handle)}
    assert accepted - defined == set() and preferred - defined == set() and shipped - defined == set()
    assert {t for t in accepted if code_systems()[t].dotless} == {"ICD10CM", "ICD9CM", "ICD10PCS"}

