"""Rule pack v2, the per-rule changes (rules-v2.md, "Rules"; issue 12 items 2, 7 and 8): the new
exclusions (malaria, other magnesium indications, spasticity, pain indications, atypical and later
parkinsonism), LC-MG-RENAL's new deviation logic, LC-MG-DOSE and LC-BACLOFEN-TITRATION with
unknown doses, the diuretic review that a same-dose renewal is not, corrections of a deficiency,
the narrower work-up set, the referral window and vascular assessment, the chronic conditions
CKD_SEVERE, HYPOMAGNESEMIA and PARKINSONS, and deaths inside the after-windows of these rules.
One deck; each patient is named by what it demonstrates and each expectation cites the sentence it
follows from. Cases marked V2_PENDING fail on rule pack v1; the others already hold (regressions).

Parameter names the implementation must provide (defaults asserted here, none passed):
    egfr_min = 30, mg_monitor_days = 14, review_days = 30  (rules-v2.md names them)
    quinine_malaria_days = 30            malaria from index - 30 to the quinine start + 30
    mg_other_indication_days = 30        another magnesium indication from start - 30 to start
    mg_monitor_from_days = 3             the magnesium check counts from start + 3
    diuretic_renewal_days = 7            a same-drug, same-dose renewal within 7 days is no review
    referral_lookback_days = 90          the referral window starts at index - 90
    parkinsons_after_days = 90           parkinsonism up to 90 days after the order excludes
    pain_indication_lookback_days = 365  a pain indication from index - 365 to the order's start
"""

from __future__ import annotations

import pytest
from deck import (
    ABI_CPT,
    ARTERIAL_DUPLEX_CPT,
    ATRIAL_FIBRILLATION_ICD10,
    BACLOFEN_10_SCD,
    CEREBRAL_PALSY_ICD10,
    CIRRHOSIS_ICD10,
    CKD4_ICD10,
    CONSTIPATION_ICD10,
    EGFR_LOINC,
    FALCIPARUM_MALARIA_ICD10,
    FUROSEMIDE_40_SCD,
    FUROSEMIDE_IN,
    GOUT_ICD10,
    HIP_FRACTURE_ICD10,
    HYDROCHLOROTHIAZIDE_25_SCD,
    HYDROCHLOROTHIAZIDE_IN,
    HYPERTENSION_ICD10,
    HYPOMAGNESEMIA_ICD10,
    IBUPROFEN_400_SCD,
    K_LOINC,
    KNEE_OSTEOARTHRITIS_ICD10,
    LEWY_BODY_ICD10,
    LOW_BACK_PAIN_ICD10,
    MAGNESIUM_DISORDER_ICD9,
    MAGNESIUM_DISORDER_SNOMED,
    MALARIA_ICD10,
    MALARIA_SNOMED,
    MG_LOINC_MOLAR,
    MG_OXIDE_400_SCD,
    MG_SULFATE_INJ_SCD,
    MIGRAINE_ICD10,
    MRI_KNEE_JOINT_CPT,
    MRI_LOWER_EXTREMITY_CPT,
    MS_ICD10,
    NEUROPATHY_ICD10,
    PAD_ICD10,
    PARKINSONS_ICD10,
    PRE_ECLAMPSIA_ICD10,
    PSP_ICD10,
    QUININE_SCD,
    REFERRAL_NEUROLOGY_SNOMED,
    ROPINIROLE_IN,
    SPIRONOLACTONE_IN,
    STRIATONIGRAL_DEGENERATION_ICD10,
    STROKE_SEQUELA_ICD10,
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

ROWS: list[Row] = [*cramps_patient("data_end_marker"), dx("data_end_marker", HYPERTENSION_ICD10, on=day(400))]
CASES: dict[tuple[str, str], tuple[str, bool]] = {}  # (rule, patient) -> (expected status, v1 already agrees)


def case(rule_id: str, patient_id: str, expected: str, *rows: Row, v1_agrees: bool = False, age: int = 60,
         **patient_kw) -> None:
    """One deck patient entering the cohort on INDEX with `rows`; `v1_agrees`: rule pack v1 already
    gives `expected` (a regression case, not V2_PENDING)."""
    ROWS.extend([*cramps_patient(patient_id, age=age, **patient_kw), *rows])
    CASES[(rule_id, patient_id)] = (expected, v1_agrees)


def also(rule_id: str, patient_id: str, expected: str, *, v1_agrees: bool = False) -> None:
    """A further expectation for a patient already in the deck."""
    CASES[(rule_id, patient_id)] = (expected, v1_agrees)


def mg(pid: str, start: int = 10, code: str = MG_OXIDE_400_SCD, **kw) -> Row:
    return med(pid, code, on=day(start), **kw)


def mg_lab(pid: str, on: int, value: float) -> Row:
    return lab(pid, MG_LOINC_MOLAR, on=day(on), value=value, unit="mmol/L")


def k_lab(pid: str, on: int, value: float) -> Row:
    return lab(pid, K_LOINC, on=day(on), value=value, unit="mmol/L")


def egfr(pid: str, on: int, value: float) -> Row:
    return lab(pid, EGFR_LOINC, on=day(on), value=value, unit="mL/min/{1.73_m2}")


# ---------------------------------------------------------------- LC-QUININE
# rules-v2.md: "LC-QUININE: exclusion: malaria (ICD-10 B50-B54, SNOMED 61462000 and descendants in the
# value set) from index - 30 to the order's start + 30 days."
Q = "LC-QUININE"


def quinine_with_malaria(pid: str, malaria_day: int, code: str = MALARIA_ICD10, code_system: str = "ICD10CM",
                         start: int = 10) -> list[Row]:
    return [med(pid, QUININE_SCD, on=day(start)), dx(pid, code, on=day(malaria_day), code_system=code_system)]


case(Q, "quinine_with_malaria_between_index_and_start_is_excluded", "excluded",
     *quinine_with_malaria("quinine_with_malaria_between_index_and_start_is_excluded", 5))
case(Q, "malaria_30_days_before_index_excludes", "excluded",
     *quinine_with_malaria("malaria_30_days_before_index_excludes", -30))
case(Q, "malaria_31_days_before_index_does_not_exclude", "deviation",
     *quinine_with_malaria("malaria_31_days_before_index_does_not_exclude", -31), v1_agrees=True)
case(Q, "malaria_30_days_after_the_quinine_start_excludes", "excluded",
     *quinine_with_malaria("malaria_30_days_after_the_quinine_start_excludes", 40))
case(Q, "malaria_31_days_after_the_quinine_start_does_not_exclude", "deviation",
     *quinine_with_malaria("malaria_31_days_after_the_quinine_start_does_not_exclude", 41), v1_agrees=True)
case(Q, "falciparum_malaria_b50_9_excludes", "excluded",
     *quinine_with_malaria("falciparum_malaria_b50_9_excludes", 5, FALCIPARUM_MALARIA_ICD10))
case(Q, "snomed_malaria_excludes", "excluded",
     *quinine_with_malaria("snomed_malaria_excludes", 5, MALARIA_SNOMED, "SNOMED"))

# ---------------------------------------------------------------- LC-MG-EMPIRIC
# rules-v2.md: "LC-MG-EMPIRIC: a HYPOMAGNESEMIA diagnosis present at the start (chronic rule above) is
# a documented deficiency. Exclusion: another indication for magnesium from start - 30 to start
# (constipation K59.0, migraine G43, pre-eclampsia/eclampsia O14-O15, arrhythmia I47-I49; value set
# MAGNESIUM_OTHER_INDICATION). HYPOMAGNESEMIA loses the codes that also mean high magnesium (SNOMED
# 60853003, ICD-9 275.2)." "Chronic conditions (... HYPOMAGNESEMIA ...) count as present on a date
# when recorded on or before it and not resolved before it, however long ago."
E = "LC-MG-EMPIRIC"
case(E, "hypomagnesaemia_recorded_400_days_before_and_unresolved_is_documented", "met",
     mg("hypomagnesaemia_recorded_400_days_before_and_unresolved_is_documented"),
     dx("hypomagnesaemia_recorded_400_days_before_and_unresolved_is_documented", HYPOMAGNESEMIA_ICD10,
        on=day(-390)))
case(E, "hypomagnesaemia_resolved_before_the_start_is_not_documented", "deviation",
     mg("hypomagnesaemia_resolved_before_the_start_is_not_documented"),
     dx("hypomagnesaemia_resolved_before_the_start_is_not_documented", HYPOMAGNESEMIA_ICD10, on=day(-390),
        resolved_date=day(-200)), v1_agrees=True)
case(E, "icd9_275_2_is_no_longer_hypomagnesaemia", "deviation", mg("icd9_275_2_is_no_longer_hypomagnesaemia"),
     dx("icd9_275_2_is_no_longer_hypomagnesaemia", MAGNESIUM_DISORDER_ICD9, code_system="ICD9CM", on=day(0)),
     v1_agrees=True)
case(E, "snomed_60853003_is_no_longer_hypomagnesaemia", "deviation",
     mg("snomed_60853003_is_no_longer_hypomagnesaemia"),
     dx("snomed_60853003_is_no_longer_hypomagnesaemia", MAGNESIUM_DISORDER_SNOMED, code_system="SNOMED", on=day(0)),
     v1_agrees=True)
case(E, "constipation_30_days_before_the_start_excludes", "excluded",
     mg("constipation_30_days_before_the_start_excludes"),
     dx("constipation_30_days_before_the_start_excludes", CONSTIPATION_ICD10, on=day(-20)))
case(E, "constipation_31_days_before_the_start_does_not_exclude", "deviation",
     mg("constipation_31_days_before_the_start_does_not_exclude"),
     dx("constipation_31_days_before_the_start_does_not_exclude", CONSTIPATION_ICD10, on=day(-21)), v1_agrees=True)
case(E, "constipation_on_the_start_day_excludes", "excluded", mg("constipation_on_the_start_day_excludes"),
     dx("constipation_on_the_start_day_excludes", CONSTIPATION_ICD10, on=day(10)))
case(E, "constipation_the_day_after_the_start_does_not_exclude", "deviation",
     mg("constipation_the_day_after_the_start_does_not_exclude"),
     dx("constipation_the_day_after_the_start_does_not_exclude", CONSTIPATION_ICD10, on=day(11)), v1_agrees=True)
case(E, "migraine_excludes", "excluded", mg("migraine_excludes"), dx("migraine_excludes", MIGRAINE_ICD10, on=day(0)))
case(E, "pre_eclampsia_excludes", "excluded", mg("pre_eclampsia_excludes"),
     dx("pre_eclampsia_excludes", PRE_ECLAMPSIA_ICD10, on=day(5)))
case(E, "atrial_fibrillation_excludes", "excluded", mg("atrial_fibrillation_excludes"),
     dx("atrial_fibrillation_excludes", ATRIAL_FIBRILLATION_ICD10, on=day(5)))

# ---------------------------------------------------------------- LC-MG-RENAL
# rules-v2.md: "LC-MG-RENAL: denominator: cohort patients with a MAGNESIUM_SUPPLEMENT start inside
# follow-up, any route (IV is the riskier one). Severe renal impairment at the start = latest EGFR_LAB
# in the 365 days before it below egfr_min (a <30 text counts), else a CKD_SEVERE diagnosis present at
# the start; a later eGFR >= egfr_min overrides an older diagnosis. Deviation: severe renal impairment
# and either no documented deficiency or no magnesium result from start + 3 to start + mg_monitor_days
# (14)." Chronic conditions (CKD_SEVERE) count "when recorded on or before it and not resolved before it".
# The magnesium start is day 10 throughout; "documented deficiency" is LC-MG-EMPIRIC's.
R = "LC-MG-RENAL"


def severe_renal_with_deficiency(pid: str, *, checked_on: int | None, **patient_kw) -> None:
    """eGFR 20 on day 0, low magnesium 0.5 mmol/L on day 5, magnesium oxide from day 10; a magnesium
    result (0.8 mmol/L) on `checked_on` when given."""
    rows = [egfr(pid, 0, 20), mg_lab(pid, 5, 0.5), mg(pid)]
    if checked_on is not None:
        rows.append(mg_lab(pid, checked_on, 0.8))
    case(R, pid, "met" if checked_on is not None and 13 <= checked_on <= 24 else "deviation", *rows,
         v1_agrees=not (checked_on is not None and 13 <= checked_on <= 24), **patient_kw)


case(R, "severe_renal_without_deficiency_is_a_deviation", "deviation",
     mg("severe_renal_without_deficiency_is_a_deviation"),
     egfr("severe_renal_without_deficiency_is_a_deviation", 0, 20), v1_agrees=True)
case(R, "severe_renal_intravenous_magnesium_is_judged", "deviation",
     mg("severe_renal_intravenous_magnesium_is_judged", code=MG_SULFATE_INJ_SCD, route="intravenous"),
     egfr("severe_renal_intravenous_magnesium_is_judged", 0, 20))
severe_renal_with_deficiency("severe_renal_deficiency_checked_3_days_after_start_is_met", checked_on=13)
severe_renal_with_deficiency("severe_renal_deficiency_checked_14_days_after_start_is_met", checked_on=24)
severe_renal_with_deficiency("severe_renal_deficiency_checked_2_days_after_start_is_a_deviation", checked_on=12)
severe_renal_with_deficiency("severe_renal_deficiency_checked_15_days_after_start_is_a_deviation", checked_on=25)
severe_renal_with_deficiency("severe_renal_deficiency_never_checked_is_a_deviation", checked_on=None)
case(R, "severe_renal_hypomagnesaemia_diagnosis_and_checked_is_met", "met",
     mg("severe_renal_hypomagnesaemia_diagnosis_and_checked_is_met"),
     egfr("severe_renal_hypomagnesaemia_diagnosis_and_checked_is_met", 0, 20),
     dx("severe_renal_hypomagnesaemia_diagnosis_and_checked_is_met", HYPOMAGNESEMIA_ICD10, on=day(-400)),
     mg_lab("severe_renal_hypomagnesaemia_diagnosis_and_checked_is_met", 15, 0.8))
case(R, "severe_renal_checked_but_no_deficiency_is_a_deviation", "deviation",
     mg("severe_renal_checked_but_no_deficiency_is_a_deviation"),
     egfr("severe_renal_checked_but_no_deficiency_is_a_deviation", 0, 20),
     mg_lab("severe_renal_checked_but_no_deficiency_is_a_deviation", 15, 0.8), v1_agrees=True)
case(R, "ckd_4_then_a_later_egfr_45_is_not_severe", "met", mg("ckd_4_then_a_later_egfr_45_is_not_severe"),
     dx("ckd_4_then_a_later_egfr_45_is_not_severe", CKD4_ICD10, on=day(-900)),
     egfr("ckd_4_then_a_later_egfr_45_is_not_severe", 0, 45))
case(R, "egfr_45_then_a_later_ckd_4_is_severe", "deviation", mg("egfr_45_then_a_later_ckd_4_is_severe"),
     egfr("egfr_45_then_a_later_ckd_4_is_severe", -100, 45),
     dx("egfr_45_then_a_later_ckd_4_is_severe", CKD4_ICD10, on=day(-50)), v1_agrees=True)
case(R, "ckd_4_resolved_before_the_start_is_not_severe", "met", mg("ckd_4_resolved_before_the_start_is_not_severe"),
     dx("ckd_4_resolved_before_the_start_is_not_severe", CKD4_ICD10, on=day(-900), resolved_date=day(-100)))
# rules-v2.md: "Every window ends at the earliest of its own end, the death date and the end of the
# data ... A patient with no deviation in a window that was cut short is not evaluable with the reason".
case(R, "severe_renal_deficiency_died_before_the_check_window_ended", "not_evaluable",
     egfr("severe_renal_deficiency_died_before_the_check_window_ended", 0, 20),
     mg_lab("severe_renal_deficiency_died_before_the_check_window_ended", 5, 0.5),
     mg("severe_renal_deficiency_died_before_the_check_window_ended"), death_date=day(15))
# "Treating a documented deficiency with monitoring is "caution", not a deviation, so this rule and
# LC-DEFICIENCY-UNTREATED can no longer both fail one patient."
also("LC-DEFICIENCY-UNTREATED", "severe_renal_deficiency_checked_3_days_after_start_is_met", "met", v1_agrees=True)

# ---------------------------------------------------------------- LC-MG-DOSE (issue 12 item 8)
# rules-v2.md: "LC-MG-DOSE: a patient is not evaluable when an order has an unknown daily dose and no
# known-dose order deviates; denominator and rates as the decider counts them."
D = "LC-MG-DOSE"


def mgo(pid: str, dose: float | None, start: int) -> Row:
    return mg(pid, start, dose_value=dose, dose_unit="mg" if dose else None, frequency_per_day=1)


case(D, "mgo_known_in_range_and_unknown_dose_is_not_evaluable", "not_evaluable",
     mgo("mgo_known_in_range_and_unknown_dose_is_not_evaluable", 800, 5),
     mgo("mgo_known_in_range_and_unknown_dose_is_not_evaluable", None, 20))
case(D, "mgo_known_out_of_range_and_unknown_dose_is_a_deviation", "deviation",
     mgo("mgo_known_out_of_range_and_unknown_dose_is_a_deviation", 400, 5),
     mgo("mgo_known_out_of_range_and_unknown_dose_is_a_deviation", None, 20), v1_agrees=True)

# ---------------------------------------------------------------- LC-BACLOFEN-TITRATION (item 2)
# rules-v2.md: "LC-BACLOFEN-TITRATION: the first order is the first by start date, whatever its dose
# (unknown dose: its start cannot be judged); each raise is compared with the order just before it.
# Exclusion: spasticity (MS G35, cerebral palsy G80, hemiplegia G81, paraplegia G82, stroke sequelae
# I69, spinal cord injury; value set SPASTICITY) present at the first order."
B = "LC-BACLOFEN-TITRATION"


def bac(pid: str, start: int, mg_per_day: float | None) -> Row:
    return med(pid, BACLOFEN_10_SCD, on=day(start), dose_value=mg_per_day, dose_unit="mg" if mg_per_day else None,
               frequency_per_day=1 if mg_per_day else None, description="baclofen 10 MG Oral Tablet")


# Statuses of the two unknown-dose patients are not pinned (see their test): v2 says what they are not.
ROWS.extend([*cramps_patient("baclofen_blank_dose_10_mg_tablet_then_20_a_week_later"),
             bac("baclofen_blank_dose_10_mg_tablet_then_20_a_week_later", 1, None),
             bac("baclofen_blank_dose_10_mg_tablet_then_20_a_week_later", 8, 20),
             *cramps_patient("baclofen_10_then_unknown_then_30"), bac("baclofen_10_then_unknown_then_30", 1, 10),
             bac("baclofen_10_then_unknown_then_30", 8, None), bac("baclofen_10_then_unknown_then_30", 15, 30)])
case(B, "multiple_sclerosis_before_the_first_baclofen_excludes", "excluded",
     bac("multiple_sclerosis_before_the_first_baclofen_excludes", 1, 20),
     dx("multiple_sclerosis_before_the_first_baclofen_excludes", MS_ICD10, on=day(-500)))
case(B, "stroke_sequela_excludes", "excluded", bac("stroke_sequela_excludes", 1, 20),
     dx("stroke_sequela_excludes", STROKE_SEQUELA_ICD10, on=day(-100)))
case(B, "cerebral_palsy_excludes", "excluded", bac("cerebral_palsy_excludes", 1, 20),
     dx("cerebral_palsy_excludes", CEREBRAL_PALSY_ICD10, on=day(-5000)))
case(B, "multiple_sclerosis_recorded_after_the_first_order_does_not_exclude", "deviation",
     bac("multiple_sclerosis_recorded_after_the_first_order_does_not_exclude", 1, 20),
     dx("multiple_sclerosis_recorded_after_the_first_order_does_not_exclude", MS_ICD10, on=day(5)), v1_agrees=True)

# ---------------------------------------------------------------- LC-CIRRHOSIS-DIURETIC (item 7)
# rules-v2.md: "LC-CIRRHOSIS-DIURETIC: a review is a diuretic stopped without a same-drug renewal within
# 7 days, a new order of a different diuretic or a different daily dose, or a MEDICATION_REVIEW; a
# same-drug, same-dose renewal is not a review. The window is index .. index + review_days for ends and
# starts alike." Cirrhosis since day -200, furosemide 40 mg once a day since day -100.
C = "LC-CIRRHOSIS-DIURETIC"


def furosemide(pid: str, start: int, end: int | None = None, mg_per_day: float = 40) -> Row:
    return med(pid, FUROSEMIDE_40_SCD, on=day(start), end=day(end) if end is not None else None,
               dose_value=mg_per_day, dose_unit="mg", frequency_per_day=1)


def cirrhotic(pid: str, end: int | None = None) -> list[Row]:
    return [dx(pid, CIRRHOSIS_ICD10, on=day(-200)), furosemide(pid, -100, end)]


case(C, "furosemide_stopped_on_index_is_a_review", "met", *cirrhotic("furosemide_stopped_on_index_is_a_review", 0),
     v1_agrees=True)
case(C, "spironolactone_started_on_index_is_a_review", "met",
     *cirrhotic("spironolactone_started_on_index_is_a_review"),
     med("spironolactone_started_on_index_is_a_review", SPIRONOLACTONE_IN, on=day(0)))
case(C, "furosemide_renewed_same_dose_7_days_after_stop_is_not_a_review", "deviation",
     *cirrhotic("furosemide_renewed_same_dose_7_days_after_stop_is_not_a_review", 10),
     furosemide("furosemide_renewed_same_dose_7_days_after_stop_is_not_a_review", 17))
case(C, "furosemide_renewed_same_dose_on_the_stop_day_is_not_a_review", "deviation",
     *cirrhotic("furosemide_renewed_same_dose_on_the_stop_day_is_not_a_review", 10),
     furosemide("furosemide_renewed_same_dose_on_the_stop_day_is_not_a_review", 10))
case(C, "furosemide_restarted_8_days_after_stop_is_a_review", "met",
     *cirrhotic("furosemide_restarted_8_days_after_stop_is_a_review", 10),
     furosemide("furosemide_restarted_8_days_after_stop_is_a_review", 18), v1_agrees=True)
case(C, "furosemide_renewed_at_80_mg_is_a_review", "met",
     *cirrhotic("furosemide_renewed_at_80_mg_is_a_review", 10),
     furosemide("furosemide_renewed_at_80_mg_is_a_review", 10, mg_per_day=80), v1_agrees=True)
case(C, "furosemide_refilled_same_dose_while_active_is_not_a_review", "deviation",
     *cirrhotic("furosemide_refilled_same_dose_while_active_is_not_a_review"),
     furosemide("furosemide_refilled_same_dose_while_active_is_not_a_review", 5))
case(C, "furosemide_renewed_by_ingredient_code_same_dose_is_not_a_review", "deviation",
     *cirrhotic("furosemide_renewed_by_ingredient_code_same_dose_is_not_a_review", 10),
     med("furosemide_renewed_by_ingredient_code_same_dose_is_not_a_review", FUROSEMIDE_IN, on=day(12),
         dose_value=20, dose_unit="mg", frequency_per_day=2))
case(C, "furosemide_stopped_day_30_renewed_day_35_is_not_a_review", "deviation",
     *cirrhotic("furosemide_stopped_day_30_renewed_day_35_is_not_a_review", 30),
     furosemide("furosemide_stopped_day_30_renewed_day_35_is_not_a_review", 35))

# ---------------------------------------------------------------- LC-DEFICIENCY-UNTREATED
# rules-v2.md: "LC-DEFICIENCY-UNTREATED: a later normal result of the same analyte within
# correction_days is a correction; for low potassium so is stopping a thiazide or loop diuretic or
# starting a potassium-sparing one." Low results on day 10; correction_days 14.
F = "LC-DEFICIENCY-UNTREATED"
case(F, "low_potassium_normal_again_14_days_later_is_corrected", "met",
     k_lab("low_potassium_normal_again_14_days_later_is_corrected", 10, 3.2),
     k_lab("low_potassium_normal_again_14_days_later_is_corrected", 24, 4.0))
case(F, "low_potassium_normal_again_15_days_later_is_not_corrected", "deviation",
     k_lab("low_potassium_normal_again_15_days_later_is_not_corrected", 10, 3.2),
     k_lab("low_potassium_normal_again_15_days_later_is_not_corrected", 25, 4.0), v1_agrees=True)
case(F, "low_magnesium_normal_again_is_corrected", "met", mg_lab("low_magnesium_normal_again_is_corrected", 10, 0.6),
     mg_lab("low_magnesium_normal_again_is_corrected", 20, 0.8))
case(F, "low_potassium_then_normal_magnesium_is_not_corrected", "deviation",
     k_lab("low_potassium_then_normal_magnesium_is_not_corrected", 10, 3.2),
     mg_lab("low_potassium_then_normal_magnesium_is_not_corrected", 15, 0.8), v1_agrees=True)
case(F, "low_potassium_thiazide_stopped_within_14_days_is_corrected", "met",
     k_lab("low_potassium_thiazide_stopped_within_14_days_is_corrected", 10, 3.2),
     med("low_potassium_thiazide_stopped_within_14_days_is_corrected", HYDROCHLOROTHIAZIDE_25_SCD, on=day(-100),
         end=day(20)))
case(F, "low_potassium_thiazide_stopped_after_15_days_is_not_corrected", "deviation",
     k_lab("low_potassium_thiazide_stopped_after_15_days_is_not_corrected", 10, 3.2),
     med("low_potassium_thiazide_stopped_after_15_days_is_not_corrected", HYDROCHLOROTHIAZIDE_IN, on=day(-100),
         end=day(25)), v1_agrees=True)
case(F, "low_potassium_loop_diuretic_stopped_is_corrected", "met",
     k_lab("low_potassium_loop_diuretic_stopped_is_corrected", 10, 3.2),
     furosemide("low_potassium_loop_diuretic_stopped_is_corrected", -100, end=15))
case(F, "low_potassium_spironolactone_started_is_corrected", "met",
     k_lab("low_potassium_spironolactone_started_is_corrected", 10, 3.2),
     med("low_potassium_spironolactone_started_is_corrected", SPIRONOLACTONE_IN, on=day(12)))
case(F, "low_magnesium_spironolactone_started_is_not_corrected", "deviation",
     mg_lab("low_magnesium_spironolactone_started_is_not_corrected", 10, 0.6),
     med("low_magnesium_spironolactone_started_is_not_corrected", SPIRONOLACTONE_IN, on=day(12)), v1_agrees=True)
case(F, "low_potassium_died_before_the_correction_window_ended", "not_evaluable",
     k_lab("low_potassium_died_before_the_correction_window_ended", 10, 3.2), death_date=day(15))

# ---------------------------------------------------------------- LC-WORKUP-EXCESS
# rules-v2.md: "LC-WORKUP-EXCESS: EXTENSIVE_WORKUP loses joint MRI (CPT 73721-73723)."
W = "LC-WORKUP-EXCESS"
case(W, "knee_joint_mri_73721_is_not_extensive_workup", "met",
     proc("knee_joint_mri_73721_is_not_extensive_workup", MRI_KNEE_JOINT_CPT, on=day(20)), v1_agrees=True)
case(W, "joint_mri_73723_is_not_extensive_workup", "met",
     proc("joint_mri_73723_is_not_extensive_workup", "73723", on=day(20)), v1_agrees=True)
case(W, "lower_limb_mri_other_than_joint_73718_still_is", "deviation",
     proc("lower_limb_mri_other_than_joint_73718_still_is", MRI_LOWER_EXTREMITY_CPT, on=day(20)), v1_agrees=True)

# ---------------------------------------------------------------- LC-REFERRAL-MISSED
# rules-v2.md: "LC-REFERRAL-MISSED: the referral window starts at index - 90 days; an ankle-brachial
# index or arterial duplex counts as the vascular assessment for PAD/claudication flags."
F2 = "LC-REFERRAL-MISSED"


def referral(pid: str, on: int) -> Row:
    return proc(pid, REFERRAL_NEUROLOGY_SNOMED, on=day(on), code_system="SNOMED")


case(F2, "neuropathy_referred_90_days_before_index_is_met", "met",
     dx("neuropathy_referred_90_days_before_index_is_met", NEUROPATHY_ICD10, on=day(-100)),
     referral("neuropathy_referred_90_days_before_index_is_met", -90))
case(F2, "neuropathy_referred_91_days_before_index_is_a_deviation", "deviation",
     dx("neuropathy_referred_91_days_before_index_is_a_deviation", NEUROPATHY_ICD10, on=day(-100)),
     referral("neuropathy_referred_91_days_before_index_is_a_deviation", -91), v1_agrees=True)
case(F2, "pad_with_an_ankle_brachial_index_is_assessed", "met",
     dx("pad_with_an_ankle_brachial_index_is_assessed", PAD_ICD10, on=day(-10)),
     proc("pad_with_an_ankle_brachial_index_is_assessed", ABI_CPT, on=day(10)))
case(F2, "pad_with_an_arterial_duplex_is_assessed", "met",
     dx("pad_with_an_arterial_duplex_is_assessed", PAD_ICD10, on=day(-10)),
     proc("pad_with_an_arterial_duplex_is_assessed", ARTERIAL_DUPLEX_CPT, on=day(10)))
case(F2, "pad_with_an_ankle_brachial_index_90_days_before_index_is_assessed", "met",
     dx("pad_with_an_ankle_brachial_index_90_days_before_index_is_assessed", PAD_ICD10, on=day(-100)),
     proc("pad_with_an_ankle_brachial_index_90_days_before_index_is_assessed", ABI_CPT, on=day(-90)))
case(F2, "neuropathy_with_an_ankle_brachial_index_only_is_a_deviation", "deviation",
     dx("neuropathy_with_an_ankle_brachial_index_only_is_a_deviation", NEUROPATHY_ICD10, on=day(-10)),
     proc("neuropathy_with_an_ankle_brachial_index_only_is_a_deviation", ABI_CPT, on=day(10)), v1_agrees=True)

# ---------------------------------------------------------------- LC-RLS-CONFUSION
# rules-v2.md: "LC-RLS-CONFUSION: PARKINSONS gains atypical parkinsonism (G23.1, G23.2, G90.3,
# G31.83); a PARKINSONS diagnosis up to 90 days after the order also excludes (a diagnostic trial)."
# Chronic conditions (PARKINSONS) count "when recorded on or before it and not resolved before it".
L = "LC-RLS-CONFUSION"


def ropinirole_with(pid: str, code: str, on: int, resolved: int | None = None) -> list[Row]:
    return [med(pid, ROPINIROLE_IN, on=day(10)),
            dx(pid, code, on=day(on), resolved_date=day(resolved) if resolved is not None else None)]


case(L, "progressive_supranuclear_palsy_excludes", "excluded",
     *ropinirole_with("progressive_supranuclear_palsy_excludes", PSP_ICD10, -100), v1_agrees=True)
case(L, "striatonigral_degeneration_excludes", "excluded",
     *ropinirole_with("striatonigral_degeneration_excludes", STRIATONIGRAL_DEGENERATION_ICD10, -100), v1_agrees=True)
case(L, "multi_system_degeneration_g90_3_excludes", "excluded",
     *ropinirole_with("multi_system_degeneration_g90_3_excludes", "G90.3", -100), v1_agrees=True)
case(L, "dementia_with_lewy_bodies_excludes", "excluded",
     *ropinirole_with("dementia_with_lewy_bodies_excludes", LEWY_BODY_ICD10, -100), v1_agrees=True)
case(L, "parkinsons_90_days_after_the_order_excludes", "excluded",
     *ropinirole_with("parkinsons_90_days_after_the_order_excludes", PARKINSONS_ICD10, 100))
case(L, "parkinsons_91_days_after_the_order_does_not_exclude", "deviation",
     *ropinirole_with("parkinsons_91_days_after_the_order_does_not_exclude", PARKINSONS_ICD10, 101), v1_agrees=True)
case(L, "parkinsons_resolved_before_the_order_does_not_exclude", "deviation",
     *ropinirole_with("parkinsons_resolved_before_the_order_does_not_exclude", PARKINSONS_ICD10, -300, -10))

# ---------------------------------------------------------------- LC-NSAID-ELDERLY
# rules-v2.md: "LC-NSAID-ELDERLY: ... topical NSAIDs do not count; exclusion: another pain indication
# (gout, osteoarthritis, fracture, back pain; value set PAIN_INDICATION) from index - 365 to the
# order's start." Aged 70, ibuprofen from day 5.
N = "LC-NSAID-ELDERLY"


def ibuprofen_with(pid: str, code: str, on: int) -> list[Row]:
    return [med(pid, IBUPROFEN_400_SCD, on=day(5)), dx(pid, code, on=day(on))]


case(N, "gout_365_days_before_index_excludes", "excluded",
     *ibuprofen_with("gout_365_days_before_index_excludes", GOUT_ICD10, -365), age=70)
case(N, "gout_366_days_before_index_does_not_exclude", "deviation",
     *ibuprofen_with("gout_366_days_before_index_does_not_exclude", GOUT_ICD10, -366), age=70, v1_agrees=True)
case(N, "gout_on_the_order_start_excludes", "excluded",
     *ibuprofen_with("gout_on_the_order_start_excludes", GOUT_ICD10, 5), age=70)
case(N, "gout_the_day_after_the_order_start_does_not_exclude", "deviation",
     *ibuprofen_with("gout_the_day_after_the_order_start_does_not_exclude", GOUT_ICD10, 6), age=70, v1_agrees=True)
case(N, "knee_osteoarthritis_excludes", "excluded",
     *ibuprofen_with("knee_osteoarthritis_excludes", KNEE_OSTEOARTHRITIS_ICD10, -50), age=70)
case(N, "hip_fracture_excludes", "excluded", *ibuprofen_with("hip_fracture_excludes", HIP_FRACTURE_ICD10, 2), age=70)
case(N, "low_back_pain_excludes", "excluded",
     *ibuprofen_with("low_back_pain_excludes", LOW_BACK_PAIN_ICD10, -10), age=70)
case(N, "topical_nsaid_is_not_counted", "met",
     med("topical_nsaid_is_not_counted", "3355", on=day(5), route="topical",
         description="diclofenac sodium 10 MG/ML Topical Gel"), age=70)


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


@pytest.mark.parametrize("rule_id, patient_id", [
    pytest.param(rule_id, patient_id, id=f"{patient_id}[{rule_id}]", marks=() if v1_agrees else V2_PENDING)
    for (rule_id, patient_id), (_, v1_agrees) in CASES.items()])
def test_status(deck: Deck, rule_id: str, patient_id: str) -> None:
    assert deck.status(rule_id, patient_id) == CASES[(rule_id, patient_id)][0]


@V2_PENDING
def test_item2_baclofen_first_order_is_the_first_by_start_date_whatever_its_dose(deck: Deck) -> None:
    """Issue 12 item 2 / rules-v2.md: "the first order is the first by start date, whatever its dose
    (unknown dose: its start cannot be judged)". A blank-dose 10 mg tablet followed a week later by
    20 mg/day has no "first dose above 10 mg/day": the 20 mg order is a raise of 10 mg after 7 days
    (within the schedule) from an order whose dose is unknown. Whether such a patient is met or not
    evaluable, rules-v2.md does not say; it is not a deviation."""
    pid = "baclofen_blank_dose_10_mg_tablet_then_20_a_week_later"
    assert deck.status(B, pid) in ("met", "not_evaluable")
    assert not any("first dose" in r["explanation"] for r in deck.deviations(B, pid))


@V2_PENDING
def test_baclofen_each_raise_is_compared_with_the_order_just_before_it(deck: Deck) -> None:
    """rules-v2.md: "each raise is compared with the order just before it": 30 mg/day after an
    unknown-dose order is not judged against the 10 mg/day order two before it (a raise of 20)."""
    pid = "baclofen_10_then_unknown_then_30"
    assert deck.status(B, pid) in ("met", "not_evaluable")
    assert deck.deviations(B, pid) == []


@V2_PENDING
def test_item7_cirrhosis_review_window_is_the_same_for_ends_and_starts(deck: Deck) -> None:
    """Issue 12 item 7 / rules-v2.md: "The window is index .. index + review_days for ends and starts
    alike" (an order ending on the index date and a new one starting that day both count); "a
    same-drug, same-dose renewal is not a review" (within 7 days)."""
    assert deck.status(C, "furosemide_stopped_on_index_is_a_review") == "met"
    assert deck.status(C, "spironolactone_started_on_index_is_a_review") == "met"
    assert deck.status(C, "furosemide_renewed_same_dose_7_days_after_stop_is_not_a_review") == "deviation"
    assert deck.status(C, "furosemide_restarted_8_days_after_stop_is_a_review") == "met"


@V2_PENDING
def test_item8_mg_dose_known_in_range_and_unknown_dose_is_not_evaluable(deck: Deck) -> None:
    """Issue 12 item 8 / rules-v2.md: "a patient is not evaluable when an order has an unknown daily
    dose and no known-dose order deviates" (v1 called this patient met: the known dose decided)."""
    assert deck.status(D, "mgo_known_in_range_and_unknown_dose_is_not_evaluable") == "not_evaluable"
    assert deck.status(D, "mgo_known_out_of_range_and_unknown_dose_is_a_deviation") == "deviation"


@V2_PENDING
def test_renal_caution_is_not_also_an_untreated_deficiency(deck: Deck) -> None:
    """rules-v2.md: "Treating a documented deficiency with monitoring is "caution", not a deviation,
    so this rule and LC-DEFICIENCY-UNTREATED can no longer both fail one patient"."""
    pid = "severe_renal_deficiency_checked_3_days_after_start_is_met"
    assert (deck.status(R, pid), deck.status(F, pid)) == ("met", "met")


@V2_PENDING
def test_deaths_inside_an_after_window_name_the_death_date(deck: Deck) -> None:
    """rules-v2.md: not evaluable "with the reason ("died 2025-03-04 before the 30-day window ended")"."""
    assert "died 2025-03-16" in deck.reason(R, "severe_renal_deficiency_died_before_the_check_window_ended")
    assert "died 2025-03-16" in deck.reason(F, "low_potassium_died_before_the_correction_window_ended")


@V2_PENDING
def test_nsaid_rule_has_its_new_title(deck: Deck) -> None:
    """rules-v2.md: "LC-NSAID-ELDERLY: title "NSAID started after a leg-cramps diagnosis in an older patient"."""
    (title,) = deck.con.execute("SELECT title FROM work.rules WHERE rule_id = ?", [N]).fetchone()
    assert title == "NSAID started after a leg-cramps diagnosis in an older patient"
