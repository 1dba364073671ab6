"""The shipped value sets (sql/valuesets/) against rules.md's table and the shared reference lists.
The sets and maps rules-v2.md adds are checked in test_value_sets_v2.py."""

from __future__ import annotations

import csv
import re

import duckdb
import pytest
from cramp_audit.sql.valuesets import build

from cramp_audit.valuesets import VALUESETS_DIR, load_value_sets, value_sets_checksum

RULES_MD_VALUE_SETS = {
    "LEG_CRAMPS", "QUININE", "MAGNESIUM_SUPPLEMENT", "HYPOMAGNESEMIA", "MAGNESIUM_LAB", "POTASSIUM_LAB",
    "POTASSIUM_SUPPLEMENT", "EGFR_LAB", "CKD_SEVERE", "BACLOFEN", "CIRRHOSIS", "DIURETIC", "MEDICATION_REVIEW",
    "RED_FLAG", "EXTENSIVE_WORKUP", "REFERRAL", "DOPAMINERGIC", "PARKINSONS", "RESTLESS_LEGS", "NSAID",
}
# rules-v2.md adds these (and the two subsets the rules need to tell diuretic classes and vascular
# red flags apart).
RULES_V2_VALUE_SETS = {
    "MAGNESIUM_OTHER_INDICATION", "SPASTICITY", "PAIN_INDICATION", "FERRITIN_LAB", "CRAMP_PRECIPITANT", "MALARIA",
    "VASCULAR_ASSESSMENT", "ALPHA2DELTA", "DIURETIC_THIAZIDE_OR_LOOP", "DIURETIC_POTASSIUM_SPARING",
    "RED_FLAG_VASCULAR",
}
# HYPOMAGNESEMIA has no ICD-9-CM code since rules-v2.md removed 275.2 (it also means hypermagnesaemia).
CONDITION_SETS = ("LEG_CRAMPS", "CKD_SEVERE", "CIRRHOSIS", "RED_FLAG", "PARKINSONS", "RESTLESS_LEGS",
                  "MAGNESIUM_OTHER_INDICATION", "SPASTICITY", "PAIN_INDICATION", "MALARIA", "RED_FLAG_VASCULAR")


def _rows(name: str) -> list[dict[str, str]]:
    with open(VALUESETS_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


MEMBERS = _rows("value_sets.csv")
KEYS = {(r["value_set"], r["code_system"], r["code"]) for r in MEMBERS}


@pytest.mark.skipif(not build.DEFAULT_REFERENCE.is_dir(), reason="shared reference lists not available")
def test_shipped_files_equal_a_rebuild_from_the_shared_reference() -> None:
    """The shipped copy is data built from shared/reference/valuesets: rebuild it and compare byte for
    byte, so a stale copy (reference or definitions changed, build not rerun) fails here."""
    for name, text in build.rendered_files(build.build()).items():
        assert (VALUESETS_DIR / name).read_text(encoding="utf-8") == text, (
            f"sql/valuesets/{name} is stale: run .venv/bin/python -m cramp_audit.sql.valuesets.build")


def test_value_sets_are_exactly_those_rules_md_and_rules_v2_md_name() -> None:
    assert {r["value_set"] for r in MEMBERS} == RULES_MD_VALUE_SETS | RULES_V2_VALUE_SETS
    assert list(MEMBERS[0]) == ["value_set", "code_system", "code", "display", "source"]


def test_codes_are_normalised_and_unique() -> None:
    """rules.md: codes are compared after normalising (upper case, ICD dots removed)."""
    assert len(KEYS) == len(MEMBERS)
    for r in MEMBERS:
        assert r["code"] == r["code"].strip().upper()
        if r["code_system"] in ("ICD10CM", "ICD9CM"):
            assert "." not in r["code"]
        assert r["code_system"] in ("ICD10CM", "ICD9CM", "SNOMED", "RXNORM", "LOINC", "CPT", "HCPCS", "OMOP")


@pytest.mark.parametrize("value_set, code_system, code", [
    ("LEG_CRAMPS", "ICD10CM", "R252"), ("LEG_CRAMPS", "ICD10CM", "G4762"), ("LEG_CRAMPS", "ICD10CM", "M62831"),
    ("LEG_CRAMPS", "SNOMED", "449918009"), ("LEG_CRAMPS", "ICD9CM", "72982"), ("LEG_CRAMPS", "ICD9CM", "32752"),
    ("QUININE", "RXNORM", "9071"), ("QUININE", "RXNORM", "997010"),
    ("MAGNESIUM_SUPPLEMENT", "RXNORM", "6582"), ("MAGNESIUM_SUPPLEMENT", "RXNORM", "198741"),
    ("MAGNESIUM_SUPPLEMENT", "RXNORM", "1658244"),
    ("HYPOMAGNESEMIA", "ICD10CM", "E8342"), ("HYPOMAGNESEMIA", "SNOMED", "190855004"),
    ("MAGNESIUM_LAB", "LOINC", "19123-9"), ("MAGNESIUM_LAB", "LOINC", "2601-3"), ("POTASSIUM_LAB", "LOINC", "2823-3"),
    ("POTASSIUM_SUPPLEMENT", "RXNORM", "8591"), ("POTASSIUM_SUPPLEMENT", "RXNORM", "198116"),
    ("EGFR_LAB", "LOINC", "98979-8"), ("EGFR_LAB", "LOINC", "33914-3"),
    ("CKD_SEVERE", "ICD10CM", "N184"), ("CKD_SEVERE", "ICD10CM", "N186"), ("CKD_SEVERE", "ICD10CM", "Z992"),
    ("CKD_SEVERE", "ICD9CM", "V4511"), ("CKD_SEVERE", "SNOMED", "46177005"),
    ("BACLOFEN", "RXNORM", "1292"), ("BACLOFEN", "RXNORM", "197391"),
    ("CIRRHOSIS", "ICD10CM", "K7460"), ("CIRRHOSIS", "ICD9CM", "5715"),
    ("DIURETIC", "RXNORM", "4603"), ("DIURETIC", "RXNORM", "313988"), ("DIURETIC", "RXNORM", "9997"),
    ("MEDICATION_REVIEW", "SNOMED", "182836005"), ("MEDICATION_REVIEW", "CPT", "1160F"),
    ("RED_FLAG", "ICD10CM", "G629"), ("RED_FLAG", "ICD10CM", "M21371"), ("RED_FLAG", "ICD9CM", "3569"),
    ("EXTENSIVE_WORKUP", "CPT", "72148"), ("EXTENSIVE_WORKUP", "CPT", "95907"),
    ("REFERRAL", "SNOMED", "308474002"), ("REFERRAL", "SNOMED", "307777008"),
    ("DOPAMINERGIC", "RXNORM", "72302"), ("PARKINSONS", "ICD10CM", "G20A1"), ("PARKINSONS", "ICD9CM", "3320"),
    ("RESTLESS_LEGS", "ICD10CM", "G2581"), ("RESTLESS_LEGS", "ICD9CM", "33394"), ("NSAID", "RXNORM", "5640"),
])
def test_known_code_is_in_its_value_set(value_set: str, code_system: str, code: str) -> None:
    assert (value_set, code_system, code) in KEYS


@pytest.mark.parametrize("value_set, code_system, code, why", [
    ("LEG_CRAMPS", "ICD10CM", "M62838", "rules.md: leg_cramps_related_muscle_spasm is M62.831 only"),
    ("LEG_CRAMPS", "ICD9CM", "72885", "ICD-9 'spasm of muscle' is not calf-specific"),
    ("MAGNESIUM_SUPPLEMENT", "RXNORM", "1052760", "magnesium citrate oral solution is a laxative"),
    ("MAGNESIUM_SUPPLEMENT", "RXNORM", "6581", "magnesium hydroxide is an antacid"),
    ("BACLOFEN", "RXNORM", "1300890", "intrathecal baclofen is not counted"),
    ("POTASSIUM_SUPPLEMENT", "RXNORM", "8588", "bare potassium is not a supplement ingredient"),
    ("EXTENSIVE_WORKUP", "CPT", "93922", "arterial studies are vascular assessment"),
    ("MEDICATION_REVIEW", "SNOMED", "314529007", "'medication review due' means not done"),
    ("DIURETIC", "RXNORM", "644", "verified=no in the reference"),
    ("PARKINSONS", "ICD10CM", "G210", "malignant neuroleptic syndrome is not parkinsonism"),
    ("RED_FLAG", "ICD10CM", "R253", "fasciculation is not one of RED_FLAG's focal-deficit groups"),
])
def test_code_outside_its_value_set(value_set: str, code_system: str, code: str, why: str) -> None:
    assert (value_set, code_system, code) not in KEYS, why


@pytest.mark.parametrize("value_set", CONDITION_SETS)
def test_every_condition_set_has_its_icd9_rows(value_set: str) -> None:
    """rules.md: ICD-9-CM equivalents of every condition set are in icd9cm_conditions.csv (or, for the
    sets rules-v2.md adds, in the supplement lists)."""
    assert any(v == value_set and s == "ICD9CM" for v, s, _ in KEYS)


def test_unverified_reference_rows_are_skipped_and_listed() -> None:
    skipped = _rows("skipped.csv")
    unverified = {(r["code_system"], r["code"]) for r in skipped if r["reason"].startswith("verified=no")}
    assert ("RXNORM", "644") in unverified and ("SNOMED", "306206005") in unverified
    assert not unverified & {(s, c) for _, s, c in KEYS}


def test_exclusions_are_known_non_members() -> None:
    exclusions = {(r["value_set"], r["code_system"], r["code"]) for r in _rows("value_set_exclusions.csv")}
    assert ("MAGNESIUM_SUPPLEMENT", "RXNORM", "1052760") in exclusions
    assert ("BACLOFEN", "RXNORM", "1300890") in exclusions
    assert not exclusions & KEYS


def test_load_value_sets_creates_ref_tables_and_returns_the_checksum() -> None:
    con = duckdb.connect()
    checksum = load_value_sets(con)
    assert re.fullmatch(r"[0-9a-f]{64}", checksum) and checksum == value_sets_checksum()
    assert con.execute("SELECT count(*) FROM ref.value_sets").fetchone()[0] == len(MEMBERS)
    assert con.execute("SELECT code FROM ref.value_sets WHERE value_set = 'QUININE' ORDER BY code").fetchall() == [
        ("9071",), ("9075",), ("997010",)]
    assert con.execute("SELECT typeof(factor) FROM ref.unit_conversions LIMIT 1").fetchone()[0] == "DOUBLE"


def test_unit_conversions_have_one_factor_per_unit() -> None:
    """Units compare case-insensitively, so (value set, lower(unit)) must be unique."""
    keys = [(r["applies_to"], r["unit"].lower()) for r in _rows("unit_conversions.csv")]
    assert len(keys) == len(set(keys))


def test_every_drug_name_pattern_compiles_and_names_a_known_set() -> None:
    con = duckdb.connect()
    load_value_sets(con)
    sets = {r[0] for r in con.execute("SELECT DISTINCT value_set FROM ref.drug_names").fetchall()}
    assert sets <= RULES_MD_VALUE_SETS | RULES_V2_VALUE_SETS | {"MAGNESIUM_OXIDE"}
    for (pattern,) in con.execute("SELECT pattern FROM ref.drug_names").fetchall():
        con.execute("SELECT regexp_matches('x', ?)", ['\\b(?:' + pattern + ')\\b'])
