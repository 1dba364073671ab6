"""Rule pack v2, the two new rules (rules-v2.md, "Two new rules") and the catalogue they make:
LC-FERRITIN-RLS (ferritin when restless legs are suspected) and LC-MED-REVIEW (a medication review
when a drug that can cause cramps is active), 14 rules, rule_pack_version 2, and every new
parameter with its default. One deck; each patient is named by what it demonstrates and each
expectation cites the sentence it follows from. Every test here fails on rule pack v1 (V2_PENDING).

Parameter names the implementation must provide (defaults asserted in test_v2_parameters_and_defaults):
    named by rules-v2.md: closed_order_days 30, open_order_max_days 365, incident_lookback_days 365,
        mg_monitor_days 14, review_days 30 (LC-CIRRHOSIS-DIURETIC and LC-MED-REVIEW), egfr_min 30
    chosen here for the windows rules-v2.md gives without a name:
        quinine_malaria_days 30, mg_other_indication_days 30, mg_monitor_from_days 3,
        diuretic_renewal_days 7, referral_lookback_days 90, parkinsons_after_days 90,
        pain_indication_lookback_days 365, ferritin_lookback_days 90, ferritin_after_days 30
"""

from __future__ import annotations

import pytest
from deck import (
    ALBUTEROL_IN,
    ATORVASTATIN_40_SCD,
    ATORVASTATIN_IN,
    FERRITIN_LOINC,
    GABAPENTIN_IN,
    HYPERTENSION_ICD10,
    MED_REVIEW_DUE_SNOMED,
    MED_REVIEW_SNOMED,
    PREGABALIN_IN,
    RLS_ICD10,
    ROPINIROLE_IN,
    V2_PENDING,
    Deck,
    Row,
    audit_deck,
    cramps_patient,
    day,
    dx,
    lab,
    med,
    proc,
)

from cramp_audit.config import load_parameters
from cramp_audit.rules_engine import RULE_PACK_VERSION, discover_rules

pytestmark = V2_PENDING

ROWS: list[Row] = [*cramps_patient("data_end_marker"), dx("data_end_marker", HYPERTENSION_ICD10, on=day(400))]
EXPECTED: dict[tuple[str, str], str] = {}


def case(rule_id: str, patient_id: str, expected: str, *rows: Row, **patient_kw) -> None:
    ROWS.extend([*cramps_patient(patient_id, **patient_kw), *rows])
    EXPECTED[(rule_id, patient_id)] = expected


def ferritin(pid: str, on: int, value: float | None = 30, value_text: str | None = None) -> Row:
    return lab(pid, FERRITIN_LOINC, on=day(on), value=value, unit="ng/mL", value_text=value_text)


# ---------------------------------------------------------------- LC-FERRITIN-RLS
# rules-v2.md: "LC-FERRITIN-RLS (low) - "Measure serum ferritin if restless leg syndrome is suspected".
# Denominator: cohort patients with a RESTLESS_LEGS diagnosis or a DOPAMINERGIC / alpha-2-delta start
# inside follow-up. Deviation: no ferritin result (LOINC 2276-4 and the FERRITIN_LAB set) from that
# date - 90 to + 30 days." Text that is not a value "is not a result" (rules-v2.md, "Labs").
FE = "LC-FERRITIN-RLS"


def rls(pid: str, on: int = 10) -> Row:
    return dx(pid, RLS_ICD10, on=day(on))


case(FE, "rls_diagnosis_without_ferritin_is_a_deviation", "deviation",
     rls("rls_diagnosis_without_ferritin_is_a_deviation"))
case(FE, "rls_ferritin_90_days_before_is_met", "met", rls("rls_ferritin_90_days_before_is_met"),
     ferritin("rls_ferritin_90_days_before_is_met", -80))
case(FE, "rls_ferritin_91_days_before_is_a_deviation", "deviation", rls("rls_ferritin_91_days_before_is_a_deviation"),
     ferritin("rls_ferritin_91_days_before_is_a_deviation", -81))
case(FE, "rls_ferritin_30_days_after_is_met", "met", rls("rls_ferritin_30_days_after_is_met"),
     ferritin("rls_ferritin_30_days_after_is_met", 40))
case(FE, "rls_ferritin_31_days_after_is_a_deviation", "deviation", rls("rls_ferritin_31_days_after_is_a_deviation"),
     ferritin("rls_ferritin_31_days_after_is_a_deviation", 41))
case(FE, "rls_ferritin_haemolysed_is_no_result", "deviation", rls("rls_ferritin_haemolysed_is_no_result"),
     ferritin("rls_ferritin_haemolysed_is_no_result", 12, value=None, value_text="haemolysed"))
case(FE, "rls_diagnosed_day_180_is_judged", "deviation", rls("rls_diagnosed_day_180_is_judged", 180))
case(FE, "ropinirole_started_with_ferritin_is_met", "met",
     med("ropinirole_started_with_ferritin_is_met", ROPINIROLE_IN, on=day(10)),
     ferritin("ropinirole_started_with_ferritin_is_met", 20))
case(FE, "ropinirole_started_without_ferritin_is_a_deviation", "deviation",
     med("ropinirole_started_without_ferritin_is_a_deviation", ROPINIROLE_IN, on=day(10)))
case(FE, "gabapentin_started_without_ferritin_is_a_deviation", "deviation",
     med("gabapentin_started_without_ferritin_is_a_deviation", GABAPENTIN_IN, on=day(10)))
case(FE, "pregabalin_started_with_ferritin_the_same_day_is_met", "met",
     med("pregabalin_started_with_ferritin_the_same_day_is_met", PREGABALIN_IN, on=day(10)),
     ferritin("pregabalin_started_with_ferritin_the_same_day_is_met", 10))
case(FE, "gabapentin_started_day_181_is_not_applicable", "not_applicable",
     med("gabapentin_started_day_181_is_not_applicable", GABAPENTIN_IN, on=day(181)))
case(FE, "no_restless_legs_is_not_applicable", "not_applicable")
# rules-v2.md: windows end at the death date; "A patient with no deviation in a window that was cut
# short is not evaluable with the reason".
case(FE, "rls_died_before_the_ferritin_window_ended_is_not_evaluable", "not_evaluable",
     rls("rls_died_before_the_ferritin_window_ended_is_not_evaluable"), death_date=day(20))

# ---------------------------------------------------------------- LC-MED-REVIEW
# rules-v2.md: "LC-MED-REVIEW (low) - "Do not overlook medication review, as certain drugs may
# precipitate or worsen cramps". Denominator: cohort patients with a CRAMP_PRECIPITANT order
# (drugs_cramp_precipitants.csv) active on the index date. Deviation: within review_days no
# MEDICATION_REVIEW and no stop or change of that drug." Activity as rules-v2.md defines it;
# review_days (30) counted from the index date as LC-CIRRHOSIS-DIURETIC's.
MR = "LC-MED-REVIEW"


def statin(pid: str, start: int = -200, end: int | None = None, mg_per_day: float = 40, **kw) -> Row:
    return med(pid, ATORVASTATIN_40_SCD if mg_per_day == 40 else ATORVASTATIN_IN, on=day(start),
               end=day(end) if end is not None else None, dose_value=mg_per_day, dose_unit="mg",
               frequency_per_day=1, **kw)


def review(pid: str, on: int, code: str = MED_REVIEW_SNOMED) -> Row:
    return proc(pid, code, on=day(on), code_system="SNOMED")


case(MR, "statin_active_on_index_without_review_is_a_deviation", "deviation",
     statin("statin_active_on_index_without_review_is_a_deviation"))
case(MR, "statin_with_medication_review_on_index_is_met", "met",
     statin("statin_with_medication_review_on_index_is_met"),
     review("statin_with_medication_review_on_index_is_met", 0))
case(MR, "statin_with_medication_review_day_30_is_met", "met", statin("statin_with_medication_review_day_30_is_met"),
     review("statin_with_medication_review_day_30_is_met", 30))
case(MR, "statin_with_medication_review_day_31_is_a_deviation", "deviation",
     statin("statin_with_medication_review_day_31_is_a_deviation"),
     review("statin_with_medication_review_day_31_is_a_deviation", 31))
case(MR, "statin_with_medication_review_the_day_before_index_is_a_deviation", "deviation",
     statin("statin_with_medication_review_the_day_before_index_is_a_deviation"),
     review("statin_with_medication_review_the_day_before_index_is_a_deviation", -1))
case(MR, "statin_medication_review_due_is_not_a_review", "deviation",
     statin("statin_medication_review_due_is_not_a_review"),
     review("statin_medication_review_due_is_not_a_review", 5, MED_REVIEW_DUE_SNOMED))
case(MR, "statin_stopped_day_20_is_met", "met", statin("statin_stopped_day_20_is_met", end=20))
case(MR, "statin_dose_changed_day_15_is_met", "met", statin("statin_dose_changed_day_15_is_met"),
     statin("statin_dose_changed_day_15_is_met", start=15, mg_per_day=20))
case(MR, "albuterol_active_on_index_without_review_is_a_deviation", "deviation",
     med("albuterol_active_on_index_without_review_is_a_deviation", ALBUTEROL_IN, on=day(-50), route="inhalation"))
case(MR, "statin_ended_before_index_is_not_applicable", "not_applicable",
     statin("statin_ended_before_index_is_not_applicable", end=-1))
case(MR, "statin_completed_without_end_31_days_before_index_is_not_applicable", "not_applicable",
     statin("statin_completed_without_end_31_days_before_index_is_not_applicable", start=-31, status="completed"))
case(MR, "no_cramp_precipitant_is_not_applicable", "not_applicable")
case(MR, "statin_died_day_10_without_review_is_not_evaluable", "not_evaluable",
     statin("statin_died_day_10_without_review_is_not_evaluable"), death_date=day(10))


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


@pytest.mark.parametrize("rule_id, patient_id", list(EXPECTED), ids=[f"{p}[{r}]" for r, p in EXPECTED])
def test_status(deck: Deck, rule_id: str, patient_id: str) -> None:
    assert deck.status(rule_id, patient_id) == EXPECTED[(rule_id, patient_id)]


def test_a_death_inside_the_window_names_the_death_date(deck: Deck) -> None:
    """rules-v2.md: not evaluable "with the reason ("died 2025-03-04 before the 30-day window ended")"."""
    assert "died 2025-03-21" in deck.reason(FE, "rls_died_before_the_ferritin_window_ended_is_not_evaluable")
    assert "died 2025-03-11" in deck.reason(MR, "statin_died_day_10_without_review_is_not_evaluable")


def test_the_rule_pack_has_14_rules_and_is_version_2(deck: Deck) -> None:
    """rules-v2.md "Two new rules", both (low); issue 12: "`cramp-audit rules` lists 14 rules" and
    "rule_pack_version becomes 2"."""
    rules = {rule.id: rule for rule in discover_rules()}
    assert len(rules) == 14
    assert (rules[FE].severity, rules[MR].severity) == ("low", "low")
    assert rules[FE].guideline_statement == "Measure serum ferritin if restless leg syndrome is suspected"
    assert rules[MR].guideline_statement == ("Do not overlook medication review, as certain drugs may precipitate or "
                                             "worsen cramps")
    assert RULE_PACK_VERSION == "2"
    assert {r for (r,) in deck.con.execute("SELECT rule_id FROM work.rules").fetchall()} == set(rules)


V2_PARAMETERS = {
    # named by rules-v2.md
    "closed_order_days": 30, "open_order_max_days": 365, "incident_lookback_days": 365, "mg_monitor_days": 14,
    "review_days": 30, "egfr_min": 30,
    # windows rules-v2.md gives without a name
    "quinine_malaria_days": 30, "mg_other_indication_days": 30, "mg_monitor_from_days": 3,
    "diuretic_renewal_days": 7, "referral_lookback_days": 90, "parkinsons_after_days": 90,
    "pain_indication_lookback_days": 365, "ferritin_lookback_days": 90, "ferritin_after_days": 30,
}


def test_v2_parameters_and_defaults() -> None:
    """rules-v2.md: "Every new number below is a parameter in sql/parameters.toml"; the v2 deck
    asserts these defaults and passes none of them."""
    parameters = load_parameters()
    assert {name: parameters.get(name) for name in V2_PARAMETERS} == V2_PARAMETERS
