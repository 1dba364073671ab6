"""The test deck: small hand-made patients written as canonical rows, audited end to end.

Builders fill every column a test does not care about:

    rows = [*cramps_patient("quinine_day_180", age=60),
            med("quinine_day_180", QUININE_SCD, on=day(180))]
    deck = audit_deck(rows)
    assert deck.status("LC-QUININE", "quinine_day_180") == "deviation"

Time runs from one index date (INDEX, "day 0"); day(n) is n days after it. The default audit
period is the calendar year around it, so follow-up never falls outside the data.

audit_deck() is the ONE place rows reach the database: it writes them as canonical CSV files and
runs the real ingest (canonical adapter, pandera validation, the schema and load stages, value sets),
then set_parameters and evaluate (the stages prepare, rules and decide); Deck.publish is the run's
publish stage.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from cramp_audit.schemas.spec import TABLES_BY_NAME
from cramp_audit.transforms.registry import open_extract

from cramp_audit import ledger
from cramp_audit.config import load_parameters, set_parameters
from cramp_audit.load import load_source
from cramp_audit.rules_engine import evaluate
from cramp_audit.stages import run_stage

INDEX = date(2025, 3, 1)                               # every deck patient's leg-cramps diagnosis ("day 0")
PERIOD = (date(2025, 1, 1), date(2025, 12, 31))        # the audit period the decks use

# Codes the decks use, named by what they are (from sql/valuesets/value_sets.csv).
R252 = "R25.2"                      # ICD-10-CM cramp and spasm (LEG_CRAMPS)
QUININE_SCD = "997010"              # quinine sulfate 324 MG Oral Capsule
MG_OXIDE_IN = "6582"                # magnesium oxide (ingredient)
MG_OXIDE_400_SCD = "198741"         # magnesium oxide 400 MG Oral Tablet
MG_SULFATE_INJ_SCD = "1658244"      # 10 ML magnesium sulfate 500 MG/ML Injection
MG_CITRATE_SOLUTION_SCD = "1052760"  # magnesium citrate oral solution: a laxative, NOT a supplement
MG_HYDROXIDE_IN = "6581"            # antacid, NOT a supplement
KCL_IN = "8591"                     # potassium chloride (ingredient)
KCL_20_SCD = "198116"               # potassium chloride 20 MEQ Extended Release Oral Tablet
BACLOFEN_IN = "1292"
BACLOFEN_10_SCD = "197391"          # baclofen 10 MG Oral Tablet
BACLOFEN_INTRATHECAL_SCD = "1300890"  # 20 ML baclofen 1 MG/ML Injection: intrathecal, not counted
FUROSEMIDE_40_SCD = "313988"
SPIRONOLACTONE_IN = "9997"
ROPINIROLE_IN = "72302"
IBUPROFEN_400_SCD = "197805"
NAPROXEN_IN = "7258"
MG_LOINC_MASS = "19123-9"           # magnesium mg/dL
MG_LOINC_MOLAR = "2601-3"           # magnesium mmol/L
K_LOINC = "2823-3"                  # potassium
EGFR_LOINC = "98979-8"              # eGFR CKD-EPI 2021
CIRRHOSIS_ICD10 = "K74.60"
CKD4_ICD10 = "N18.4"
HYPOMAGNESEMIA_ICD10 = "E83.42"
PARKINSONS_ICD10 = "G20.A1"
RLS_ICD10 = "G25.81"
NEUROPATHY_ICD10 = "G62.9"          # polyneuropathy, unspecified (RED_FLAG)
MRI_LUMBAR_CPT = "72148"            # EXTENSIVE_WORKUP
NCS_CPT = "95907"                   # nerve conduction study (EXTENSIVE_WORKUP)
ABI_CPT = "93922"                   # arterial study: vascular assessment, NOT extensive work-up
REFERRAL_NEUROLOGY_SNOMED = "308474002"
MED_REVIEW_SNOMED = "182836005"
MED_REVIEW_DUE_SNOMED = "314529007"  # "medication review due": the review was NOT done

# Codes the rule pack v2 deck adds (tests/test_rules_v2_*.py; rules-v2.md and issue 12). Codes of
# the new value sets are real codes of their code systems, not yet in value_sets.csv.
G4762 = "G47.62"                    # ICD-10-CM sleep related leg cramps: a leg-specific index code
SNOMED_CRAMP = "55300003"           # SNOMED Cramp: a general index code
SNOMED_CRAMP_LOWER_LEG = "449918009"  # SNOMED Cramp in lower leg: leg-specific
SNOMED_CRAMP_LOWER_LEG_AT_REST = "102549009"  # SNOMED Cramp in lower leg associated with rest: leg-specific
QUININE_SCD_QUALAQUIN_SBD = "997012"  # quinine sulfate 324 MG Oral Capsule [Qualaquin]: RxNorm, not in value_sets.csv
MALARIA_ICD10 = "B54"               # unspecified malaria (LC-QUININE exclusion)
FALCIPARUM_MALARIA_ICD10 = "B50.9"  # Plasmodium falciparum malaria, unspecified
MALARIA_SNOMED = "61462000"         # SNOMED Malaria
CONSTIPATION_ICD10 = "K59.00"       # MAGNESIUM_OTHER_INDICATION
MIGRAINE_ICD10 = "G43.909"          # MAGNESIUM_OTHER_INDICATION
PRE_ECLAMPSIA_ICD10 = "O14.90"      # MAGNESIUM_OTHER_INDICATION
ATRIAL_FIBRILLATION_ICD10 = "I48.91"  # arrhythmia I47-I49: MAGNESIUM_OTHER_INDICATION
MAGNESIUM_DISORDER_ICD9 = "275.2"   # disorders of magnesium metabolism: high OR low, leaves HYPOMAGNESEMIA in v2
MAGNESIUM_DISORDER_SNOMED = "60853003"  # Disorder of magnesium metabolism: leaves HYPOMAGNESEMIA in v2
CKD5_ICD10 = "N18.5"
PAD_ICD10 = "I73.9"                 # peripheral vascular disease, unspecified (RED_FLAG, PAD/claudication)
MS_ICD10 = "G35"                    # multiple sclerosis (SPASTICITY)
CEREBRAL_PALSY_ICD10 = "G80.9"      # SPASTICITY
STROKE_SEQUELA_ICD10 = "I69.351"    # hemiplegia following cerebral infarction, right dominant side (SPASTICITY)
PSP_ICD10 = "G23.1"                 # progressive supranuclear palsy: atypical parkinsonism (PARKINSONS in v2)
STRIATONIGRAL_DEGENERATION_ICD10 = "G23.2"  # striatonigral degeneration (MSA, parkinsonian type)
LEWY_BODY_ICD10 = "G31.83"          # neurocognitive disorder (dementia) with Lewy bodies
GOUT_ICD10 = "M10.9"                # PAIN_INDICATION
KNEE_OSTEOARTHRITIS_ICD10 = "M17.11"  # PAIN_INDICATION
HIP_FRACTURE_ICD10 = "S72.001A"     # PAIN_INDICATION
LOW_BACK_PAIN_ICD10 = "M54.50"      # PAIN_INDICATION (not radiculopathy, so not a RED_FLAG)
HYPERTENSION_ICD10 = "I10"          # in no value set: a row that only marks a date
FERRITIN_LOINC = "2276-4"           # FERRITIN_LAB
FUROSEMIDE_IN = "4603"
HYDROCHLOROTHIAZIDE_IN = "5487"
HYDROCHLOROTHIAZIDE_25_SCD = "310798"
GABAPENTIN_IN = "25480"             # alpha-2-delta ligand (LC-FERRITIN-RLS)
PREGABALIN_IN = "187832"
DICLOFENAC_IN = "3355"
ATORVASTATIN_IN = "83367"           # CRAMP_PRECIPITANT (drugs_cramp_precipitants.csv, statin)
ATORVASTATIN_40_SCD = "617311"      # atorvastatin 40 MG Oral Tablet (CRAMP_PRECIPITANT)
ALBUTEROL_IN = "435"                # CRAMP_PRECIPITANT (beta2_agonist)
MRI_KNEE_JOINT_CPT = "73721"        # MRI any joint of lower extremity: leaves EXTENSIVE_WORKUP in v2
MRI_LOWER_EXTREMITY_CPT = "73718"   # MRI lower extremity other than joint: stays EXTENSIVE_WORKUP
ARTERIAL_DUPLEX_CPT = "93925"       # duplex scan of lower extremity arteries (vascular assessment)

# Rule pack v2 (issue 12, shared/spec/rules-v2.md) is written as tests before it is implemented.
# Every v2 deck test that needs v2 carries V2_PENDING: strict, so each must fail on today's code
# and the suite stays green on main. The implementation sets this one flag to False when it lands.
RULE_PACK_V2_PENDING = False
V2_PENDING = pytest.mark.xfail(RULE_PACK_V2_PENDING, strict=True, reason="rule pack v2 not implemented yet")

_ids = itertools.count(1)


def day(n: int) -> date:
    """n days after the index date (negative: before it)."""
    return INDEX + timedelta(days=n)


def born_aged(age: int, on: date = INDEX, days_after_birthday: int = 10) -> date:
    """A birth date that makes the patient `age` whole years old on `on`."""
    return date(on.year - age, on.month, on.day) - timedelta(days=days_after_birthday)


@dataclass(frozen=True)
class Row:
    table: str
    values: dict[str, Any]


def patient(patient_id: str, *, birth_date: date | None = None, age: int = 60, sex: str = "F",
            death_date: date | None = None, site_id: str = "SITE-A") -> Row:
    return Row("patients", {"patient_id": patient_id, "birth_date": birth_date or born_aged(age), "sex": sex,
                            "death_date": death_date, "site_id": site_id})


def dx(patient_id: str, code: str = R252, *, on: date = INDEX, code_system: str = "ICD10CM",
       description: str | None = None, resolved_date: date | None = None, encounter_id: str | None = None) -> Row:
    return Row("diagnoses", {"patient_id": patient_id, "encounter_id": encounter_id, "code_system": code_system,
                             "code": code, "description": description, "recorded_date": on,
                             "resolved_date": resolved_date})


def med(patient_id: str, code: str, *, on: date, end: date | None = None, code_system: str = "RXNORM",
        description: str | None = None, dose_value: float | None = None, dose_unit: str | None = None,
        frequency_per_day: float | None = None, route: str | None = "oral", status: str | None = "active",
        order_id: str | None = None, encounter_id: str | None = None) -> Row:
    return Row("medications", {
        "order_id": order_id or f"{patient_id}-m{next(_ids)}", "patient_id": patient_id, "encounter_id": encounter_id,
        "code_system": code_system, "code": code, "description": description, "start_date": on, "end_date": end,
        "dose_value": dose_value, "dose_unit": dose_unit, "frequency_per_day": frequency_per_day, "route": route,
        "prescriber_id": None, "status": status})


def lab(patient_id: str, code: str, *, on: date, value: float | None, unit: str | None,
        ref_low: float | None = None, ref_high: float | None = None, value_text: str | None = None,
        code_system: str = "LOINC", description: str | None = None, encounter_id: str | None = None) -> Row:
    return Row("labs", {"patient_id": patient_id, "encounter_id": encounter_id, "code_system": code_system,
                        "code": code, "description": description, "collected_date": on, "value_numeric": value,
                        "value_text": value_text, "unit": unit, "ref_low": ref_low, "ref_high": ref_high})


def proc(patient_id: str, code: str, *, on: date, code_system: str = "CPT", description: str | None = None,
         encounter_id: str | None = None) -> Row:
    return Row("procedures", {"patient_id": patient_id, "encounter_id": encounter_id, "code_system": code_system,
                              "code": code, "description": description, "performed_date": on})


def cramps_patient(patient_id: str, *, age: int = 60, on: date = INDEX, code: str = R252,
                   code_system: str = "ICD10CM", **patient_kw: Any) -> list[Row]:
    """A patient who enters the cohort on `on` (a LEG_CRAMPS diagnosis at `age`)."""
    return [patient(patient_id, birth_date=patient_kw.pop("birth_date", None) or born_aged(age, on), **patient_kw),
            dx(patient_id, code, on=on, code_system=code_system)]


# ---------------------------------------------------------------- loading and reading back

def write_deck_extract(folder: Path, rows: Iterable[Row], absent_tables: Sequence[str] = ()) -> Path:
    """The rows as a canonical extract folder (one CSV per table; `absent_tables` get no file)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_table: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_table.setdefault(row.table, []).append(row.values)
    if by_table.get("patients") and not by_table.get("medications"):
        # A run refuses an extract without a usable medication row; a deck about something else gets
        # one order no rule reads (omeprazole, years before any index date).
        filler = med(by_table["patients"][0]["patient_id"], "7646", on=date(2000, 1, 1), end=date(2000, 1, 10),
                     description="omeprazole 20 MG Delayed Release Oral Capsule", status="completed")
        by_table["medications"] = [filler.values]
    for table, spec in TABLES_BY_NAME.items():
        if table in absent_tables:
            continue
        columns = spec.column_names
        frame = pl.DataFrame([{c: _text(r.get(c)) for c in columns} for r in by_table.get(table, [])],
                             schema={c: pl.String for c in columns})
        frame.write_csv(folder / f"{table}.csv")
    return folder


def _text(value: Any) -> str | None:
    return None if value is None else value.isoformat() if isinstance(value, date) else str(value)


def load_rows(con: duckdb.DuckDBPyConnection, rows: Iterable[Row], run_id: str,
              absent_tables: Sequence[str] = ()) -> None:
    """Replaces staging.* with the rows through the real ingest: canonical CSV files, the canonical
    adapter, pandera validation and the load step (so a deck row that validation would reject is
    rejected here too)."""
    with tempfile.TemporaryDirectory(prefix="deck-") as tmp:
        extract = open_extract(write_deck_extract(Path(tmp), rows, absent_tables), "canonical")
        load_source(con, extract, date.today(), run_id)


@dataclass
class Deck:
    """An audited deck: the connection plus readers named by what tests ask."""

    con: duckdb.DuckDBPyConnection
    run_id: str
    source_path: str

    def status(self, rule_id: str, patient_id: str) -> str | None:
        row = self.con.execute("SELECT status FROM work.patient_rules WHERE rule_id = ? AND patient_id = ?",
                               [rule_id, patient_id]).fetchone()
        return row[0] if row else None

    def reason(self, rule_id: str, patient_id: str) -> str:
        return self.con.execute("SELECT reason FROM work.patient_rules WHERE rule_id = ? AND patient_id = ?",
                                [rule_id, patient_id]).fetchone()[0]

    def deviations(self, rule_id: str, patient_id: str) -> list[dict[str, Any]]:
        rows = self.con.execute(
            "SELECT event_date, severity, explanation, evidence FROM work.deviations "
            "WHERE rule_id = ? AND patient_id = ? ORDER BY event_date, explanation", [rule_id, patient_id]).fetchall()
        return [{"event_date": d, "severity": s, "explanation": e, "evidence": json.loads(j)} for d, s, e, j in rows]

    def cohort(self, patient_id: str) -> dict[str, Any] | None:
        rel = self.con.execute("SELECT * FROM work.cohort WHERE patient_id = ?", [patient_id])
        row = rel.fetchone()
        return dict(zip([c[0] for c in rel.description], row, strict=True)) if row else None

    def attrition(self) -> list[tuple[int, str, int]]:
        return self.con.execute("SELECT step_number, step, patients FROM work.cohort_attrition "
                                "ORDER BY step_number").fetchall()

    def results(self, rule_id: str) -> dict[str, Any]:
        rel = self.con.execute("SELECT * FROM work.rule_results WHERE rule_id = ?", [rule_id])
        return dict(zip([c[0] for c in rel.description], rel.fetchone(), strict=True))

    def matched_sets(self, order_id: str) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT value_set FROM work.med_matches WHERE order_id = ?",
                                               [order_id]).fetchall()}

    def lab_mmol(self, patient_id: str) -> list[float | None]:
        return [r[0] for r in self.con.execute("SELECT value_mmol FROM work.lab_values WHERE patient_id = ? "
                                               "ORDER BY collected_date, source_row", [patient_id]).fetchall()]

    def publish(self, status: str = "succeeded") -> None:
        """The run's publish stage (work.* into audit.*) and its ledger row, closed as `status`
        ("failed": rows a real run would not publish, so tests can check readers skip them)."""
        record = ledger.RunRecord(self.run_id, self.source_path, "canonical")
        ledger.start_run(self.con, record)
        run_stage(self.con, "publish")
        if status == "succeeded":
            ledger.succeed_run(self.con, record)
        else:
            ledger.fail_run(self.con, record, f"deck run marked {status}")


def audit_deck(rows: Sequence[Row], *, period: tuple[date, date] | None = PERIOD,
               parameters: dict[str, float | int] | None = None, run_id: str = "deck-run",
               source_path: str = "deck", absent_tables: Sequence[str] = (),
               con: duckdb.DuckDBPyConnection | None = None) -> Deck:
    """Loads the rows, derives lab values, sets parameters (defaults + overrides) and evaluates.
    period=None uses the default period (the 365 days ending on the latest date in the rows).
    Pass `con` to audit again on the same database (e.g. a second run for previous rates)."""
    con = con or duckdb.connect()
    load_rows(con, rows, run_id, absent_tables)
    params = {**load_parameters(), **(parameters or {})}
    start, end = period if period else (None, None)
    set_parameters(con, params, start, end)
    evaluate(con, run_id, source_path)
    return Deck(con, run_id, source_path)
