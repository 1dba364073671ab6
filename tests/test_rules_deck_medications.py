"""Medication rules: LC-QUININE, LC-MG-EMPIRIC, LC-MG-RENAL, LC-MG-DOSE, LC-BACLOFEN-TITRATION,
LC-RLS-CONFUSION, LC-NSAID-ELDERLY. One deck; each patient is named by what it demonstrates and
each expectation cites the rules.md sentence it follows from."""

from __future__ import annotations

from datetime import date

import pytest
from deck import (
    BACLOFEN_10_SCD,
    BACLOFEN_IN,
    BACLOFEN_INTRATHECAL_SCD,
    CKD4_ICD10,
    EGFR_LOINC,
    HYPOMAGNESEMIA_ICD10,
    IBUPROFEN_400_SCD,
    INDEX,
    MG_LOINC_MASS,
    MG_LOINC_MOLAR,
    MG_OXIDE_400_SCD,
    MG_OXIDE_IN,
    MG_SULFATE_INJ_SCD,
    NAPROXEN_IN,
    PARKINSONS_ICD10,
    QUININE_SCD,
    RLS_ICD10,
    ROPINIROLE_IN,
    Deck,
    Row,
    audit_deck,
    cramps_patient,
    day,
    dx,
    lab,
    med,
)

ROWS: list[Row] = []
EXPECTED: dict[tuple[str, str], str] = {}


def case(rule_id: str, patient_id: str, expected: str, *rows: Row, age: int = 60, **patient_kw) -> None:
    """One deck patient: enters the cohort on INDEX with `rows`; `expected` is its status under rule_id."""
    ROWS.extend([*cramps_patient(patient_id, age=age, **patient_kw), *rows])
    EXPECTED[(rule_id, patient_id)] = expected


def mg(pid: str, start: int, code: str = MG_OXIDE_400_SCD, route: str | None = "oral", **kw) -> Row:
    return med(pid, code, on=day(start), route=route, **kw)


def mg_lab(pid: str, on: int, value: float, unit: str = "mmol/L", **kw) -> Row:
    return lab(pid, MG_LOINC_MOLAR if unit != "mg/dL" else MG_LOINC_MASS, on=day(on), value=value, unit=unit, **kw)


def egfr(pid: str, on: int, value: float | None, value_text: str | None = None) -> Row:
    return lab(pid, EGFR_LOINC, on=day(on), value=value, unit="mL/min/{1.73_m2}", value_text=value_text)


# ---------------------------------------------------------------- LC-QUININE
# rules.md: "Deviation: a QUININE order that starts inside follow-up, or that is active on the index
# date (start <= index and end missing or >= index)."; follow-up = index .. index + 180, inclusive.
Q = "LC-QUININE"
case(Q, "quinine_started_day_180_is_a_deviation", "deviation", med("quinine_started_day_180_is_a_deviation",
                                                                   QUININE_SCD, on=day(180)))
case(Q, "quinine_started_day_181_is_met", "met", med("quinine_started_day_181_is_met", QUININE_SCD, on=day(181)))
case(Q, "quinine_started_on_index_is_a_deviation", "deviation",
     med("quinine_started_on_index_is_a_deviation", QUININE_SCD, on=INDEX))
# rules-v2.md "Active on a date": without an end date an active order counts for open_order_max_days
# (365) after its start (v1 started this order on day -400, which v2 no longer calls active).
case(Q, "quinine_active_on_index_is_a_deviation", "deviation",
     med("quinine_active_on_index_is_a_deviation", QUININE_SCD, on=day(-300)))
case(Q, "quinine_ending_on_index_is_a_deviation", "deviation",
     med("quinine_ending_on_index_is_a_deviation", QUININE_SCD, on=day(-60), end=INDEX))
case(Q, "quinine_ended_day_before_index_is_met", "met",
     med("quinine_ended_day_before_index_is_met", QUININE_SCD, on=day(-60), end=day(-1)))
case(Q, "quinine_cancelled_is_met", "met",
     med("quinine_cancelled_is_met", QUININE_SCD, on=day(5), status="cancelled"))
case(Q, "quinine_entered_in_error_is_met", "met",
     med("quinine_entered_in_error_is_met", QUININE_SCD, on=day(5), status="entered-in-error"))
case(Q, "quinine_twice_is_one_deviating_patient_with_two_rows", "deviation",
     med("quinine_twice_is_one_deviating_patient_with_two_rows", QUININE_SCD, on=day(5)),
     med("quinine_twice_is_one_deviating_patient_with_two_rows", QUININE_SCD, on=day(50)))
case(Q, "quinine_free_text_with_ndc_code_is_a_deviation", "deviation",
     med("quinine_free_text_with_ndc_code_is_a_deviation", "00000000001", code_system="NDC", on=day(3),
         description="QUININE SULFATE 324 MG CAP"))
case(Q, "died_day_100_quinine_day_100_is_a_deviation", "deviation",
     med("died_day_100_quinine_day_100_is_a_deviation", QUININE_SCD, on=day(100)), death_date=day(100))
case(Q, "died_day_100_quinine_day_101_is_met", "met",
     med("died_day_100_quinine_day_101_is_met", QUININE_SCD, on=day(101)), death_date=day(100))
case(Q, "no_quinine_is_met", "met")

# ---------------------------------------------------------------- LC-MG-EMPIRIC
# rules.md: "Denominator: cohort patients with a MAGNESIUM_SUPPLEMENT order starting inside
# follow-up whose route is oral or missing. ... Deviation: in the mg_lookback_days (90) up to and
# including the magnesium start there is neither a low serum magnesium result (MAGNESIUM_LAB) nor a
# HYPOMAGNESEMIA diagnosis." "Low" = below the result's own ref_low when given, else below 0.70 mmol/L.
E = "LC-MG-EMPIRIC"
case(E, "mg_started_without_any_result_is_a_deviation", "deviation",
     mg("mg_started_without_any_result_is_a_deviation", 10))
case(E, "mg_started_day_180_is_judged", "deviation", mg("mg_started_day_180_is_judged", 180))
case(E, "mg_started_day_181_is_not_applicable", "not_applicable", mg("mg_started_day_181_is_not_applicable", 181))
case(E, "mg_with_route_missing_is_judged", "deviation", mg("mg_with_route_missing_is_judged", 10, route=None))
case(E, "mg_intravenous_only_is_not_applicable", "not_applicable",
     mg("mg_intravenous_only_is_not_applicable", 10, code=MG_SULFATE_INJ_SCD, route="intravenous"))
case(E, "low_mg_90_days_before_start_is_met", "met",
     mg("low_mg_90_days_before_start_is_met", 10), mg_lab("low_mg_90_days_before_start_is_met", -80, 0.6))
case(E, "low_mg_91_days_before_start_is_a_deviation", "deviation",
     mg("low_mg_91_days_before_start_is_a_deviation", 10),
     mg_lab("low_mg_91_days_before_start_is_a_deviation", -81, 0.6))
case(E, "low_mg_on_start_day_is_met", "met", mg("low_mg_on_start_day_is_met", 10),
     mg_lab("low_mg_on_start_day_is_met", 10, 0.6))
case(E, "low_mg_day_after_start_is_a_deviation", "deviation", mg("low_mg_day_after_start_is_a_deviation", 10),
     mg_lab("low_mg_day_after_start_is_a_deviation", 11, 0.6))
case(E, "normal_mg_mmol_is_a_deviation", "deviation", mg("normal_mg_mmol_is_a_deviation", 10),
     mg_lab("normal_mg_mmol_is_a_deviation", -5, 0.85))
# rules-v2.md: ""Low" compares in the result's own unit ... so 1.7 mg/dL is not low" (v1 converted it to
# 0.699 mmol/L first and called it low).
case(E, "mg_1_7_mg_dl_is_not_low_in_its_own_unit", "deviation", mg("mg_1_7_mg_dl_is_not_low_in_its_own_unit", 10),
     mg_lab("mg_1_7_mg_dl_is_not_low_in_its_own_unit", -5, 1.7, "mg/dL"))
case(E, "mg_1_71_mg_dl_is_normal_is_a_deviation", "deviation", mg("mg_1_71_mg_dl_is_normal_is_a_deviation", 10),
     mg_lab("mg_1_71_mg_dl_is_normal_is_a_deviation", -5, 1.71, "mg/dL"))
case(E, "mg_1_3_meq_l_is_0_65_mmol_low_is_met", "met", mg("mg_1_3_meq_l_is_0_65_mmol_low_is_met", 10),
     mg_lab("mg_1_3_meq_l_is_0_65_mmol_low_is_met", -5, 1.3, "mEq/L"))
case(E, "mg_1_5_meq_l_is_0_75_mmol_normal_is_a_deviation", "deviation",
     mg("mg_1_5_meq_l_is_0_75_mmol_normal_is_a_deviation", 10),
     mg_lab("mg_1_5_meq_l_is_0_75_mmol_normal_is_a_deviation", -5, 1.5, "mEq/L"))
case(E, "mg_below_its_own_ref_low_is_met", "met", mg("mg_below_its_own_ref_low_is_met", 10),
     mg_lab("mg_below_its_own_ref_low_is_met", -5, 0.75, ref_low=0.8))
case(E, "mg_below_default_but_above_own_ref_low_is_a_deviation", "deviation",
     mg("mg_below_default_but_above_own_ref_low_is_a_deviation", 10),
     mg_lab("mg_below_default_but_above_own_ref_low_is_a_deviation", -5, 0.68, ref_low=0.6))
case(E, "low_mg_with_unknown_unit_is_not_used", "deviation", mg("low_mg_with_unknown_unit_is_not_used", 10),
     mg_lab("low_mg_with_unknown_unit_is_not_used", -5, 0.5, "mg/L"))
case(E, "hypomagnesaemia_diagnosis_in_window_is_met", "met",
     mg("hypomagnesaemia_diagnosis_in_window_is_met", 10),
     dx("hypomagnesaemia_diagnosis_in_window_is_met", HYPOMAGNESEMIA_ICD10, on=day(-30)))
# rules-v2.md LC-MG-EMPIRIC: ICD-9 275.2 also means high magnesium, so it documents no deficiency.
case(E, "icd9_275_2_is_no_documented_deficiency_is_a_deviation", "deviation",
     mg("icd9_275_2_is_no_documented_deficiency_is_a_deviation", 10),
     dx("icd9_275_2_is_no_documented_deficiency_is_a_deviation", "275.2", code_system="ICD9CM", on=day(0)))
# rules-v2.md: "a HYPOMAGNESEMIA diagnosis present at the start (chronic rule above) is a documented
# deficiency", however long ago recorded (v1: only in the 90 days before).
case(E, "hypomagnesaemia_diagnosis_91_days_before_is_documented", "met",
     mg("hypomagnesaemia_diagnosis_91_days_before_is_documented", 10),
     dx("hypomagnesaemia_diagnosis_91_days_before_is_documented", HYPOMAGNESEMIA_ICD10, on=day(-81)))
case(E, "the_first_oral_order_is_the_magnesium_start", "met",
     mg("the_first_oral_order_is_the_magnesium_start", 2, code=MG_SULFATE_INJ_SCD, route="intravenous"),
     mg("the_first_oral_order_is_the_magnesium_start", 50),
     mg_lab("the_first_oral_order_is_the_magnesium_start", 45, 0.6))

# ---------------------------------------------------------------- LC-MG-RENAL
# rules.md: "Deviation: at the magnesium start, the latest EGFR_LAB result in the 365 days before it
# is below egfr_min (30), or a CKD_SEVERE diagnosis ... is recorded on or before it."
R = "LC-MG-RENAL"
case(R, "egfr_29_before_mg_start_is_a_deviation", "deviation", mg("egfr_29_before_mg_start_is_a_deviation", 10),
     egfr("egfr_29_before_mg_start_is_a_deviation", -10, 29))
case(R, "egfr_30_is_met", "met", mg("egfr_30_is_met", 10), egfr("egfr_30_is_met", -10, 30))
case(R, "egfr_29_365_days_before_is_a_deviation", "deviation",
     mg("egfr_29_365_days_before_is_a_deviation", 10), egfr("egfr_29_365_days_before_is_a_deviation", -355, 29))
case(R, "egfr_29_366_days_before_is_met", "met", mg("egfr_29_366_days_before_is_met", 10),
     egfr("egfr_29_366_days_before_is_met", -356, 29))
case(R, "latest_egfr_45_after_an_older_20_is_met", "met", mg("latest_egfr_45_after_an_older_20_is_met", 10),
     egfr("latest_egfr_45_after_an_older_20_is_met", -100, 20), egfr("latest_egfr_45_after_an_older_20_is_met", -5, 45))
case(R, "egfr_reported_as_text_over_60_is_met", "met", mg("egfr_reported_as_text_over_60_is_met", 10),
     egfr("egfr_reported_as_text_over_60_is_met", -100, 20),
     egfr("egfr_reported_as_text_over_60_is_met", -5, None, value_text=">60"))
case(R, "egfr_reported_as_text_under_15_is_a_deviation", "deviation",
     mg("egfr_reported_as_text_under_15_is_a_deviation", 10),
     egfr("egfr_reported_as_text_under_15_is_a_deviation", -5, None, value_text="<15"))
case(R, "ckd_stage_4_recorded_long_before_is_a_deviation", "deviation",
     mg("ckd_stage_4_recorded_long_before_is_a_deviation", 10),
     dx("ckd_stage_4_recorded_long_before_is_a_deviation", CKD4_ICD10, on=day(-900)))
case(R, "ckd_stage_4_recorded_on_mg_start_is_a_deviation", "deviation",
     mg("ckd_stage_4_recorded_on_mg_start_is_a_deviation", 10),
     dx("ckd_stage_4_recorded_on_mg_start_is_a_deviation", CKD4_ICD10, on=day(10)))
case(R, "ckd_stage_4_recorded_after_mg_start_is_met", "met", mg("ckd_stage_4_recorded_after_mg_start_is_met", 10),
     dx("ckd_stage_4_recorded_after_mg_start_is_met", CKD4_ICD10, on=day(11)))
case(R, "snomed_esrd_is_a_deviation", "deviation", mg("snomed_esrd_is_a_deviation", 10),
     dx("snomed_esrd_is_a_deviation", "46177005", code_system="SNOMED", on=day(-50)))
case(R, "icd9_dialysis_status_is_a_deviation", "deviation", mg("icd9_dialysis_status_is_a_deviation", 10),
     dx("icd9_dialysis_status_is_a_deviation", "V45.11", code_system="ICD9CM", on=day(-50)))
case(R, "no_renal_data_is_met", "met", mg("no_renal_data_is_met", 10))
case(R, "no_magnesium_is_not_applicable", "not_applicable", egfr("no_magnesium_is_not_applicable", -5, 10))

# ---------------------------------------------------------------- LC-MG-DOSE
# rules.md: "Denominator: cohort patients with a magnesium oxide order inside follow-up whose daily
# dose is known. Not evaluable: magnesium oxide orders with an unknown daily dose. Deviation: daily
# dose below mgo_min_mg (480) or above mgo_max_mg (960) mg of magnesium oxide."
D = "LC-MG-DOSE"


def mgo(pid: str, dose: float | None, unit: str | None = "mg", per_day: float | None = 1, start: int = 5,
        **kw) -> Row:
    return mg(pid, start, dose_value=dose, dose_unit=unit, frequency_per_day=per_day, **kw)


case(D, "mgo_400_mg_a_day_is_a_deviation", "deviation", mgo("mgo_400_mg_a_day_is_a_deviation", 400))
case(D, "mgo_479_mg_a_day_is_a_deviation", "deviation", mgo("mgo_479_mg_a_day_is_a_deviation", 479))
case(D, "mgo_480_mg_a_day_is_met", "met", mgo("mgo_480_mg_a_day_is_met", 480))
case(D, "mgo_480_mg_twice_a_day_is_960_met", "met", mgo("mgo_480_mg_twice_a_day_is_960_met", 480, per_day=2))
case(D, "mgo_961_mg_a_day_is_a_deviation", "deviation", mgo("mgo_961_mg_a_day_is_a_deviation", 961))
case(D, "mgo_half_gram_is_500_mg_met", "met", mgo("mgo_half_gram_is_500_mg_met", 0.5, "g"))
case(D, "mgo_12_mmol_is_480_mg_met", "met", mgo("mgo_12_mmol_is_480_mg_met", 12, "mmol"))
case(D, "mgo_25_mmol_is_1000_mg_a_deviation", "deviation", mgo("mgo_25_mmol_is_1000_mg_a_deviation", 25, "mmol"))
case(D, "mgo_without_frequency_is_not_evaluable", "not_evaluable",
     mgo("mgo_without_frequency_is_not_evaluable", 400, per_day=None))
# rules-v2.md: "a dose in tablets or capsules uses the strength in the drug's description" (the 400 MG
# tablet's): 2 tablets are 800 mg (v1: not a mass, not evaluable). Without a strength it stays unknown.
case(D, "mgo_two_400_mg_tablets_is_met", "met", mgo("mgo_two_400_mg_tablets_is_met", 2, "tablet"))
case(D, "mgo_in_tablets_is_not_evaluable", "not_evaluable",
     mgo("mgo_in_tablets_is_not_evaluable", 2, "tablet", code=MG_OXIDE_IN))
# rules-v2.md: "LC-MG-DOSE: a patient is not evaluable when an order has an unknown daily dose and no
# known-dose order deviates" (v1: met).
case(D, "mgo_known_in_range_and_unknown_is_not_evaluable", "not_evaluable",
     mgo("mgo_known_in_range_and_unknown_is_not_evaluable", 800),
     mgo("mgo_known_in_range_and_unknown_is_not_evaluable", None, start=20))
case(D, "mgo_ingredient_code_is_magnesium_oxide", "deviation",
     mgo("mgo_ingredient_code_is_magnesium_oxide", 2000, code=MG_OXIDE_IN))
case(D, "mgo_free_text_brand_twice_daily_is_met", "met",
     mgo("mgo_free_text_brand_twice_daily_is_met", 400, per_day=2, code="LOCAL-1", code_system="LOCAL",
         description="Mag-Ox 400 mg tablet"))
case(D, "magnesium_sulfate_is_not_magnesium_oxide", "not_applicable",
     mgo("magnesium_sulfate_is_not_magnesium_oxide", 100, code=MG_SULFATE_INJ_SCD))
case(D, "mgo_started_day_180_is_judged", "deviation", mgo("mgo_started_day_180_is_judged", 100, start=180))
case(D, "mgo_started_day_181_is_not_applicable", "not_applicable",
     mgo("mgo_started_day_181_is_not_applicable", 100, start=181))

# ---------------------------------------------------------------- LC-BACLOFEN-TITRATION
# rules.md: "Not evaluable: every such order has an unknown daily dose. Deviation, any of: the first
# order's daily dose is above 10; any daily dose is above 30; a later order raises the daily dose by
# more than 10 over the order before it, or raises it less than 7 days after the order before it started."
B = "LC-BACLOFEN-TITRATION"


def bac(pid: str, start: int, mg_per_day: float | None, unit: str | None = "mg", code: str = BACLOFEN_10_SCD,
        **kw) -> Row:
    return med(pid, code, on=day(start), dose_value=mg_per_day, dose_unit=unit, frequency_per_day=1, **kw)


case(B, "baclofen_10_20_30_weekly_is_met", "met", bac("baclofen_10_20_30_weekly_is_met", 1, 10),
     bac("baclofen_10_20_30_weekly_is_met", 8, 20), bac("baclofen_10_20_30_weekly_is_met", 15, 30))
case(B, "baclofen_starting_at_15_is_a_deviation", "deviation", bac("baclofen_starting_at_15_is_a_deviation", 1, 15))
case(B, "baclofen_raised_by_20_is_a_deviation", "deviation", bac("baclofen_raised_by_20_is_a_deviation", 1, 10),
     bac("baclofen_raised_by_20_is_a_deviation", 8, 30))
case(B, "baclofen_raised_after_6_days_is_a_deviation", "deviation",
     bac("baclofen_raised_after_6_days_is_a_deviation", 1, 10),
     bac("baclofen_raised_after_6_days_is_a_deviation", 7, 20))
case(B, "baclofen_raised_after_7_days_is_met", "met", bac("baclofen_raised_after_7_days_is_met", 1, 10),
     bac("baclofen_raised_after_7_days_is_met", 8, 20))
case(B, "baclofen_above_30_is_a_deviation", "deviation", bac("baclofen_above_30_is_a_deviation", 1, 10),
     bac("baclofen_above_30_is_a_deviation", 8, 20), bac("baclofen_above_30_is_a_deviation", 15, 30),
     bac("baclofen_above_30_is_a_deviation", 22, 40))
case(B, "baclofen_lowered_two_days_later_is_met", "met", bac("baclofen_lowered_two_days_later_is_met", 1, 10),
     bac("baclofen_lowered_two_days_later_is_met", 3, 5))
case(B, "baclofen_without_any_dose_is_not_evaluable", "not_evaluable",
     bac("baclofen_without_any_dose_is_not_evaluable", 1, None),
     bac("baclofen_without_any_dose_is_not_evaluable", 9, 20, unit=None))
case(B, "baclofen_unknown_first_then_10_is_met", "met", bac("baclofen_unknown_first_then_10_is_met", 1, None),
     bac("baclofen_unknown_first_then_10_is_met", 8, 10))
case(B, "baclofen_in_grams_is_converted", "met", bac("baclofen_in_grams_is_converted", 1, 0.01, unit="g",
                                                     code=BACLOFEN_IN))
case(B, "baclofen_10_to_31_is_above_the_maximum", "deviation", bac("baclofen_10_to_31_is_above_the_maximum", 1, 10),
     bac("baclofen_10_to_31_is_above_the_maximum", 8, 20), bac("baclofen_10_to_31_is_above_the_maximum", 15, 30),
     bac("baclofen_10_to_31_is_above_the_maximum", 22, 31))
case(B, "baclofen_started_day_180_is_judged", "deviation", bac("baclofen_started_day_180_is_judged", 180, 20))
case(B, "baclofen_started_day_181_is_not_applicable", "not_applicable",
     bac("baclofen_started_day_181_is_not_applicable", 181, 20))
case(B, "intrathecal_baclofen_is_not_applicable", "not_applicable",
     bac("intrathecal_baclofen_is_not_applicable", 1, 0.5, code=BACLOFEN_INTRATHECAL_SCD, route="intrathecal"))

# ---------------------------------------------------------------- LC-RLS-CONFUSION
# rules.md: "Denominator: cohort patients with a DOPAMINERGIC order starting inside follow-up.
# Exclusion: a PARKINSONS diagnosis recorded on or before that order. Deviation: no RESTLESS_LEGS
# diagnosis recorded on or before the order's start."
L = "LC-RLS-CONFUSION"
case(L, "ropinirole_without_rls_is_a_deviation", "deviation",
     med("ropinirole_without_rls_is_a_deviation", ROPINIROLE_IN, on=day(10)))
case(L, "ropinirole_with_rls_recorded_before_is_met", "met",
     med("ropinirole_with_rls_recorded_before_is_met", ROPINIROLE_IN, on=day(10)),
     dx("ropinirole_with_rls_recorded_before_is_met", RLS_ICD10, on=day(-100)))
case(L, "ropinirole_with_rls_recorded_same_day_is_met", "met",
     med("ropinirole_with_rls_recorded_same_day_is_met", ROPINIROLE_IN, on=day(10)),
     dx("ropinirole_with_rls_recorded_same_day_is_met", "G2581", on=day(10)))
case(L, "ropinirole_with_rls_recorded_after_is_a_deviation", "deviation",
     med("ropinirole_with_rls_recorded_after_is_a_deviation", ROPINIROLE_IN, on=day(10)),
     dx("ropinirole_with_rls_recorded_after_is_a_deviation", RLS_ICD10, on=day(11)))
case(L, "ropinirole_with_parkinsons_before_is_excluded", "excluded",
     med("ropinirole_with_parkinsons_before_is_excluded", ROPINIROLE_IN, on=day(10)),
     dx("ropinirole_with_parkinsons_before_is_excluded", PARKINSONS_ICD10, on=day(-300)))
case(L, "ropinirole_with_parkinsons_same_day_is_excluded", "excluded",
     med("ropinirole_with_parkinsons_same_day_is_excluded", ROPINIROLE_IN, on=day(10)),
     dx("ropinirole_with_parkinsons_same_day_is_excluded", "332.0", code_system="ICD9CM", on=day(10)))
case(L, "ropinirole_started_day_180_is_a_deviation", "deviation",
     med("ropinirole_started_day_180_is_a_deviation", ROPINIROLE_IN, on=day(180)))
case(L, "ropinirole_started_day_181_is_not_applicable", "not_applicable",
     med("ropinirole_started_day_181_is_not_applicable", ROPINIROLE_IN, on=day(181)))
# rules-v2.md: "a PARKINSONS diagnosis up to 90 days after the order also excludes (a diagnostic trial)".
case(L, "ropinirole_with_parkinsons_the_day_after_is_excluded", "excluded",
     med("ropinirole_with_parkinsons_the_day_after_is_excluded", ROPINIROLE_IN, on=day(10)),
     dx("ropinirole_with_parkinsons_the_day_after_is_excluded", PARKINSONS_ICD10, on=day(11)))
case(L, "ropinirole_started_before_index_is_not_applicable", "not_applicable",
     med("ropinirole_started_before_index_is_not_applicable", ROPINIROLE_IN, on=day(-10)))
case(L, "pramipexole_free_text_is_a_deviation", "deviation",
     med("pramipexole_free_text_is_a_deviation", "12345", code_system="NDC", on=day(10),
         description="Pramipexole 0.125 mg tablet"))

# ---------------------------------------------------------------- LC-NSAID-ELDERLY
# rules.md: "Denominator: cohort patients aged elderly_age (65) or more on the index date.
# Deviation: an NSAID order starting from index to index + nsaid_days (30)."
N = "LC-NSAID-ELDERLY"
case(N, "aged_65_ibuprofen_day_30_is_a_deviation", "deviation",
     med("aged_65_ibuprofen_day_30_is_a_deviation", IBUPROFEN_400_SCD, on=day(30)), age=65)
case(N, "aged_80_ibuprofen_day_31_is_met", "met", med("aged_80_ibuprofen_day_31_is_met", IBUPROFEN_400_SCD,
                                                      on=day(31)), age=80)
case(N, "aged_80_ibuprofen_day_before_index_is_met", "met",
     med("aged_80_ibuprofen_day_before_index_is_met", IBUPROFEN_400_SCD, on=day(-1)), age=80)
case(N, "aged_64_ibuprofen_is_not_applicable", "not_applicable",
     med("aged_64_ibuprofen_is_not_applicable", IBUPROFEN_400_SCD, on=day(3)), age=64)
case(N, "turning_65_the_day_after_index_is_not_applicable", "not_applicable",
     birth_date=date(INDEX.year - 65, INDEX.month, INDEX.day + 1))
case(N, "turning_65_on_the_index_date_is_met", "met", birth_date=date(INDEX.year - 65, INDEX.month, INDEX.day))
case(N, "aged_70_naproxen_code_is_a_deviation", "deviation",
     med("aged_70_naproxen_code_is_a_deviation", NAPROXEN_IN, on=day(0)), age=70)
case(N, "aged_70_aleve_free_text_is_a_deviation", "deviation",
     med("aged_70_aleve_free_text_is_a_deviation", "99", code_system="LOCAL", on=day(2), description="Aleve 220 mg"),
     age=70)


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


@pytest.mark.parametrize("rule_id, patient_id", list(EXPECTED), ids=[p for _, p in EXPECTED])
def test_status(deck: Deck, rule_id: str, patient_id: str) -> None:
    assert deck.status(rule_id, patient_id) == EXPECTED[(rule_id, patient_id)]


def test_quinine_deviation_dates_the_order_start(deck: Deck) -> None:
    (row,) = deck.deviations(Q, "quinine_started_day_180_is_a_deviation")
    assert row["event_date"] == day(180) and row["severity"] == "high"
    assert row["explanation"] == "Quinine sulfate 324 MG Oral Capsule started 2025-08-28 (day 180 of follow-up)"
    assert row["evidence"]["order_id"] and row["evidence"]["source_file"] == "medications.csv"


def test_quinine_active_on_index_says_so(deck: Deck) -> None:
    (row,) = deck.deviations(Q, "quinine_active_on_index_is_a_deviation")
    # rules-v2.md: "no end date recorded (status completed)" rather than "still active".
    assert row["event_date"] == day(-300)
    assert "no end date recorded (status active)" in row["explanation"]


def test_two_quinine_orders_give_two_deviation_rows_and_one_patient(deck: Deck) -> None:
    """rules.md: a patient with several deviating events counts once and has one row per event."""
    rows = deck.deviations(Q, "quinine_twice_is_one_deviating_patient_with_two_rows")
    assert [r["event_date"] for r in rows] == [day(5), day(50)]
    assert deck.reason(Q, "quinine_twice_is_one_deviating_patient_with_two_rows").endswith("(+1 more)")


def test_mg_empiric_evidence_says_no_magnesium_result(deck: Deck) -> None:
    """rules.md: the evidence says which: "no magnesium result" or "magnesium normal: <value> <unit> on <date>"."""
    (row,) = deck.deviations(E, "mg_started_without_any_result_is_a_deviation")
    assert row["evidence"]["finding"] == "no magnesium result"
    # rules-v2.md: the window is named and a hypomagnesaemia diagnosis counts "recorded on or before" (chronic).
    assert row["explanation"] == ("Magnesium oxide 400 MG Oral Tablet started 2025-03-11 with no magnesium result "
                                  "from 2024-12-11 to 2025-03-11 and no hypomagnesaemia diagnosis recorded on or "
                                  "before it")


def test_mg_empiric_evidence_names_the_normal_result(deck: Deck) -> None:
    (row,) = deck.deviations(E, "normal_mg_mmol_is_a_deviation")
    assert row["evidence"]["finding"] == "magnesium normal: 0.85 mmol/L on 2025-02-24"
    assert row["explanation"].endswith("without documented deficiency: magnesium normal: 0.85 mmol/L on 2025-02-24")
    assert row["event_date"] == day(10)


def test_mg_empiric_unknown_unit_result_is_reported_as_no_result(deck: Deck) -> None:
    (row,) = deck.deviations(E, "low_mg_with_unknown_unit_is_not_used")
    assert row["evidence"]["finding"] == "no magnesium result"


def test_mg_renal_explanation_names_egfr_and_diagnosis(deck: Deck) -> None:
    (row,) = deck.deviations(R, "egfr_29_before_mg_start_is_a_deviation")
    # rules-v2.md: "units beside every value and threshold".
    assert "eGFR 29 mL/min/{1.73_m2} on 2025-02-19 (below 30 mL/min/{1.73_m2})" in row["explanation"]
    (row,) = deck.deviations(R, "ckd_stage_4_recorded_long_before_is_a_deviation")
    assert "Chronic kidney disease, stage 4 (severe) recorded 2022-09-13" in row["explanation"]
    assert row["evidence"]["ckd_diagnosis"]["code"] == "N184"


def test_mg_dose_explanation_gives_the_daily_dose(deck: Deck) -> None:
    (row,) = deck.deviations(D, "mgo_400_mg_a_day_is_a_deviation")
    assert row["explanation"].endswith("at 400 mg/day, below 480 mg/day")
    (row,) = deck.deviations(D, "mgo_25_mmol_is_1000_mg_a_deviation")
    assert row["explanation"].endswith("at 1000 mg/day, above 960 mg/day")


def test_mg_dose_not_evaluable_reason_says_why(deck: Deck) -> None:
    assert "daily dose unknown (dose or frequency missing)" in deck.reason(D, "mgo_without_frequency_is_not_evaluable")
    assert "2 tablet per day is not a mass" in deck.reason(D, "mgo_in_tablets_is_not_evaluable")


def test_baclofen_deviations_name_the_broken_limit(deck: Deck) -> None:
    (row,) = deck.deviations(B, "baclofen_raised_by_20_is_a_deviation")
    # rules-v2.md: "units beside every value and threshold".
    assert row["event_date"] == day(8) and "raised from 10 mg/day by 20 mg/day (more than 10 mg/day)" in row[
        "explanation"]
    (row,) = deck.deviations(B, "baclofen_raised_after_6_days_is_a_deviation")
    assert "raised 6 days after the previous order (less than 7 days)" in row["explanation"]
    (row,) = deck.deviations(B, "baclofen_starting_at_15_is_a_deviation")
    assert "first dose above 10 mg/day" in row["explanation"]
    (row,) = deck.deviations(B, "baclofen_above_30_is_a_deviation")
    assert row["event_date"] == day(22) and "above the 30 mg/day maximum" in row["explanation"]


def test_rls_exclusion_reason_names_parkinsons(deck: Deck) -> None:
    assert deck.reason(L, "ropinirole_with_parkinsons_before_is_excluded").startswith("Parkinsonism: ")
    assert deck.deviations(L, "ropinirole_with_parkinsons_before_is_excluded") == []


def test_nsaid_deviation(deck: Deck) -> None:
    (row,) = deck.deviations(N, "aged_65_ibuprofen_day_30_is_a_deviation")
    assert row["event_date"] == day(30) and row["severity"] == "low"
    assert row["explanation"] == ("Ibuprofen 400 MG Oral Tablet started 2025-03-31 (day 30 after leg cramps were "
                                  "diagnosed), patient aged 65")


def test_follow_up_length_is_a_parameter() -> None:
    """rules.md: numbers in code font are parameters a site changes in configuration."""
    rows = [*cramps_patient("quinine_day_91"), med("quinine_day_91", QUININE_SCD, on=day(91))]
    assert audit_deck(rows, parameters={"followup_days": 90}).status(Q, "quinine_day_91") == "met"
    assert audit_deck(rows).status(Q, "quinine_day_91") == "deviation"
