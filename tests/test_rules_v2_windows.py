"""Rule pack v2, windows (rules-v2.md, "Windows, deaths, end of data"; issue 12 item 4): the fixed
windows of LC-ELECTROLYTES, LC-CIRRHOSIS-DIURETIC, LC-NSAID-ELDERLY, LC-WORKUP-EXCESS and
LC-REFERRAL-MISSED cut at death and at the end of the data, incident cases, and chronic conditions
(RED_FLAG, CIRRHOSIS) that count however long ago they were recorded unless resolved.

The data of this deck end on day 100 (2025-06-09), the latest event date in the extract: patients
indexed on day 0 have all these windows inside the data, patients indexed on day 71 or later do not.
The audit period is the deck's usual calendar year, so earlier leg-cramps diagnoses in 2024 are
before the period and leave the index date alone. Rules whose window is follow-up (180 days) are
not judged in this deck: whether a follow-up cut by the end of the data makes them not evaluable is
not settled by rules-v2.md (see the report). One deck; each patient is named by what it
demonstrates. Cases marked V2_PENDING fail on rule pack v1; the others already hold (regressions).

Parameter names the implementation must provide (defaults asserted here, none passed):
    incident_lookback_days = 365  (rules-v2.md names it)
"""

from __future__ import annotations

import pytest
from deck import (
    CIRRHOSIS_ICD10,
    FUROSEMIDE_40_SCD,
    G4762,
    HYPERTENSION_ICD10,
    IBUPROFEN_400_SCD,
    K_LOINC,
    MED_REVIEW_SNOMED,
    MG_LOINC_MOLAR,
    MRI_LUMBAR_CPT,
    NEUROPATHY_ICD10,
    QUININE_SCD,
    R252,
    REFERRAL_NEUROLOGY_SNOMED,
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

DATA_END = day(100)
ROWS: list[Row] = [*cramps_patient("data_end_marker"), dx("data_end_marker", HYPERTENSION_ICD10, on=DATA_END)]
CASES: dict[tuple[str, str], tuple[str, bool]] = {}  # (rule, patient) -> (expected status, v1 already agrees)


def case(rule_id: str, patient_id: str, expected: str, *rows: Row, v1_agrees: bool = False, age: int = 60,
         index: int = 0, **patient_kw) -> None:
    """One deck patient entering the cohort on day `index` with `rows`; `v1_agrees`: rule pack v1
    already gives `expected` (a regression case, not V2_PENDING)."""
    ROWS.extend([*cramps_patient(patient_id, age=age, on=day(index), **patient_kw), *rows])
    CASES[(rule_id, patient_id)] = (expected, v1_agrees)


def also(rule_id: str, patient_id: str, expected: str, *, v1_agrees: bool = False) -> None:
    """A further expectation for a patient already in the deck."""
    CASES[(rule_id, patient_id)] = (expected, v1_agrees)


def electrolytes(pid: str, on: int) -> list[Row]:
    return [lab(pid, K_LOINC, on=day(on), value=4.0, unit="mmol/L"),
            lab(pid, MG_LOINC_MOLAR, on=day(on), value=0.8, unit="mmol/L")]


def cirrhotic_on_furosemide(pid: str, end: int | None = None) -> list[Row]:
    return [dx(pid, CIRRHOSIS_ICD10, on=day(-200)),
            med(pid, FUROSEMIDE_40_SCD, on=day(-100), end=day(end) if end is not None else None)]


def referral(pid: str, on: int) -> Row:
    return proc(pid, REFERRAL_NEUROLOGY_SNOMED, on=day(on), code_system="SNOMED")


T, C, N = "LC-ELECTROLYTES", "LC-CIRRHOSIS-DIURETIC", "LC-NSAID-ELDERLY"
W, F2 = "LC-WORKUP-EXCESS", "LC-REFERRAL-MISSED"

# ---------------------------------------------------------------- deaths (issue 12 item 4)
# rules-v2.md: "Every window ends at the earliest of its own end, the death date and the end of the
# data ... A patient with no deviation in a window that was cut short is not evaluable with the reason
# ("died 2025-03-04 before the 30-day window ended", ...); a deviation already shown inside the
# observed part stands."
ITEM4 = "died_3_days_after_index_is_not_three_deviations"
case(T, ITEM4, "not_evaluable", *cirrhotic_on_furosemide(ITEM4), dx(ITEM4, NEUROPATHY_ICD10, on=day(-10)),
     age=70, death_date=day(3))
also(C, ITEM4, "not_evaluable")
also(F2, ITEM4, "not_evaluable")
also(N, ITEM4, "not_evaluable")
also(W, ITEM4, "not_applicable", v1_agrees=True)  # a red flag: not in the work-up denominator

case(T, "died_day_29_without_electrolytes_is_not_evaluable", "not_evaluable", death_date=day(29))
case(T, "died_day_30_without_electrolytes_is_a_deviation", "deviation", death_date=day(30), v1_agrees=True)
case(T, "died_day_3_with_both_checked_before_is_met", "met",
     *electrolytes("died_day_3_with_both_checked_before_is_met", -10), death_date=day(3), v1_agrees=True)
case(T, "died_day_3_with_potassium_only_is_not_evaluable", "not_evaluable",
     lab("died_day_3_with_potassium_only_is_not_evaluable", K_LOINC, on=day(-10), value=4.0, unit="mmol/L"),
     death_date=day(3))
case(N, "died_day_10_nsaid_day_5_is_a_deviation", "deviation",
     med("died_day_10_nsaid_day_5_is_a_deviation", IBUPROFEN_400_SCD, on=day(5)), age=70, death_date=day(10),
     v1_agrees=True)
case(N, "died_day_10_without_nsaid_is_not_evaluable", "not_evaluable", age=70, death_date=day(10))
case(W, "died_day_10_mri_day_5_is_a_deviation", "deviation",
     proc("died_day_10_mri_day_5_is_a_deviation", MRI_LUMBAR_CPT, on=day(5)), death_date=day(10), v1_agrees=True)
case(W, "died_day_60_without_workup_is_not_evaluable", "not_evaluable", death_date=day(60))
case(C, "died_day_10_furosemide_stopped_day_5_is_met", "met",
     *cirrhotic_on_furosemide("died_day_10_furosemide_stopped_day_5_is_met", end=5), death_date=day(10),
     v1_agrees=True)
case(C, "died_day_10_without_diuretic_review_is_not_evaluable", "not_evaluable",
     *cirrhotic_on_furosemide("died_day_10_without_diuretic_review_is_not_evaluable"), death_date=day(10))
case(F2, "died_day_60_red_flag_referred_day_30_is_met", "met",
     dx("died_day_60_red_flag_referred_day_30_is_met", NEUROPATHY_ICD10, on=day(-10)),
     referral("died_day_60_red_flag_referred_day_30_is_met", 30), death_date=day(60), v1_agrees=True)
case(F2, "died_day_60_red_flag_not_referred_is_not_evaluable", "not_evaluable",
     dx("died_day_60_red_flag_not_referred_is_not_evaluable", NEUROPATHY_ICD10, on=day(-10)), death_date=day(60))

# ---------------------------------------------------------------- end of the data
# rules-v2.md: "the end of the data (the latest event date anywhere in the extract, where the default
# period ends too; not the run date)"; not evaluable "("data ends 2025-06-30 before the 90-day window
# ended")". Patients indexed on day 80: every window below runs past day 100.
LATE = 80
case(T, "late_index_without_electrolytes_is_not_evaluable", "not_evaluable", index=LATE)
case(T, "late_index_with_electrolytes_is_met", "met", *electrolytes("late_index_with_electrolytes_is_met", 81),
     index=LATE, v1_agrees=True)
case(T, "index_day_70_window_ends_on_the_last_day_of_data_is_judged", "deviation", index=70, v1_agrees=True)
case(T, "index_day_71_window_ends_after_the_data_is_not_evaluable", "not_evaluable", index=71)
case(N, "late_index_without_nsaid_is_not_evaluable", "not_evaluable", index=LATE, age=70)
case(N, "late_index_nsaid_day_85_is_a_deviation", "deviation",
     med("late_index_nsaid_day_85_is_a_deviation", IBUPROFEN_400_SCD, on=day(85)), index=LATE, age=70,
     v1_agrees=True)
case(C, "late_index_cirrhosis_without_review_is_not_evaluable", "not_evaluable",
     *cirrhotic_on_furosemide("late_index_cirrhosis_without_review_is_not_evaluable"), index=LATE)
case(C, "late_index_cirrhosis_reviewed_day_90_is_met", "met",
     *cirrhotic_on_furosemide("late_index_cirrhosis_reviewed_day_90_is_met"),
     proc("late_index_cirrhosis_reviewed_day_90_is_met", MED_REVIEW_SNOMED, on=day(90), code_system="SNOMED"),
     index=LATE, v1_agrees=True)
case(W, "late_index_without_workup_is_not_evaluable", "not_evaluable", index=LATE)
case(W, "late_index_mri_day_90_is_a_deviation", "deviation",
     proc("late_index_mri_day_90_is_a_deviation", MRI_LUMBAR_CPT, on=day(90)), index=LATE, v1_agrees=True)
case(F2, "late_index_red_flag_not_referred_is_not_evaluable", "not_evaluable",
     dx("late_index_red_flag_not_referred_is_not_evaluable", NEUROPATHY_ICD10, on=day(60)), index=LATE)

# ---------------------------------------------------------------- incident cases
# rules-v2.md: "Incident cases for LC-ELECTROLYTES, LC-WORKUP-EXCESS and LC-REFERRAL-MISSED: a patient
# with a LEG_CRAMPS diagnosis in the incident_lookback_days (365) before the index date is excluded
# ("already diagnosed on 2024-11-03")." (Only those three rules: LC-QUININE still judges the patient.)
case(T, "already_diagnosed_365_days_before_index_is_excluded", "excluded",
     dx("already_diagnosed_365_days_before_index_is_excluded", R252, on=day(-365)))
case(T, "diagnosed_366_days_before_index_is_an_incident_case", "deviation",
     dx("diagnosed_366_days_before_index_is_an_incident_case", R252, on=day(-366)), v1_agrees=True)
case(W, "already_diagnosed_is_excluded_from_workup", "excluded",
     dx("already_diagnosed_is_excluded_from_workup", R252, on=day(-100)),
     proc("already_diagnosed_is_excluded_from_workup", MRI_LUMBAR_CPT, on=day(20)))
case(F2, "already_diagnosed_with_sleep_related_cramps_is_excluded_from_referral", "excluded",
     dx("already_diagnosed_with_sleep_related_cramps_is_excluded_from_referral", G4762, on=day(-100)),
     dx("already_diagnosed_with_sleep_related_cramps_is_excluded_from_referral", NEUROPATHY_ICD10, on=day(-10)))
case("LC-QUININE", "already_diagnosed_quinine_is_still_a_deviation", "deviation",
     dx("already_diagnosed_quinine_is_still_a_deviation", R252, on=day(-100)),
     med("already_diagnosed_quinine_is_still_a_deviation", QUININE_SCD, on=day(5)), v1_agrees=True)

# ---------------------------------------------------------------- chronic conditions
# rules-v2.md: "Chronic conditions (RED_FLAG, CKD_SEVERE, CIRRHOSIS, HYPOMAGNESEMIA, PARKINSONS) count
# as present on a date when recorded on or before it and not resolved before it, however long ago."
case(W, "neuropathy_recorded_years_before_and_unresolved_is_a_red_flag", "not_applicable",
     dx("neuropathy_recorded_years_before_and_unresolved_is_a_red_flag", NEUROPATHY_ICD10, on=day(-2000)),
     proc("neuropathy_recorded_years_before_and_unresolved_is_a_red_flag", MRI_LUMBAR_CPT, on=day(20)))
case(W, "neuropathy_resolved_years_before_is_no_red_flag", "deviation",
     dx("neuropathy_resolved_years_before_is_no_red_flag", NEUROPATHY_ICD10, on=day(-2000),
        resolved_date=day(-1000)),
     proc("neuropathy_resolved_years_before_is_no_red_flag", MRI_LUMBAR_CPT, on=day(20)), v1_agrees=True)
also(F2, "neuropathy_resolved_years_before_is_no_red_flag", "not_applicable", v1_agrees=True)
case(F2, "old_unresolved_red_flag_referred_is_met", "met",
     dx("old_unresolved_red_flag_referred_is_met", NEUROPATHY_ICD10, on=day(-2000)),
     referral("old_unresolved_red_flag_referred_is_met", 10))
case(F2, "old_unresolved_red_flag_not_referred_is_a_deviation", "deviation",
     dx("old_unresolved_red_flag_not_referred_is_a_deviation", NEUROPATHY_ICD10, on=day(-2000)))
case(C, "cirrhosis_resolved_the_day_before_index_is_not_present", "not_applicable",
     dx("cirrhosis_resolved_the_day_before_index_is_not_present", CIRRHOSIS_ICD10, on=day(-3000),
        resolved_date=day(-1)),
     med("cirrhosis_resolved_the_day_before_index_is_not_present", FUROSEMIDE_40_SCD, on=day(-100)))
case(C, "cirrhosis_resolved_on_index_is_present", "deviation",
     dx("cirrhosis_resolved_on_index_is_present", CIRRHOSIS_ICD10, on=day(-3000), resolved_date=day(0)),
     med("cirrhosis_resolved_on_index_is_present", FUROSEMIDE_40_SCD, on=day(-100)), v1_agrees=True)


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


@pytest.mark.parametrize("rule_id, patient_id", [
    pytest.param(rule_id, patient_id, id=f"{patient_id}[{rule_id}]", marks=() if v1_agrees else V2_PENDING)
    for (rule_id, patient_id), (_, v1_agrees) in CASES.items()])
def test_status(deck: Deck, rule_id: str, patient_id: str) -> None:
    assert deck.status(rule_id, patient_id) == CASES[(rule_id, patient_id)][0]


@V2_PENDING
def test_item4_a_patient_who_died_3_days_after_index_is_not_three_deviations(deck: Deck) -> None:
    """Issue 12 item 4: the fixed windows (electrolytes, diuretic review, referral, NSAID) are cut at
    death; with nothing shown before the death the patient is not evaluable, and the reason names the
    death date (rules-v2.md: "died 2025-03-04 before the 30-day window ended")."""
    for rule_id in (T, C, F2, N):
        assert deck.status(rule_id, ITEM4) == "not_evaluable", rule_id
        assert "died 2025-03-04" in deck.reason(rule_id, ITEM4), rule_id
        assert deck.deviations(rule_id, ITEM4) == [], rule_id


@V2_PENDING
def test_a_window_past_the_end_of_the_data_names_the_data_end(deck: Deck) -> None:
    """rules-v2.md: not evaluable with the reason ("data ends 2025-06-30 before the 90-day window
    ended"); the end of the data is the latest event date in the extract (day 100), not the run date."""
    for rule_id, pid in ((T, "late_index_without_electrolytes_is_not_evaluable"),
                         (C, "late_index_cirrhosis_without_review_is_not_evaluable"),
                         (W, "late_index_without_workup_is_not_evaluable"),
                         (F2, "late_index_red_flag_not_referred_is_not_evaluable")):
        assert "data ends 2025-06-09" in deck.reason(rule_id, pid), rule_id


@V2_PENDING
def test_an_incident_exclusion_names_the_earlier_diagnosis(deck: Deck) -> None:
    """rules-v2.md: excluded ("already diagnosed on 2024-11-03")."""
    assert "already diagnosed on 2024-03-01" in deck.reason(T, "already_diagnosed_365_days_before_index_is_excluded")
