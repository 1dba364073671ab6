"""Care-process rules: LC-CIRRHOSIS-DIURETIC, LC-ELECTROLYTES, LC-DEFICIENCY-UNTREATED,
LC-WORKUP-EXCESS, LC-REFERRAL-MISSED. One deck; each patient is named by what it demonstrates."""

from __future__ import annotations

import pytest
from deck import (
    ABI_CPT,
    CIRRHOSIS_ICD10,
    FUROSEMIDE_40_SCD,
    K_LOINC,
    KCL_20_SCD,
    MED_REVIEW_DUE_SNOMED,
    MED_REVIEW_SNOMED,
    MG_LOINC_MASS,
    MG_LOINC_MOLAR,
    MG_SULFATE_INJ_SCD,
    MRI_LUMBAR_CPT,
    NCS_CPT,
    NEUROPATHY_ICD10,
    REFERRAL_NEUROLOGY_SNOMED,
    SPIRONOLACTONE_IN,
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

# rules-v2.md: windows end at the end of the data (the latest event date in the extract); the data of
# this deck run to day 400 so that no window below is cut by it (the v2 decks test the cut).
ROWS: list[Row] = [*cramps_patient("data_end_marker"), dx("data_end_marker", "I10", on=day(400))]
EXPECTED: dict[tuple[str, str], str] = {}


def case(rule_id: str, patient_id: str, expected: str, *rows: Row, **patient_kw) -> None:
    ROWS.extend([*cramps_patient(patient_id, **patient_kw), *rows])
    EXPECTED[(rule_id, patient_id)] = expected


def k_lab(pid: str, on: int, value: float, unit: str = "mmol/L", **kw) -> Row:
    return lab(pid, K_LOINC, on=day(on), value=value, unit=unit, **kw)


def mg_lab(pid: str, on: int, value: float, unit: str = "mmol/L", **kw) -> Row:
    return lab(pid, MG_LOINC_MASS if unit == "mg/dL" else MG_LOINC_MOLAR, on=day(on), value=value, unit=unit, **kw)


# ---------------------------------------------------------------- LC-CIRRHOSIS-DIURETIC
# rules.md: "Denominator: cohort patients with a CIRRHOSIS diagnosis recorded on or before the index
# date and a DIURETIC order active on the index date. Deviation: within review_days (30) after the
# index date there is no diuretic review: a DIURETIC order ends, a new DIURETIC order starts, or a
# MEDICATION_REVIEW procedure is recorded."
C = "LC-CIRRHOSIS-DIURETIC"


def cirrhotic_on_furosemide(pid: str, *, end: int | None = None) -> list[Row]:
    return [dx(pid, CIRRHOSIS_ICD10, on=day(-200)),
            med(pid, FUROSEMIDE_40_SCD, on=day(-100), end=day(end) if end is not None else None)]


case(C, "cirrhosis_on_furosemide_without_review_is_a_deviation", "deviation",
     *cirrhotic_on_furosemide("cirrhosis_on_furosemide_without_review_is_a_deviation"))
case(C, "medication_review_day_30_is_met", "met", *cirrhotic_on_furosemide("medication_review_day_30_is_met"),
     proc("medication_review_day_30_is_met", MED_REVIEW_SNOMED, on=day(30), code_system="SNOMED"))
case(C, "medication_review_day_31_is_a_deviation", "deviation",
     *cirrhotic_on_furosemide("medication_review_day_31_is_a_deviation"),
     proc("medication_review_day_31_is_a_deviation", MED_REVIEW_SNOMED, on=day(31), code_system="SNOMED"))
case(C, "cpt_ii_medication_review_is_met", "met", *cirrhotic_on_furosemide("cpt_ii_medication_review_is_met"),
     proc("cpt_ii_medication_review_is_met", "1160F", on=day(3)))
case(C, "medication_review_due_is_not_a_review", "deviation",
     *cirrhotic_on_furosemide("medication_review_due_is_not_a_review"),
     proc("medication_review_due_is_not_a_review", MED_REVIEW_DUE_SNOMED, on=day(3), code_system="SNOMED"))
case(C, "furosemide_stopped_day_30_is_met", "met", *cirrhotic_on_furosemide("furosemide_stopped_day_30_is_met",
                                                                            end=30))
case(C, "furosemide_stopped_on_index_is_met", "met", *cirrhotic_on_furosemide("furosemide_stopped_on_index_is_met",
                                                                              end=0))
case(C, "furosemide_stopped_day_31_is_a_deviation", "deviation",
     *cirrhotic_on_furosemide("furosemide_stopped_day_31_is_a_deviation", end=31))
case(C, "spironolactone_added_day_30_is_met", "met", *cirrhotic_on_furosemide("spironolactone_added_day_30_is_met"),
     med("spironolactone_added_day_30_is_met", SPIRONOLACTONE_IN, on=day(30)))
case(C, "spironolactone_added_day_31_is_a_deviation", "deviation",
     *cirrhotic_on_furosemide("spironolactone_added_day_31_is_a_deviation"),
     med("spironolactone_added_day_31_is_a_deviation", SPIRONOLACTONE_IN, on=day(31)))
case(C, "cirrhosis_recorded_on_index_is_in_the_denominator", "deviation",
     dx("cirrhosis_recorded_on_index_is_in_the_denominator", CIRRHOSIS_ICD10, on=day(0)),
     med("cirrhosis_recorded_on_index_is_in_the_denominator", FUROSEMIDE_40_SCD, on=day(-100)))
case(C, "diuretic_started_on_index_is_active_but_not_a_change", "deviation",
     dx("diuretic_started_on_index_is_active_but_not_a_change", CIRRHOSIS_ICD10, on=day(-10)),
     med("diuretic_started_on_index_is_active_but_not_a_change", FUROSEMIDE_40_SCD, on=day(0)))
case(C, "cirrhosis_recorded_after_index_is_not_applicable", "not_applicable",
     dx("cirrhosis_recorded_after_index_is_not_applicable", CIRRHOSIS_ICD10, on=day(1)),
     med("cirrhosis_recorded_after_index_is_not_applicable", FUROSEMIDE_40_SCD, on=day(-100)))
case(C, "diuretic_ended_before_index_is_not_applicable", "not_applicable",
     *cirrhotic_on_furosemide("diuretic_ended_before_index_is_not_applicable", end=-1))
case(C, "icd9_cirrhosis_is_in_the_denominator", "deviation",
     dx("icd9_cirrhosis_is_in_the_denominator", "571.5", code_system="ICD9CM", on=day(-2000)),
     med("icd9_cirrhosis_is_in_the_denominator", FUROSEMIDE_40_SCD, on=day(-100)))

# ---------------------------------------------------------------- LC-ELECTROLYTES
# rules.md: "Deviation: no POTASSIUM_LAB result, or no MAGNESIUM_LAB result, from index -
# electrolyte_days (30) to index + electrolyte_days. The evidence names what is missing."
T = "LC-ELECTROLYTES"
case(T, "potassium_and_magnesium_at_the_window_edges_is_met", "met",
     k_lab("potassium_and_magnesium_at_the_window_edges_is_met", -30, 4.0),
     mg_lab("potassium_and_magnesium_at_the_window_edges_is_met", 30, 0.8))
case(T, "potassium_31_days_before_is_a_deviation", "deviation",
     k_lab("potassium_31_days_before_is_a_deviation", -31, 4.0),
     mg_lab("potassium_31_days_before_is_a_deviation", 0, 0.8))
case(T, "magnesium_31_days_after_is_a_deviation", "deviation",
     k_lab("magnesium_31_days_after_is_a_deviation", 0, 4.0),
     mg_lab("magnesium_31_days_after_is_a_deviation", 31, 0.8))
case(T, "no_electrolytes_is_a_deviation", "deviation")
case(T, "results_with_unknown_units_still_count_as_checked", "met",
     k_lab("results_with_unknown_units_still_count_as_checked", 1, 15.0, "mg/dL"),
     mg_lab("results_with_unknown_units_still_count_as_checked", 1, 1.9, "mg/L"))

# ---------------------------------------------------------------- LC-DEFICIENCY-UNTREATED
# rules.md: "Denominator: cohort patients with a low potassium or low magnesium result from index -
# 30 days to the end of follow-up. Deviation: a low potassium with no POTASSIUM_SUPPLEMENT order, or
# a low magnesium with no MAGNESIUM_SUPPLEMENT order (any route), starting within correction_days (14)
# after the result (or active on its date)."
F = "LC-DEFICIENCY-UNTREATED"
case(F, "low_potassium_kcl_started_14_days_later_is_met", "met",
     k_lab("low_potassium_kcl_started_14_days_later_is_met", 10, 3.2),
     med("low_potassium_kcl_started_14_days_later_is_met", KCL_20_SCD, on=day(24)))
case(F, "low_potassium_kcl_started_15_days_later_is_a_deviation", "deviation",
     k_lab("low_potassium_kcl_started_15_days_later_is_a_deviation", 10, 3.2),
     med("low_potassium_kcl_started_15_days_later_is_a_deviation", KCL_20_SCD, on=day(25)))
case(F, "low_potassium_kcl_started_same_day_is_met", "met",
     k_lab("low_potassium_kcl_started_same_day_is_met", 10, 3.2),
     med("low_potassium_kcl_started_same_day_is_met", KCL_20_SCD, on=day(10)))
case(F, "low_potassium_while_kcl_active_is_met", "met",
     k_lab("low_potassium_while_kcl_active_is_met", 10, 3.2),
     med("low_potassium_while_kcl_active_is_met", KCL_20_SCD, on=day(-50)))
case(F, "low_potassium_kcl_ended_the_day_before_is_a_deviation", "deviation",
     k_lab("low_potassium_kcl_ended_the_day_before_is_a_deviation", 10, 3.2),
     med("low_potassium_kcl_ended_the_day_before_is_a_deviation", KCL_20_SCD, on=day(-50), end=day(9)))
case(F, "potassium_3_4_meq_l_untreated_is_a_deviation", "deviation",
     k_lab("potassium_3_4_meq_l_untreated_is_a_deviation", 5, 3.4, "mEq/L"))
case(F, "potassium_3_5_is_not_low", "not_applicable", k_lab("potassium_3_5_is_not_low", 5, 3.5))
case(F, "potassium_3_6_below_its_own_ref_low_is_low", "deviation",
     k_lab("potassium_3_6_below_its_own_ref_low_is_low", 5, 3.6, ref_low=3.8))
case(F, "low_potassium_30_days_before_index_counts", "deviation",
     k_lab("low_potassium_30_days_before_index_counts", -30, 3.0))
case(F, "low_potassium_31_days_before_index_is_not_applicable", "not_applicable",
     k_lab("low_potassium_31_days_before_index_is_not_applicable", -31, 3.0))
case(F, "low_potassium_day_180_counts", "deviation", k_lab("low_potassium_day_180_counts", 180, 3.0))
case(F, "low_potassium_day_181_is_not_applicable", "not_applicable",
     k_lab("low_potassium_day_181_is_not_applicable", 181, 3.0))
case(F, "low_potassium_after_death_is_outside_follow_up", "not_applicable",
     k_lab("low_potassium_after_death_is_outside_follow_up", 120, 3.0), death_date=day(100))
case(F, "low_magnesium_treated_intravenously_is_met", "met",
     mg_lab("low_magnesium_treated_intravenously_is_met", 10, 0.55),
     med("low_magnesium_treated_intravenously_is_met", MG_SULFATE_INJ_SCD, on=day(11), route="intravenous"))
case(F, "low_magnesium_mg_dl_treated_with_potassium_is_a_deviation", "deviation",
     mg_lab("low_magnesium_mg_dl_treated_with_potassium_is_a_deviation", 10, 1.2, "mg/dL"),
     med("low_magnesium_mg_dl_treated_with_potassium_is_a_deviation", KCL_20_SCD, on=day(11)))
case(F, "low_potassium_with_losartan_potassium_is_a_deviation", "deviation",
     k_lab("low_potassium_with_losartan_potassium_is_a_deviation", 10, 3.1),
     med("low_potassium_with_losartan_potassium_is_a_deviation", "LOS", code_system="LOCAL", on=day(11),
         description="Losartan Potassium 50 MG Oral Tablet"))
case(F, "two_low_results_untreated_give_two_rows", "deviation",
     k_lab("two_low_results_untreated_give_two_rows", 10, 3.1),
     mg_lab("two_low_results_untreated_give_two_rows", 40, 0.6))
case(F, "low_value_with_unknown_unit_is_not_used", "not_applicable",
     mg_lab("low_value_with_unknown_unit_is_not_used", 10, 0.4, "mg/L"))

# ---------------------------------------------------------------- LC-WORKUP-EXCESS
# rules.md: "Denominator: cohort patients with no RED_FLAG diagnosis from index - 365 days to index +
# workup_days (90). Deviation: an EXTENSIVE_WORKUP procedure from index to index + workup_days."
W = "LC-WORKUP-EXCESS"
case(W, "lumbar_mri_day_20_without_red_flags_is_a_deviation", "deviation",
     proc("lumbar_mri_day_20_without_red_flags_is_a_deviation", MRI_LUMBAR_CPT, on=day(20)))
case(W, "nerve_conduction_study_day_90_is_a_deviation", "deviation",
     proc("nerve_conduction_study_day_90_is_a_deviation", NCS_CPT, on=day(90)))
case(W, "lumbar_mri_day_91_is_met", "met", proc("lumbar_mri_day_91_is_met", MRI_LUMBAR_CPT, on=day(91)))
case(W, "lumbar_mri_day_before_index_is_met", "met",
     proc("lumbar_mri_day_before_index_is_met", MRI_LUMBAR_CPT, on=day(-1)))
case(W, "ankle_brachial_index_is_not_extensive_workup", "met",
     proc("ankle_brachial_index_is_not_extensive_workup", ABI_CPT, on=day(5)))
case(W, "snomed_mri_lower_extremity_is_a_deviation", "deviation",
     proc("snomed_mri_lower_extremity_is_a_deviation", "113109007", code_system="SNOMED", on=day(5)))
case(W, "red_flag_365_days_before_is_not_applicable", "not_applicable",
     dx("red_flag_365_days_before_is_not_applicable", NEUROPATHY_ICD10, on=day(-365)),
     proc("red_flag_365_days_before_is_not_applicable", MRI_LUMBAR_CPT, on=day(20)))
# rules-v2.md: "Chronic conditions (RED_FLAG, ...) count as present on a date when recorded on or before
# it and not resolved before it, however long ago": an unresolved neuropathy recorded 366 days before is
# still a red flag (v1: outside the look-back, so judged).
case(W, "red_flag_366_days_before_is_still_a_red_flag", "not_applicable",
     dx("red_flag_366_days_before_is_still_a_red_flag", NEUROPATHY_ICD10, on=day(-366)),
     proc("red_flag_366_days_before_is_still_a_red_flag", MRI_LUMBAR_CPT, on=day(20)))
case(W, "red_flag_day_90_is_not_applicable", "not_applicable",
     dx("red_flag_day_90_is_not_applicable", "M21.371", on=day(90)),
     proc("red_flag_day_90_is_not_applicable", MRI_LUMBAR_CPT, on=day(20)))
case(W, "red_flag_day_91_is_judged", "deviation", dx("red_flag_day_91_is_judged", NEUROPATHY_ICD10, on=day(91)),
     proc("red_flag_day_91_is_judged", MRI_LUMBAR_CPT, on=day(20)))

# ---------------------------------------------------------------- LC-REFERRAL-MISSED
# rules.md: "Denominator: cohort patients with a RED_FLAG diagnosis from index - 365 days to index +
# workup_days (90). Deviation: no REFERRAL procedure (to neurology or vascular surgery) from index to
# index + referral_days (90)."
F2 = "LC-REFERRAL-MISSED"
case(F2, "neuropathy_referred_day_90_is_met", "met",
     dx("neuropathy_referred_day_90_is_met", NEUROPATHY_ICD10, on=day(-10)),
     proc("neuropathy_referred_day_90_is_met", REFERRAL_NEUROLOGY_SNOMED, on=day(90), code_system="SNOMED"))
case(F2, "neuropathy_referred_day_91_is_a_deviation", "deviation",
     dx("neuropathy_referred_day_91_is_a_deviation", NEUROPATHY_ICD10, on=day(-10)),
     proc("neuropathy_referred_day_91_is_a_deviation", REFERRAL_NEUROLOGY_SNOMED, on=day(91), code_system="SNOMED"))
# rules-v2.md: "LC-REFERRAL-MISSED: the referral window starts at index - 90 days" (v1: at index).
case(F2, "neuropathy_referred_the_day_before_index_is_met", "met",
     dx("neuropathy_referred_the_day_before_index_is_met", NEUROPATHY_ICD10, on=day(-10)),
     proc("neuropathy_referred_the_day_before_index_is_met", REFERRAL_NEUROLOGY_SNOMED, on=day(-1),
          code_system="SNOMED"))
case(F2, "vascular_surgery_referral_is_met", "met",
     dx("vascular_surgery_referral_is_met", "I73.9", on=day(0)),
     proc("vascular_surgery_referral_is_met", "307777008", on=day(10), code_system="SNOMED"))
case(F2, "icd9_neuropathy_without_referral_is_a_deviation", "deviation",
     dx("icd9_neuropathy_without_referral_is_a_deviation", "356.9", code_system="ICD9CM", on=day(-100)))
case(F2, "red_flag_day_90_without_referral_is_a_deviation", "deviation",
     dx("red_flag_day_90_without_referral_is_a_deviation", NEUROPATHY_ICD10, on=day(90)))
case(F2, "red_flag_365_days_before_is_judged", "deviation",
     dx("red_flag_365_days_before_is_judged", NEUROPATHY_ICD10, on=day(-365)))
case(F2, "red_flag_day_91_is_not_applicable", "not_applicable",
     dx("red_flag_day_91_is_not_applicable", NEUROPATHY_ICD10, on=day(91)))
# rules-v2.md chronic conditions: an unresolved red flag recorded 366 days before still counts.
case(F2, "red_flag_366_days_before_unresolved_is_a_deviation", "deviation",
     dx("red_flag_366_days_before_unresolved_is_a_deviation", NEUROPATHY_ICD10, on=day(-366)))
case(F2, "fasciculation_is_not_a_red_flag", "not_applicable", dx("fasciculation_is_not_a_red_flag", "R25.3", on=day(0)))


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


@pytest.mark.parametrize("rule_id, patient_id", list(EXPECTED), ids=[p for _, p in EXPECTED])
def test_status(deck: Deck, rule_id: str, patient_id: str) -> None:
    assert deck.status(rule_id, patient_id) == EXPECTED[(rule_id, patient_id)]


def test_cirrhosis_deviation_is_dated_at_index_and_names_the_diuretic(deck: Deck) -> None:
    (row,) = deck.deviations(C, "cirrhosis_on_furosemide_without_review_is_a_deviation")
    assert row["event_date"] == day(0) and row["severity"] == "medium"
    assert row["explanation"] == ("Cirrhosis with Furosemide 40 MG Oral Tablet active when leg cramps were diagnosed "
                                  "on 2025-03-01: no diuretic stop or change and no medication review by 2025-03-31")
    assert row["evidence"]["cirrhosis"]["code"] == "K7460"


def test_electrolytes_evidence_names_what_is_missing(deck: Deck) -> None:
    """rules.md: the evidence names what is missing."""
    (row,) = deck.deviations(T, "no_electrolytes_is_a_deviation")
    assert row["evidence"]["missing"] == ["potassium", "magnesium"]
    assert row["explanation"].startswith("No potassium and no magnesium result from 2025-01-30 to 2025-03-31")
    (row,) = deck.deviations(T, "potassium_31_days_before_is_a_deviation")
    assert row["evidence"]["missing"] == ["potassium"]


def test_untreated_deficiency_is_dated_at_the_result(deck: Deck) -> None:
    (row,) = deck.deviations(F, "low_potassium_kcl_started_15_days_later_is_a_deviation")
    assert row["event_date"] == day(10)
    # rules-v2.md: a later normal result and, for potassium, a diuretic stop or start also correct, so
    # the explanation names what the record lacks; units beside every value and threshold.
    assert row["explanation"] == ("Low potassium 3.2 mmol/L on 2025-03-11 (below 3.5 mmol/L): no potassium supplement "
                                  "started, no later potassium result that is not low, no thiazide or loop diuretic "
                                  "stopped and no potassium-sparing diuretic started within 14 days")
    (row,) = deck.deviations(F, "potassium_3_6_below_its_own_ref_low_is_low")
    assert "(below its reference low 3.8 mmol/L)" in row["explanation"]


def test_each_untreated_low_result_is_one_row(deck: Deck) -> None:
    rows = deck.deviations(F, "two_low_results_untreated_give_two_rows")
    assert [(r["event_date"], r["evidence"]["analyte"]) for r in rows] == [(day(10), "potassium"),
                                                                           (day(40), "magnesium")]


def test_one_deviation_row_per_workup_procedure(deck: Deck) -> None:
    (row,) = deck.deviations(W, "lumbar_mri_day_20_without_red_flags_is_a_deviation")
    assert row["event_date"] == day(20) and "(CPT 72148)" in row["explanation"]


def test_referral_deviation_names_the_red_flag(deck: Deck) -> None:
    (row,) = deck.deviations(F2, "icd9_neuropathy_without_referral_is_a_deviation")
    assert row["event_date"] == day(0)
    assert row["explanation"].startswith(
        "Red flag Unspecified hereditary and idiopathic peripheral neuropathy recorded")
