"""Scenario templates: the leg-cramp patients the generator plants, and what the audit must say.

Every template is a small timeline relative to the patient's index date (day 0 = the leg-cramps
diagnosis that makes the index date) plus the exact set of rules (shared/spec/rules.md with rules-v2.md, default
parameters) under which that timeline is a deviation. The generator applies each template to many
patients at once; the timeline never depends on the patient, only lab values jitter inside ranges
chosen well away from every threshold, so the expected outcome is the same for all of them.
Days are relative to the index date; "K"/"Mg" = serum potassium / magnesium result, "routine" =
cramp diagnosis + normal K + normal Mg on day 0 (what the guideline asks for). Non-cohort templates
(last rows) use day 0 only as a reference date: they carry no leg-cramps diagnosis inside the audit
period at age 18+, so they must not enter the cohort at all.

  #  scenario                                    deviations (rule ids without the LC- prefix)
     what the timeline holds (days relative to the index date)
  1  idiopathic_managed_per_guideline            -
     routine: cramps, K and Mg checked on day 0, no drugs
  2  idiopathic_mg_in_mg_per_dl                  -
     K on day -10, Mg in mg/dL (LOINC 19123-9) on day 5
  3  cramps_recurring_from_before_period         -
     cramp dx on day -420 (before the period), 0 and 60; labs on day 0 only: index is day 0
  4  deceased_during_followup                    -
     routine; dies on day 100
  5  electrolytes_at_window_edges                -
     K on day -30, Mg on day +30 (window is inclusive)
  6  potassium_whole_blood_code                  -
     K as LOINC 6298-4 (blood) on day 2, Mg on day 0
  7  electrolytes_missing                        ELECTROLYTES
     cramp dx only, no labs
  8  electrolytes_potassium_only                 ELECTROLYTES
     K but no Mg
  9  electrolytes_rbc_magnesium_only             ELECTROLYTES
     K + red-cell Mg (2597-3, not serum)
 10  electrolytes_outside_window                 ELECTROLYTES
     K on day -45, Mg on day 31
 11  quinine_started_in_followup                 QUININE
     quinine 324 mg days 10-40
 12  quinine_active_at_index                     QUININE
     quinine (PIN code) since day -200, no end date
 13  quinine_started_day_180                     QUININE
     quinine starts on the last day of follow-up
 14  quinine_stopped_before_index                -
     quinine days -300..-100
 15  quinine_order_cancelled                     -
     quinine orders cancelled / entered-in-error
 16  quinine_after_followup                      -
     quinine starts on day 190
 17  mg_empiric_normal_level                     MG-EMPIRIC
     Mg normal on day 0, magnesium oxide 400 mg x2 from day 7
 18  mg_empiric_no_level                         MG-EMPIRIC ELECTROLYTES
     no Mg result, magnesium citrate from day 5
 19  mg_low_treated_with_oxide                   -
     Mg low on day 0, eGFR normal, magnesium oxide 800 mg/day from day 3
 20  mg_low_mg_per_dl_treated                    -
     Mg 1.2-1.5 mg/dL (ref 1.7), magnesium oxide 250 mg x2 from day 2
 21  mg_hypomagnesemia_dx_treated                -
     hypomagnesemia dx day -20, Mg glycinate from day 7
 22  mg_low_result_91_days_before_start          MG-EMPIRIC
     low Mg on day -86 (91 days before the day-5 start), normal Mg day 0
 23  mg_low_result_90_days_before_start          -
     low Mg on day -86 (90 days before the day-4 start)
 24  mg_iv_corrects_low_level                    -
     Mg low, IV magnesium sulfate on day 1 (not oral: not an MG-EMPIRIC start)
 25  mg_hydroxide_antacid_not_supplement         -
     magnesium hydroxide on day 10
 26  mg_citrate_laxative_not_supplement          -
     magnesium citrate oral solution (laxative) on day 12
 27  mg_order_entered_in_error                   -
     magnesium oxide order entered-in-error
 28  mg_route_missing_dose_unknown               MG-EMPIRIC
     magnesium oxide, no route, no frequency (MG-DOSE not evaluable)
 29  mg_active_before_index_covers_low           -
     magnesium oxide since day -60; low Mg on day 10
 30  mg_renal_low_egfr                           MG-RENAL
     eGFR < 30 on day -20, low Mg, magnesium oxide from day 2
 31  mg_renal_ckd4_empiric                       MG-EMPIRIC MG-RENAL
     CKD stage 4 dx, Mg normal, magnesium oxide from day 10
 32  mg_renal_esrd_snomed                        MG-RENAL
     ESRD (SNOMED) dx, low Mg, magnesium chloride from day 3
 33  mg_renal_egfr_recovered                     -
     eGFR 24 on day -200 but 41-55 on day -10 (latest counts), low Mg treated
 34  mg_ckd3_not_severe                          -
     CKD stage 3b + eGFR 35-45, low Mg treated
 35  ckd4_without_magnesium                      -
     CKD stage 4, eGFR < 30, routine care, no magnesium
 36  mgo_dose_too_low                            MG-DOSE
     low Mg, magnesium oxide 400 mg once daily
 37  mgo_dose_too_high                           MG-DOSE
     low Mg, magnesium oxide 500 mg x2 (1000 mg/day)
 38  mgo_dose_unknown                            -
     low Mg, magnesium oxide without frequency (not evaluable)
 39  mgo_second_order_too_high                   MG-DOSE
     low Mg, 800 mg/day then 1200 mg/day from day 30
 40  baclofen_titrated_per_guideline             -
     baclofen 10 -> 20 -> 30 mg/day, steps exactly 7 days apart
 41  baclofen_dose_reduced                       -
     baclofen 10 -> 20 -> 10 mg/day weekly
 42  baclofen_start_too_high                     BACLOFEN-TITRATION
     baclofen starts at 20 mg/day
 43  baclofen_step_too_soon                      BACLOFEN-TITRATION
     baclofen 10 -> 20 mg/day after 4 days
 44  baclofen_step_too_big                       BACLOFEN-TITRATION
     baclofen 10 -> 30 mg/day after 7 days
 45  baclofen_above_max                          BACLOFEN-TITRATION
     baclofen weekly up to 40 mg/day
 46  baclofen_dose_unknown                       -
     baclofen without dose or frequency (not evaluable)
 47  baclofen_intrathecal_not_counted            -
     intrathecal baclofen injection
 48  cirrhosis_diuretics_no_review               CIRRHOSIS-DIURETIC
     cirrhosis, furosemide + spironolactone active at index, nothing in 30 days
 49  cirrhosis_diuretic_stopped                  -
     as 48, furosemide stopped on day 12
 50  cirrhosis_medication_review                 -
     as 48, medication review (SNOMED 182836005) on day 8
 51  cirrhosis_review_due_not_done               CIRRHOSIS-DIURETIC
     as 48, "medication review due" (negative code) on day 8
 52  cirrhosis_diuretic_changed                  -
     as 48, furosemide 40 ends day 14, furosemide 20 starts day 15
 53  cirrhosis_review_too_late                   CIRRHOSIS-DIURETIC
     as 48, medication review on day 45
 54  cirrhosis_diagnosed_after_index             -
     diuretics active, cirrhosis first recorded on day 40
 55  cirrhosis_low_k_corrected_reviewed          -
     as 48, K low on day 0, KCl day 2, furosemide stopped day 10
 56  cirrhosis_low_k_untreated                   DEFICIENCY-UNTREATED
     as 48, K low on day 0, medication reconciliation day 5, no KCl
 57  cirrhosis_without_diuretic                  -
     cirrhosis, no diuretic
 58  diuretic_without_cirrhosis                  -
     hydrochlorothiazide for hypertension, no cirrhosis
 59  low_k_untreated                             DEFICIENCY-UNTREATED
     K 3.0-3.3 on day 0, no supplement
 60  low_k_treated                               -
     K low, potassium chloride on day 2
 61  low_k_losartan_potassium_not_supplement     DEFICIENCY-UNTREATED
     K low, only losartan potassium started
 62  low_k_treated_too_late                      DEFICIENCY-UNTREATED
     K low, potassium chloride on day 20
 63  low_k_supplement_cancelled                  DEFICIENCY-UNTREATED
     K low, potassium chloride order cancelled
 64  low_k_meq_units_no_reference                DEFICIENCY-UNTREATED
     K 3.0-3.3 meq/L without reference range
 65  low_k_iv_potassium                          -
     K low, IV potassium chloride on day 1
 66  low_k_before_index_untreated                DEFICIENCY-UNTREATED
     K low on day -25 (inside index - 30), untreated
 67  low_k_late_in_followup_treated              -
     K low on day 170, potassium chloride day 175
 68  low_k_after_followup_not_counted            -
     K low on day 195 (follow-up ended on day 180)
 69  low_mg_untreated                            DEFICIENCY-UNTREATED
     Mg 0.50-0.64 mmol/L (ref 0.70), no supplement
 70  low_mg_below_default_no_reference           DEFICIENCY-UNTREATED
     Mg 0.60-0.66 mmol/L, no reference range (default 0.70)
 71  low_mg_by_own_reference_range               DEFICIENCY-UNTREATED
     Mg 0.71-0.74 mmol/L with the lab's ref_low 0.75
 72  mg_normal_by_own_reference_range            -
     Mg 1.62-1.68 mg/dL with ref_low 1.6 (default would call it low)
 73  workup_mri_without_red_flags                WORKUP-EXCESS
     lumbar MRI (CPT 72148) on day 20
 74  workup_ncs_emg_without_red_flags            WORKUP-EXCESS
     nerve conduction + needle EMG on day 30
 75  workup_snomed_leg_mri                       WORKUP-EXCESS
     lower-limb MRI coded in SNOMED on day 15
 76  workup_arterial_duplex_not_extensive        -
     arterial duplex (vascular assessment) on day 20
 77  workup_after_window                         -
     lumbar MRI on day 120
 78  fasciculation_is_not_a_red_flag             WORKUP-EXCESS
     fasciculation dx day -10, lumbar MRI day 20
 79  red_flag_older_than_lookback                REFERRAL-MISSED
     radiculopathy dx on day -400 (unresolved: still a red flag, rule pack v2), lumbar MRI day 20
 80  red_flag_radiculopathy_referred             -
     radiculopathy day -60, MRI day 20, neurology referral day 25
 81  red_flag_neuropathy_not_referred            REFERRAL-MISSED
     diabetic polyneuropathy day -100, no referral
 82  red_flag_pad_vascular_referral              -
     PAD day -30, ABI day 5, vascular surgery referral day 12
 83  red_flag_referral_too_late                  REFERRAL-MISSED
     PAD day -30, vascular referral on day 100
 84  red_flag_neurosurgery_referral_not_counted  REFERRAL-MISSED
     radiculopathy, referral to neurosurgeon only
 85  red_flag_foot_drop_after_index_referred     -
     foot drop dx day 50, MRI day 55, neurology referral day 60
 86  dopaminergic_without_rls                    RLS-CONFUSION FERRITIN-RLS
     ropinirole from day 20, no restless legs dx, no ferritin
 87  dopaminergic_with_rls_same_day              FERRITIN-RLS
     restless legs dx and pramipexole both on day 15, no ferritin
 88  dopaminergic_rls_diagnosed_after            RLS-CONFUSION FERRITIN-RLS
     ropinirole day 20, restless legs dx only on day 40, no ferritin
 89  dopaminergic_with_parkinsons                FERRITIN-RLS
     Parkinson's dx day -700, carbidopa/levodopa day 30 (RLS-CONFUSION excluded), no ferritin
 90  dopaminergic_secondary_parkinsonism         -
     vascular parkinsonism dx, ropinirole day 20 (RLS-CONFUSION excluded), ferritin day 25
 91  dopaminergic_rls_snomed                     -
     restless legs (SNOMED) day -50, rotigotine patch day 10, ferritin day -60
 92  dopaminergic_started_before_index           -
     ropinirole since day -100 (not a start in follow-up)
 93  nsaid_elderly                               NSAID-ELDERLY
     age 67-89, ibuprofen from day 3
 94  nsaid_elderly_after_window                  -
     age 67-89, naproxen from day 45
 95  nsaid_younger_adult                         -
     age 25-60, ibuprofen from day 3
 96  acetaminophen_elderly                       -
     age 67-89, acetaminophen (not an NSAID) day 2
 97  nsaid_elderly_cancelled                     -
     age 67-89, ibuprofen order cancelled
 98  nsaid_elderly_started_before_index          -
     age 67-89, naproxen since day -40
 99  nsaid_on_65th_birthday                      NSAID-ELDERLY
     index date is the 65th birthday, ibuprofen day 1
100  nsaid_day_before_65th_birthday              -
     65th birthday is the day after index, ibuprofen day 1
101  deceased_elderly_nsaid                      NSAID-ELDERLY
     age 75-89, ibuprofen day 5, dies on day 50
102  multiple_deviations                         QUININE MG-EMPIRIC MG-DOSE ELECTROLYTES WORKUP-EXCESS NSAID-ELDERLY
     age 70-85, no labs, quinine, magnesium oxide 400 mg/day, ibuprofen, lumbar MRI
103  gabapentin_without_ferritin                 FERRITIN-RLS
     gabapentin from day 12, no ferritin
104  restless_legs_ferritin_measured             -
     restless legs dx day 20, ferritin day 30
105  statin_without_medication_review            MED-REVIEW
     atorvastatin 40 mg since day -200, nothing in 30 days
106  statin_with_medication_review               -
     atorvastatin since day -200, medication review day 10
107  statin_stopped_after_index                  -
     atorvastatin since day -200, stopped day 15
108  quinine_order_canceled_spellings            -
     quinine orders 'Canceled', 'entered in error' and draft
109  quinine_completed_31_days_before_index      -
     quinine completed, no end date, started day -31
110  mg_route_snomed_oral_route                  MG-EMPIRIC
     magnesium oxide route "Oral route" from day 7, Mg normal day 0
111  mgo_tablets_times_strength                  -
     low Mg, 2 magnesium oxide 400 MG tablets once daily (800 mg/day)
112  mg_text_result_below                        -
     Mg only as text "<0.5" day 0 is a low result; magnesium oxide day 3
113  cramps_already_diagnosed                    -
     cramp dx day -340 (before the period): not an incident case, no labs
114  deceased_day_10_no_labs                     -
     cramp dx only, dies on day 10 (windows cut short: not evaluable)
115  child_with_cramps                           -
     (not in cohort) age 11-15, cramps and quinine inside the period
116  cramps_before_period_only                   -
     (not in cohort) cramp dx and quinine on day -400 only
117  died_before_period_with_cramps              -
     (not in cohort) cramp dx day -500, dies day -450
118  muscle_spasm_not_leg_cramps                 -
     (not in cohort) M62.838 "other muscle spasm" + quinine
"""

from __future__ import annotations

from dataclasses import dataclass

_NAME_WIDTH = 44
RULE_IDS: tuple[str, ...] = (
    "LC-QUININE", "LC-MG-EMPIRIC", "LC-MG-RENAL", "LC-MG-DOSE", "LC-BACLOFEN-TITRATION",
    "LC-CIRRHOSIS-DIURETIC", "LC-ELECTROLYTES", "LC-DEFICIENCY-UNTREATED", "LC-WORKUP-EXCESS",
    "LC-REFERRAL-MISSED", "LC-RLS-CONFUSION", "LC-NSAID-ELDERLY", "LC-FERRITIN-RLS", "LC-MED-REVIEW",
)


@dataclass(frozen=True)
class Concept:
    """One coded thing a scenario records. `valueset` names the reference file and concept group
    (shared/reference/valuesets) the code was taken from; None marks a code deliberately outside
    every rule's value set (tests check both)."""

    table: str  # diagnoses / medications / labs / procedures
    system: str  # extract-format token: ICD10CM, SNOMED, RXNORM, LOINC, CPT
    code: str
    description: str
    valueset: tuple[str, str] | None
    unit: str | None = None  # labs: result unit; medications: dose unit
    route: str | None = None  # medications
    ref_low: float | None = None  # labs
    ref_high: float | None = None


def _dx(system: str, code: str, description: str, valueset: tuple[str, str] | None) -> Concept:
    return Concept("diagnoses", system, code, description, valueset)


def _drug(code: str, description: str, valueset: tuple[str, str] | None, unit: str = "mg",
          route: str = "oral") -> Concept:
    return Concept("medications", "RXNORM", code, description, valueset, unit=unit, route=route)


def _loinc(code: str, description: str, group: str, unit: str, ref: tuple[float | None, float | None]
           ) -> Concept:
    return Concept("labs", "LOINC", code, description, ("labs.csv", group), unit=unit, ref_low=ref[0],
                   ref_high=ref[1])


def _proc(system: str, code: str, description: str, valueset: tuple[str, str]) -> Concept:
    return Concept("procedures", system, code, description, valueset)


_LEG = "conditions_leg_cramps.csv"
_MG = "drugs_magnesium.csv"
_K = "drugs_potassium_supplements.csv"
_WORKUP = "procedures_workup.csv"
_REVIEW = "procedures_medication_review.csv"
_MG_SERUM_MOLAR = "Magnesium [Moles/volume] in Serum or Plasma"
_MG_SERUM_MASS = "Magnesium [Mass/volume] in Serum or Plasma"
_K_SERUM = "Potassium [Moles/volume] in Serum or Plasma"
_EGFR = ("Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by "
         "Creatinine-based formula (CKD-EPI 2021)")

# The leg-cramps codes a cohort patient's diagnoses are drawn from, with relative weights: ICD-10-CM
# with and without the dot, the sleep-related code, calf spasm (in LEG_CRAMPS by name) and SNOMED.
CRAMP_CODES: tuple[tuple[Concept, int], ...] = (
    (_dx("ICD10CM", "R25.2", "Cramp and spasm", (_LEG, "leg_cramps")), 30),
    (_dx("ICD10CM", "R252", "Cramp and spasm", (_LEG, "leg_cramps")), 15),
    (_dx("ICD10CM", "G47.62", "Sleep related leg cramps", (_LEG, "leg_cramps")), 12),
    (_dx("ICD10CM", "G4762", "Sleep related leg cramps", (_LEG, "leg_cramps")), 3),
    (_dx("ICD10CM", "M62.831", "Muscle spasm of calf", (_LEG, "leg_cramps_related_muscle_spasm")), 5),
    (_dx("SNOMED", "55300003", "Cramp", (_LEG, "leg_cramps")), 6),
    (_dx("SNOMED", "424647005", "Cramp in limb", (_LEG, "leg_cramps")), 6),
    (_dx("SNOMED", "449918009", "Cramp in lower leg", (_LEG, "leg_cramps")), 10),
    (_dx("SNOMED", "102549009", "Cramp in lower leg associated with rest", (_LEG, "leg_cramps")), 6),
    (_dx("SNOMED", "90392009", "Nocturnal muscle spasm", (_LEG, "leg_cramps")), 7),
)
CRAMP = "cramp"  # concept key standing for "this patient's leg-cramps code"

CONCEPTS: dict[str, Concept] = {
    # diagnoses
    "muscle_spasm_other": _dx("ICD10CM", "M62.838", "Other muscle spasm",
                              (_LEG, "leg_cramps_related_muscle_spasm")),
    "hypomagnesemia": _dx("ICD10CM", "E83.42", "Hypomagnesemia",
                          ("conditions_electrolytes.csv", "hypomagnesemia")),
    "ckd_stage4": _dx("ICD10CM", "N18.4", "Chronic kidney disease, stage 4 (severe)",
                      ("conditions_ckd_renal.csv", "ckd_stage4")),
    "ckd_stage3b": _dx("ICD10CM", "N18.32", "Chronic kidney disease, stage 3b",
                       ("conditions_ckd_renal.csv", "ckd_any_stage")),
    "esrd_snomed": _dx("SNOMED", "46177005", "End-stage renal disease",
                       ("conditions_ckd_renal.csv", "esrd_or_stage5_dialysis")),
    "cirrhosis_alcoholic": _dx("ICD10CM", "K70.30", "Alcoholic cirrhosis of liver without ascites",
                               ("conditions_liver_cirrhosis_ascites.csv", "cirrhosis")),
    "cirrhosis_unspecified": _dx("ICD10CM", "K74.60", "Unspecified cirrhosis of liver",
                                 ("conditions_liver_cirrhosis_ascites.csv", "cirrhosis")),
    "radiculopathy_lumbar": _dx("ICD10CM", "M54.16", "Radiculopathy, lumbar region",
                                ("conditions_radiculopathy.csv", "radiculopathy")),
    "diabetic_polyneuropathy": _dx("ICD10CM", "E11.42", "Type 2 diabetes mellitus with diabetic polyneuropathy",
                                   ("conditions_peripheral_neuropathy.csv", "diabetic_neuropathy")),
    "pvd": _dx("ICD10CM", "I73.9", "Peripheral vascular disease, unspecified",
               ("conditions_pad_claudication.csv", "pad_other")),
    "foot_drop": _dx("ICD10CM", "M21.371", "Foot drop, right foot",
                     ("conditions_focal_neuro_deficit.csv", "foot_drop")),
    "fasciculation": _dx("ICD10CM", "R25.3", "Fasciculation",
                         ("conditions_focal_neuro_deficit.csv", "fasciculation")),
    "restless_legs": _dx("ICD10CM", "G25.81", "Restless legs syndrome",
                         ("conditions_restless_legs.csv", "restless_legs")),
    "restless_legs_snomed": _dx("SNOMED", "32914008", "Restless legs",
                                ("conditions_restless_legs.csv", "restless_legs")),
    "parkinsons": _dx("ICD10CM", "G20.A1",
                      "Parkinson's disease without dyskinesia, without mention of fluctuations",
                      ("conditions_parkinsons.csv", "parkinsons_disease")),
    "parkinsonism_vascular": _dx("ICD10CM", "G21.4", "Vascular parkinsonism",
                                 ("conditions_parkinsons.csv", "secondary_parkinsonism")),
    # medications
    "quinine_324": _drug("997010", "quinine sulfate 324 MG Oral Capsule", ("drugs_quinine.csv", "quinine")),
    "quinine_pin": _drug("9075", "quinine sulfate 324 MG Oral Capsule", ("drugs_quinine.csv", "quinine")),
    "mgo_400": _drug("198741", "magnesium oxide 400 MG Oral Tablet", (_MG, "magnesium_oral_supplement_scd")),
    "mgo_500": _drug("311431", "magnesium oxide 500 MG Oral Tablet", (_MG, "magnesium_oral_supplement_scd")),
    "mgo_250": _drug("311429", "magnesium oxide 250 MG Oral Tablet", (_MG, "magnesium_oral_supplement_scd")),
    "mgo_ingredient": _drug("6582", "magnesium oxide 400 MG", (_MG, "magnesium_any_ingredient")),
    "mg_citrate_100": _drug("1313985", "magnesium citrate 100 MG Oral Tablet",
                            (_MG, "magnesium_oral_supplement_scd")),
    "mg_glycinate_120": _drug("2534481", "magnesium glycinate 120 MG Oral Capsule",
                              (_MG, "magnesium_oral_supplement_scd")),
    "mg_chloride_535": _drug("829373", "magnesium chloride 535 MG Delayed Release Oral Tablet",
                             (_MG, "magnesium_oral_supplement_scd")),
    "mg_sulfate_iv": _drug("1658221", "2 ML magnesium sulfate 500 MG/ML Injection",
                           (_MG, "magnesium_parenteral_scd"), route="intravenous"),
    "mg_hydroxide": _drug("6581", "magnesium hydroxide 80 MG/ML Oral Suspension",
                          (_MG, "magnesium_antacid_laxative_or_salicylate_not_supplement"), unit="mL"),
    "mg_citrate_solution": _drug("1052760", "magnesium citrate 58.2 MG/ML Oral Solution",
                                 (_MG, "magnesium_oral_laxative_scd_not_supplement"), unit="mL"),
    "baclofen_5": _drug("430902", "baclofen 5 MG Oral Tablet", ("drugs_baclofen.csv", "baclofen_oral_scd")),
    "baclofen_10": _drug("197391", "baclofen 10 MG Oral Tablet", ("drugs_baclofen.csv", "baclofen_oral_scd")),
    "baclofen_20": _drug("197392", "baclofen 20 MG Oral Tablet", ("drugs_baclofen.csv", "baclofen_oral_scd")),
    "baclofen_intrathecal": _drug("308516", "1 ML baclofen 0.05 MG/ML Injection",
                                  ("drugs_baclofen.csv", "baclofen_intrathecal_injection_scd"),
                                  route="intrathecal"),
    "furosemide_40": _drug("313988", "furosemide 40 MG Oral Tablet", ("drugs_diuretics.csv", "loop_diuretic")),
    "furosemide_20": _drug("310429", "furosemide 20 MG Oral Tablet", ("drugs_diuretics.csv", "loop_diuretic")),
    "spironolactone_100": _drug("198222", "spironolactone 100 MG Oral Tablet",
                                ("drugs_diuretics.csv", "potassium_sparing_or_aldosterone_antagonist")),
    "hctz_25": _drug("310798", "hydrochlorothiazide 25 MG Oral Tablet",
                     ("drugs_diuretics.csv", "thiazide_or_thiazide_like")),
    "kcl_er_20": _drug("198116", "potassium chloride 20 MEQ Extended Release Oral Tablet",
                       (_K, "potassium_oral_supplement_scd"), unit="mEq"),
    "kcl_iv": _drug("1860136", "10 ML potassium chloride 2 MEQ/ML Injection", (_K, "potassium_parenteral_scd"),
                    unit="mEq", route="intravenous"),
    "losartan_50": _drug("979492", "losartan potassium 50 MG Oral Tablet", None),
    "ropinirole_025": _drug("312845", "ropinirole 0.25 MG Oral Tablet",
                            ("drugs_rls_dopaminergic_and_alpha2delta.csv", "dopaminergic_rls")),
    "pramipexole_0125": _drug("859033", "pramipexole dihydrochloride 0.125 MG Oral Tablet",
                              ("drugs_rls_dopaminergic_and_alpha2delta.csv", "dopaminergic_rls")),
    "carbidopa_levodopa": _drug("197444", "carbidopa 25 MG / levodopa 100 MG Oral Tablet",
                                ("drugs_rls_dopaminergic_and_alpha2delta.csv", "dopaminergic_rls"),
                                unit="tablet"),
    "rotigotine_patch": _drug("722253", "24 HR rotigotine 0.0833 MG/HR Transdermal System",
                              ("drugs_rls_dopaminergic_and_alpha2delta.csv", "dopaminergic_rls"),
                              unit="patch", route="transdermal"),
    "ibuprofen_400": _drug("197805", "ibuprofen 400 MG Oral Tablet", ("drugs_otc_analgesics_nsaids.csv", "nsaid")),
    "naproxen_500": _drug("198014", "naproxen 500 MG Oral Tablet", ("drugs_otc_analgesics_nsaids.csv", "nsaid")),
    "acetaminophen": _drug("161", "acetaminophen 500 MG Oral Tablet",
                           ("drugs_otc_analgesics_nsaids.csv", "acetaminophen")),
    # rule pack v2 (rules-v2.md)
    "mgo_400_tablets": _drug("198741", "magnesium oxide 400 MG Oral Tablet", (_MG, "magnesium_oral_supplement_scd"),
                             unit="tablet"),
    "gabapentin": _drug("25480", "gabapentin", ("drugs_rls_dopaminergic_and_alpha2delta.csv",
                                                "alpha2delta_ligand_rls")),
    "atorvastatin_40": _drug("617311", "atorvastatin 40 MG Oral Tablet", ("drugs_cramp_precipitants.csv", "statin")),
    # labs (one concept per unit / reference-range variant)
    "potassium": _loinc("2823-3", _K_SERUM, "potassium", "mmol/L", (3.5, 5.2)),
    "potassium_meq_no_ref": _loinc("2823-3", _K_SERUM, "potassium", "meq/L", (None, None)),
    "potassium_blood": _loinc("6298-4", "Potassium [Moles/volume] in Blood", "potassium", "mmol/L", (3.5, 5.2)),
    "magnesium": _loinc("2601-3", _MG_SERUM_MOLAR, "magnesium_serum_plasma_molar", "mmol/L", (0.70, 1.00)),
    "magnesium_no_ref": _loinc("2601-3", _MG_SERUM_MOLAR, "magnesium_serum_plasma_molar", "mmol/L",
                               (None, None)),
    "magnesium_ref_075": _loinc("2601-3", _MG_SERUM_MOLAR, "magnesium_serum_plasma_molar", "mmol/L",
                                (0.75, 1.05)),
    "magnesium_mgdl": _loinc("19123-9", _MG_SERUM_MASS, "magnesium_serum_plasma_mass", "mg/dL", (1.7, 2.4)),
    "magnesium_mgdl_ref_16": _loinc("19123-9", _MG_SERUM_MASS, "magnesium_serum_plasma_mass", "mg/dL",
                                    (1.6, 2.6)),
    "magnesium_rbc": _loinc("2597-3", "Magnesium [Moles/volume] in Red Blood Cells", "magnesium_other_specimen",
                            "mmol/L", (1.65, 2.65)),
    "egfr": _loinc("98979-8", _EGFR, "egfr_ckd_epi_2021", "mL/min/{1.73_m2}", (60.0, None)),
    "ferritin": _loinc("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ferritin", "ng/mL", (30.0, 400.0)),
    # procedures
    "mri_lumbar": _proc("CPT", "72148", "MRI lumbar spinal canal and contents, without contrast",
                        (_WORKUP, "imaging_lumbar_spine_mri")),
    "mri_leg_snomed": _proc("SNOMED", "113109007", "Magnetic resonance imaging of lower extremity",
                            (_WORKUP, "imaging_lower_extremity_mri")),
    "nerve_conduction": _proc("CPT", "95907", "Nerve conduction studies, 1-2 studies",
                              (_WORKUP, "nerve_conduction_study")),
    "needle_emg_addon": _proc("CPT", "95886", "Needle EMG each extremity, complete (5+ muscles), done with nerve "
                              "conduction study (add-on)", (_WORKUP, "needle_emg_with_ncs_addon")),
    "arterial_duplex": _proc("CPT", "93925", "Duplex scan of lower extremity arteries or arterial bypass grafts, "
                             "complete bilateral", (_WORKUP, "arterial_duplex_lower_extremity")),
    "ankle_brachial_index": _proc("CPT", "93923", "Complete bilateral noninvasive physiologic study of extremity "
                                  "arteries, 3+ levels or provocative maneuvers",
                                  (_WORKUP, "arterial_physiologic_abi")),
    "referral_neurology": _proc("SNOMED", "308474002", "Referral to neurologist (procedure)",
                                (_WORKUP, "referral_neurology")),
    "referral_vascular": _proc("SNOMED", "307777008", "Referral to vascular surgeon (procedure)",
                               (_WORKUP, "referral_vascular_surgery")),
    "referral_neurosurgery": _proc("SNOMED", "308482002", "Referral to neurosurgeon (procedure)",
                                   (_WORKUP, "referral_neurosurgery_spine")),
    "medication_review": _proc("SNOMED", "182836005", "Review of medication", (_REVIEW, "medication_review")),
    "medication_reconciliation": _proc("SNOMED", "430193006", "Medication reconciliation (procedure)",
                                       (_REVIEW, "medication_reconciliation")),
    "medication_review_due": _proc("SNOMED", "314529007", "Medication review due (situation)",
                                   (_REVIEW, "medication_review_due_not_done_negative")),
}

FROM_CONCEPT = "<from concept>"  # Event.route default: take the concept's route


@dataclass(frozen=True)
class Event:
    """One row a scenario writes, `day` days after the index date."""

    concept: str
    day: int
    end_day: int | None = None  # medications: stop date; None = still active
    dose: float | None = None  # medications: dose_value per administration
    freq: float | None = None  # medications: frequency_per_day
    status: str | None = None  # medications
    route: str | None = FROM_CONCEPT  # medications; None = route missing
    value: tuple[float, float] | None = None  # labs: value drawn uniformly in [low, high]
    text: str | None = None  # labs: a result given only as text ("<0.5"), no value

    @property
    def table(self) -> str:
        return "diagnoses" if self.concept == CRAMP else CONCEPTS[self.concept].table


def dx(concept: str, day: int) -> Event:
    return Event(concept, day)


def rx(concept: str, day: int, dose: float | None, freq: float | None, *, end: int | None = None,
       status: str | None = None, route: str | None = FROM_CONCEPT) -> Event:
    default_status = "active" if end is None else "completed"
    return Event(concept, day, end_day=end, dose=dose, freq=freq, status=status or default_status, route=route)


def lab(concept: str, day: int, low: float, high: float) -> Event:
    return Event(concept, day, value=(low, high))


def lab_text(concept: str, day: int, text: str) -> Event:
    return Event(concept, day, text=text)


def proc(concept: str, day: int) -> Event:
    return Event(concept, day)


@dataclass(frozen=True)
class Scenario:
    name: str
    plants: str  # one line for the table above
    deviations: tuple[str, ...]
    events: tuple[Event, ...]
    weight: float = 1.0  # relative frequency among cramp patients in large runs
    age: tuple[float, float] = (25, 85)  # age at the index date, years
    birthday_after_index: int | None = None  # exact age: the age[0]-th birthday is this many days after index
    death_day: int | None = None
    cohort: bool = True


# Building blocks (day 0 = index date).
CRAMP_DX = dx(CRAMP, 0)
K_NORMAL = lab("potassium", 0, 3.8, 4.9)
MG_NORMAL = lab("magnesium", 0, 0.78, 0.98)
K_LOW = lab("potassium", 0, 3.0, 3.3)
MG_LOW = lab("magnesium", 0, 0.50, 0.64)
ROUTINE = (CRAMP_DX, K_NORMAL, MG_NORMAL)
ROUTINE_LOW_MG = (CRAMP_DX, K_NORMAL, MG_LOW)
ROUTINE_LOW_K = (CRAMP_DX, K_LOW, MG_NORMAL)
ELDERLY = (67, 89)
CIRRHOSIS_ON_DIURETICS = (
    dx("cirrhosis_alcoholic", -500),
    rx("spironolactone_100", -200, 100, 1),
)
FUROSEMIDE_SINCE = -200


def _furosemide(end: int | None = None, status: str | None = None) -> Event:
    return rx("furosemide_40", FUROSEMIDE_SINCE, 40, 1, end=end, status=status)


def _baclofen(*steps: tuple[str, int, float, float]) -> tuple[Event, ...]:
    """Consecutive baclofen orders (concept, start day, dose, frequency); each ends the day before
    the next starts, the last stays active."""
    events = []
    for i, (concept, day, dose, freq) in enumerate(steps):
        end = steps[i + 1][1] - 1 if i + 1 < len(steps) else None
        events.append(rx(concept, day, dose, freq, end=end))
    return tuple(events)


def _s(name: str, plants: str, deviations: str, events: tuple[Event, ...], **kw: object) -> Scenario:
    return Scenario(name, plants, tuple(deviations.split()), events, **kw)  # type: ignore[arg-type]


SCENARIOS: tuple[Scenario, ...] = (
    # routine care and the electrolyte check
    _s("idiopathic_managed_per_guideline", "routine: cramps, K and Mg checked on day 0, no drugs", "",
       ROUTINE, weight=40),
    _s("idiopathic_mg_in_mg_per_dl", "K on day -10, Mg in mg/dL (LOINC 19123-9) on day 5", "",
       (CRAMP_DX, lab("potassium", -10, 3.7, 4.8), lab("magnesium_mgdl", 5, 1.9, 2.3)), weight=10),
    _s("cramps_recurring_from_before_period",
       "cramp dx on day -420 (before the period), 0 and 60; labs on day 0 only: index is day 0", "",
       (dx(CRAMP, -420), *ROUTINE, dx(CRAMP, 60)), weight=3),
    _s("deceased_during_followup", "routine; dies on day 100", "", ROUTINE, weight=2, death_day=100),
    _s("electrolytes_at_window_edges", "K on day -30, Mg on day +30 (window is inclusive)", "",
       (CRAMP_DX, lab("potassium", -30, 3.8, 4.9), lab("magnesium", 30, 0.78, 0.98)), weight=2),
    _s("potassium_whole_blood_code", "K as LOINC 6298-4 (blood) on day 2, Mg on day 0", "",
       (CRAMP_DX, lab("potassium_blood", 2, 3.8, 4.9), MG_NORMAL)),
    _s("electrolytes_missing", "cramp dx only, no labs", "LC-ELECTROLYTES", (CRAMP_DX,), weight=8),
    _s("electrolytes_potassium_only", "K but no Mg", "LC-ELECTROLYTES", (CRAMP_DX, K_NORMAL), weight=4),
    _s("electrolytes_rbc_magnesium_only", "K + red-cell Mg (2597-3, not serum)", "LC-ELECTROLYTES",
       (CRAMP_DX, K_NORMAL, lab("magnesium_rbc", 0, 1.9, 2.4))),
    _s("electrolytes_outside_window", "K on day -45, Mg on day 31", "LC-ELECTROLYTES",
       (CRAMP_DX, lab("potassium", -45, 3.8, 4.9), lab("magnesium", 31, 0.78, 0.98)), weight=2),
    # quinine
    _s("quinine_started_in_followup", "quinine 324 mg days 10-40", "LC-QUININE",
       (*ROUTINE, rx("quinine_324", 10, 324, 1, end=40)), weight=4),
    _s("quinine_active_at_index", "quinine (PIN code) since day -200, no end date", "LC-QUININE",
       (*ROUTINE, rx("quinine_pin", -200, 324, 1)), weight=2),
    _s("quinine_started_day_180", "quinine starts on the last day of follow-up", "LC-QUININE",
       (*ROUTINE, rx("quinine_324", 180, 324, 1))),
    _s("quinine_stopped_before_index", "quinine days -300..-100", "",
       (*ROUTINE, rx("quinine_324", -300, 324, 1, end=-100))),
    _s("quinine_order_cancelled", "quinine orders cancelled / entered-in-error", "",
       (*ROUTINE, rx("quinine_324", 5, 324, 1, status="cancelled"),
        rx("quinine_324", 7, 324, 1, status="entered-in-error"))),
    _s("quinine_after_followup", "quinine starts on day 190", "", (*ROUTINE, rx("quinine_324", 190, 324, 1))),
    # magnesium: empiric use, deficiency, route, products that are not supplements
    _s("mg_empiric_normal_level", "Mg normal on day 0, magnesium oxide 400 mg x2 from day 7", "LC-MG-EMPIRIC",
       (*ROUTINE, rx("mgo_400", 7, 400, 2)), weight=5),
    _s("mg_empiric_no_level", "no Mg result, magnesium citrate from day 5", "LC-MG-EMPIRIC LC-ELECTROLYTES",
       (CRAMP_DX, K_NORMAL, rx("mg_citrate_100", 5, 100, 2)), weight=3),
    _s("mg_low_treated_with_oxide", "Mg low on day 0, eGFR normal, magnesium oxide 800 mg/day from day 3", "",
       (*ROUTINE_LOW_MG, lab("egfr", 0, 65, 90), rx("mgo_400", 3, 400, 2)), weight=4),
    _s("mg_low_mg_per_dl_treated", "Mg 1.2-1.5 mg/dL (ref 1.7), magnesium oxide 250 mg x2 from day 2", "",
       (CRAMP_DX, K_NORMAL, lab("magnesium_mgdl", 0, 1.2, 1.5), rx("mgo_250", 2, 250, 2)), weight=2),
    _s("mg_hypomagnesemia_dx_treated", "hypomagnesemia dx day -20, Mg glycinate from day 7", "",
       (*ROUTINE, dx("hypomagnesemia", -20), rx("mg_glycinate_120", 7, 120, 2))),
    _s("mg_low_result_91_days_before_start", "low Mg on day -86 (91 days before the day-5 start), normal Mg day 0",
       "LC-MG-EMPIRIC", (*ROUTINE, lab("magnesium", -86, 0.55, 0.64), rx("mgo_400", 5, 400, 2))),
    _s("mg_low_result_90_days_before_start", "low Mg on day -86 (90 days before the day-4 start)", "",
       (*ROUTINE, lab("magnesium", -86, 0.55, 0.64), rx("mgo_400", 4, 400, 2))),
    _s("mg_iv_corrects_low_level", "Mg low, IV magnesium sulfate on day 1 (not oral: not an MG-EMPIRIC start)",
       "", (*ROUTINE_LOW_MG, rx("mg_sulfate_iv", 1, 1000, 1, end=1))),
    _s("mg_hydroxide_antacid_not_supplement", "magnesium hydroxide on day 10", "",
       (*ROUTINE, rx("mg_hydroxide", 10, 15, 1))),
    _s("mg_citrate_laxative_not_supplement", "magnesium citrate oral solution (laxative) on day 12", "",
       (*ROUTINE, rx("mg_citrate_solution", 12, 150, 1, end=12))),
    _s("mg_order_entered_in_error", "magnesium oxide order entered-in-error", "",
       (*ROUTINE, rx("mgo_400", 5, 400, 2, status="entered-in-error"))),
    _s("mg_route_missing_dose_unknown", "magnesium oxide, no route, no frequency (MG-DOSE not evaluable)",
       "LC-MG-EMPIRIC", (*ROUTINE, rx("mgo_ingredient", 6, 400, None, route=None))),
    _s("mg_active_before_index_covers_low", "magnesium oxide since day -60; low Mg on day 10", "",
       (CRAMP_DX, K_NORMAL, lab("magnesium", 10, 0.55, 0.64), rx("mgo_400", -60, 400, 2))),
    # magnesium in renal insufficiency
    _s("mg_renal_low_egfr", "eGFR < 30 on day -20, low Mg, magnesium oxide from day 2", "LC-MG-RENAL",
       (*ROUTINE_LOW_MG, lab("egfr", -20, 18, 27), rx("mgo_400", 2, 400, 2)), weight=2),
    _s("mg_renal_ckd4_empiric", "CKD stage 4 dx, Mg normal, magnesium oxide from day 10",
       "LC-MG-EMPIRIC LC-MG-RENAL", (*ROUTINE, dx("ckd_stage4", -400), rx("mgo_400", 10, 400, 2))),
    _s("mg_renal_esrd_snomed", "ESRD (SNOMED) dx, low Mg, magnesium chloride from day 3", "LC-MG-RENAL",
       (*ROUTINE_LOW_MG, dx("esrd_snomed", -300), rx("mg_chloride_535", 3, 535, 1))),
    _s("mg_renal_egfr_recovered",
       "eGFR 24 on day -200 but 41-55 on day -10 (latest counts), low Mg treated", "",
       (*ROUTINE_LOW_MG, lab("egfr", -200, 22, 26), lab("egfr", -10, 41, 55), rx("mgo_400", 2, 400, 2))),
    _s("mg_ckd3_not_severe", "CKD stage 3b + eGFR 35-45, low Mg treated", "",
       (*ROUTINE_LOW_MG, dx("ckd_stage3b", -300), lab("egfr", -30, 35, 45), rx("mgo_400", 1, 400, 2))),
    _s("ckd4_without_magnesium", "CKD stage 4, eGFR < 30, routine care, no magnesium", "",
       (*ROUTINE, dx("ckd_stage4", -400), lab("egfr", -15, 18, 28)), weight=2),
    # magnesium oxide dose
    _s("mgo_dose_too_low", "low Mg, magnesium oxide 400 mg once daily", "LC-MG-DOSE",
       (*ROUTINE_LOW_MG, rx("mgo_400", 1, 400, 1)), weight=2),
    _s("mgo_dose_too_high", "low Mg, magnesium oxide 500 mg x2 (1000 mg/day)", "LC-MG-DOSE",
       (*ROUTINE_LOW_MG, rx("mgo_500", 1, 500, 2))),
    _s("mgo_dose_unknown", "low Mg, magnesium oxide without frequency (not evaluable)", "",
       (*ROUTINE_LOW_MG, rx("mgo_400", 1, 400, None))),
    _s("mgo_second_order_too_high", "low Mg, 800 mg/day then 1200 mg/day from day 30", "LC-MG-DOSE",
       (*ROUTINE_LOW_MG, rx("mgo_400", 1, 400, 2, end=29), rx("mgo_400", 30, 400, 3))),
    # baclofen titration (10 mg/day start, +10 mg/day at most weekly, max 30 mg/day)
    _s("baclofen_titrated_per_guideline", "baclofen 10 -> 20 -> 30 mg/day, steps exactly 7 days apart", "",
       (*ROUTINE, *_baclofen(("baclofen_5", 14, 5, 2), ("baclofen_10", 21, 10, 2), ("baclofen_10", 28, 10, 3))),
       weight=2),
    _s("baclofen_dose_reduced", "baclofen 10 -> 20 -> 10 mg/day weekly", "",
       (*ROUTINE, *_baclofen(("baclofen_5", 14, 5, 2), ("baclofen_10", 21, 10, 2), ("baclofen_5", 28, 5, 2)))),
    _s("baclofen_start_too_high", "baclofen starts at 20 mg/day", "LC-BACLOFEN-TITRATION",
       (*ROUTINE, *_baclofen(("baclofen_10", 14, 10, 2)))),
    _s("baclofen_step_too_soon", "baclofen 10 -> 20 mg/day after 4 days", "LC-BACLOFEN-TITRATION",
       (*ROUTINE, *_baclofen(("baclofen_5", 14, 5, 2), ("baclofen_10", 18, 10, 2)))),
    _s("baclofen_step_too_big", "baclofen 10 -> 30 mg/day after 7 days", "LC-BACLOFEN-TITRATION",
       (*ROUTINE, *_baclofen(("baclofen_5", 14, 5, 2), ("baclofen_10", 21, 10, 3)))),
    _s("baclofen_above_max", "baclofen weekly up to 40 mg/day", "LC-BACLOFEN-TITRATION",
       (*ROUTINE, *_baclofen(("baclofen_5", 14, 5, 2), ("baclofen_10", 21, 10, 2), ("baclofen_10", 28, 10, 3),
                             ("baclofen_20", 35, 20, 2)))),
    _s("baclofen_dose_unknown", "baclofen without dose or frequency (not evaluable)", "",
       (*ROUTINE, rx("baclofen_10", 14, None, None))),
    _s("baclofen_intrathecal_not_counted", "intrathecal baclofen injection", "",
       (*ROUTINE, rx("baclofen_intrathecal", 20, 0.05, 1, end=20))),
    # cirrhosis on diuretics (review within 30 days of index)
    _s("cirrhosis_diuretics_no_review",
       "cirrhosis, furosemide + spironolactone active at index, nothing in 30 days", "LC-CIRRHOSIS-DIURETIC",
       (*ROUTINE, *CIRRHOSIS_ON_DIURETICS, _furosemide()), weight=2),
    _s("cirrhosis_diuretic_stopped", "as 48, furosemide stopped on day 12", "",
       (*ROUTINE, *CIRRHOSIS_ON_DIURETICS, _furosemide(end=12, status="stopped"))),
    _s("cirrhosis_medication_review", "as 48, medication review (SNOMED 182836005) on day 8", "",
       (*ROUTINE, *CIRRHOSIS_ON_DIURETICS, _furosemide(), proc("medication_review", 8))),
    _s("cirrhosis_review_due_not_done", 'as 48, "medication review due" (negative code) on day 8',
       "LC-CIRRHOSIS-DIURETIC",
       (*ROUTINE, *CIRRHOSIS_ON_DIURETICS, _furosemide(), proc("medication_review_due", 8))),
    _s("cirrhosis_diuretic_changed", "as 48, furosemide 40 ends day 14, furosemide 20 starts day 15", "",
       (*ROUTINE, *CIRRHOSIS_ON_DIURETICS, _furosemide(end=14, status="stopped"),
        rx("furosemide_20", 15, 20, 1))),
    _s("cirrhosis_review_too_late", "as 48, medication review on day 45", "LC-CIRRHOSIS-DIURETIC",
       (*ROUTINE, *CIRRHOSIS_ON_DIURETICS, _furosemide(), proc("medication_review", 45))),
    _s("cirrhosis_diagnosed_after_index", "diuretics active, cirrhosis first recorded on day 40", "",
       (*ROUTINE, rx("spironolactone_100", -200, 100, 1), _furosemide(), dx("cirrhosis_unspecified", 40))),
    _s("cirrhosis_low_k_corrected_reviewed", "as 48, K low on day 0, KCl day 2, furosemide stopped day 10", "",
       (*ROUTINE_LOW_K, *CIRRHOSIS_ON_DIURETICS, _furosemide(end=10, status="stopped"),
        rx("kcl_er_20", 2, 20, 2, end=16))),
    _s("cirrhosis_low_k_untreated", "as 48, K low on day 0, medication reconciliation day 5, no KCl",
       "LC-DEFICIENCY-UNTREATED",
       (*ROUTINE_LOW_K, *CIRRHOSIS_ON_DIURETICS, _furosemide(), proc("medication_reconciliation", 5))),
    _s("cirrhosis_without_diuretic", "cirrhosis, no diuretic", "", (*ROUTINE, dx("cirrhosis_unspecified", -300))),
    _s("diuretic_without_cirrhosis", "hydrochlorothiazide for hypertension, no cirrhosis", "",
       (*ROUTINE, rx("hctz_25", -400, 25, 1)), weight=3),
    # documented deficiency corrected (or not) within 14 days
    _s("low_k_untreated", "K 3.0-3.3 on day 0, no supplement", "LC-DEFICIENCY-UNTREATED", ROUTINE_LOW_K, weight=3),
    _s("low_k_treated", "K low, potassium chloride on day 2", "",
       (*ROUTINE_LOW_K, rx("kcl_er_20", 2, 20, 1, end=15)), weight=3),
    _s("low_k_losartan_potassium_not_supplement", "K low, only losartan potassium started",
       "LC-DEFICIENCY-UNTREATED", (*ROUTINE_LOW_K, rx("losartan_50", 3, 50, 1))),
    _s("low_k_treated_too_late", "K low, potassium chloride on day 20", "LC-DEFICIENCY-UNTREATED",
       (*ROUTINE_LOW_K, rx("kcl_er_20", 20, 20, 1, end=34))),
    _s("low_k_supplement_cancelled", "K low, potassium chloride order cancelled", "LC-DEFICIENCY-UNTREATED",
       (*ROUTINE_LOW_K, rx("kcl_er_20", 2, 20, 1, status="cancelled"))),
    _s("low_k_meq_units_no_reference", "K 3.0-3.3 meq/L without reference range", "LC-DEFICIENCY-UNTREATED",
       (CRAMP_DX, lab("potassium_meq_no_ref", 0, 3.0, 3.3), MG_NORMAL)),
    _s("low_k_iv_potassium", "K low, IV potassium chloride on day 1", "",
       (*ROUTINE_LOW_K, rx("kcl_iv", 1, 20, 1, end=1))),
    _s("low_k_before_index_untreated", "K low on day -25 (inside index - 30), untreated", "LC-DEFICIENCY-UNTREATED",
       (CRAMP_DX, lab("potassium", -25, 3.0, 3.3), MG_NORMAL)),
    _s("low_k_late_in_followup_treated", "K low on day 170, potassium chloride day 175", "",
       (*ROUTINE, lab("potassium", 170, 3.0, 3.3), rx("kcl_er_20", 175, 20, 1))),
    _s("low_k_after_followup_not_counted", "K low on day 195 (follow-up ended on day 180)", "",
       (*ROUTINE, lab("potassium", 195, 3.0, 3.3))),
    _s("low_mg_untreated", "Mg 0.50-0.64 mmol/L (ref 0.70), no supplement", "LC-DEFICIENCY-UNTREATED",
       ROUTINE_LOW_MG, weight=2),
    _s("low_mg_below_default_no_reference", "Mg 0.60-0.66 mmol/L, no reference range (default 0.70)",
       "LC-DEFICIENCY-UNTREATED", (CRAMP_DX, K_NORMAL, lab("magnesium_no_ref", 0, 0.60, 0.66))),
    _s("low_mg_by_own_reference_range", "Mg 0.71-0.74 mmol/L with the lab's ref_low 0.75",
       "LC-DEFICIENCY-UNTREATED", (CRAMP_DX, K_NORMAL, lab("magnesium_ref_075", 0, 0.71, 0.74))),
    _s("mg_normal_by_own_reference_range", "Mg 1.62-1.68 mg/dL with ref_low 1.6 (default would call it low)", "",
       (CRAMP_DX, K_NORMAL, lab("magnesium_mgdl_ref_16", 0, 1.62, 1.68))),
    # extensive work-up without red flags, and referral with red flags
    _s("workup_mri_without_red_flags", "lumbar MRI (CPT 72148) on day 20", "LC-WORKUP-EXCESS",
       (*ROUTINE, proc("mri_lumbar", 20)), weight=3),
    _s("workup_ncs_emg_without_red_flags", "nerve conduction + needle EMG on day 30", "LC-WORKUP-EXCESS",
       (*ROUTINE, proc("nerve_conduction", 30), proc("needle_emg_addon", 30))),
    _s("workup_snomed_leg_mri", "lower-limb MRI coded in SNOMED on day 15", "LC-WORKUP-EXCESS",
       (*ROUTINE, proc("mri_leg_snomed", 15))),
    _s("workup_arterial_duplex_not_extensive", "arterial duplex (vascular assessment) on day 20", "",
       (*ROUTINE, proc("arterial_duplex", 20))),
    _s("workup_after_window", "lumbar MRI on day 120", "", (*ROUTINE, proc("mri_lumbar", 120))),
    _s("fasciculation_is_not_a_red_flag", "fasciculation dx day -10, lumbar MRI day 20", "LC-WORKUP-EXCESS",
       (*ROUTINE, dx("fasciculation", -10), proc("mri_lumbar", 20))),
    _s("red_flag_older_than_lookback",
       "radiculopathy dx on day -400 (unresolved: still a red flag, rule pack v2), lumbar MRI day 20",
       "LC-REFERRAL-MISSED",
       (*ROUTINE, dx("radiculopathy_lumbar", -400), proc("mri_lumbar", 20))),
    _s("red_flag_radiculopathy_referred", "radiculopathy day -60, MRI day 20, neurology referral day 25", "",
       (*ROUTINE, dx("radiculopathy_lumbar", -60), proc("mri_lumbar", 20), proc("referral_neurology", 25)),
       weight=2),
    _s("red_flag_neuropathy_not_referred", "diabetic polyneuropathy day -100, no referral", "LC-REFERRAL-MISSED",
       (*ROUTINE, dx("diabetic_polyneuropathy", -100)), weight=2),
    _s("red_flag_pad_vascular_referral", "PAD day -30, ABI day 5, vascular surgery referral day 12", "",
       (*ROUTINE, dx("pvd", -30), proc("ankle_brachial_index", 5), proc("referral_vascular", 12))),
    _s("red_flag_referral_too_late", "PAD day -30, vascular referral on day 100", "LC-REFERRAL-MISSED",
       (*ROUTINE, dx("pvd", -30), proc("referral_vascular", 100))),
    _s("red_flag_neurosurgery_referral_not_counted", "radiculopathy, referral to neurosurgeon only",
       "LC-REFERRAL-MISSED",
       (*ROUTINE, dx("radiculopathy_lumbar", -60), proc("referral_neurosurgery", 20))),
    _s("red_flag_foot_drop_after_index_referred", "foot drop dx day 50, MRI day 55, neurology referral day 60", "",
       (*ROUTINE, dx("foot_drop", 50), proc("mri_lumbar", 55), proc("referral_neurology", 60))),
    # dopaminergic agents: restless legs, not cramps
    _s("dopaminergic_without_rls", "ropinirole from day 20, no restless legs dx, no ferritin",
       "LC-RLS-CONFUSION LC-FERRITIN-RLS",
       (*ROUTINE, rx("ropinirole_025", 20, 0.25, 1)), weight=2),
    _s("dopaminergic_with_rls_same_day", "restless legs dx and pramipexole both on day 15, no ferritin",
       "LC-FERRITIN-RLS",
       (*ROUTINE, dx("restless_legs", 15), rx("pramipexole_0125", 15, 0.125, 1))),
    _s("dopaminergic_rls_diagnosed_after", "ropinirole day 20, restless legs dx only on day 40, no ferritin",
       "LC-RLS-CONFUSION LC-FERRITIN-RLS",
       (*ROUTINE, rx("ropinirole_025", 20, 0.25, 1), dx("restless_legs", 40))),
    _s("dopaminergic_with_parkinsons",
       "Parkinson's dx day -700, carbidopa/levodopa day 30 (RLS-CONFUSION excluded), no ferritin", "LC-FERRITIN-RLS",
       (*ROUTINE, dx("parkinsons", -700), rx("carbidopa_levodopa", 30, 1, 3))),
    _s("dopaminergic_secondary_parkinsonism",
       "vascular parkinsonism dx, ropinirole day 20 (RLS-CONFUSION excluded), ferritin day 25", "",
       (*ROUTINE, dx("parkinsonism_vascular", -200), rx("ropinirole_025", 20, 0.25, 1),
        lab("ferritin", 25, 40, 200))),
    _s("dopaminergic_rls_snomed", "restless legs (SNOMED) day -50, rotigotine patch day 10, ferritin day -60", "",
       (*ROUTINE, dx("restless_legs_snomed", -50), rx("rotigotine_patch", 10, 1, 1), lab("ferritin", -60, 40, 200))),
    _s("dopaminergic_started_before_index", "ropinirole since day -100 (not a start in follow-up)", "",
       (*ROUTINE, rx("ropinirole_025", -100, 0.25, 1))),
    # NSAIDs in older patients
    _s("nsaid_elderly", "age 67-89, ibuprofen from day 3", "LC-NSAID-ELDERLY",
       (*ROUTINE, rx("ibuprofen_400", 3, 400, 3, end=17)), weight=4, age=ELDERLY),
    _s("nsaid_elderly_after_window", "age 67-89, naproxen from day 45", "",
       (*ROUTINE, rx("naproxen_500", 45, 500, 2, end=59)), age=ELDERLY),
    _s("nsaid_younger_adult", "age 25-60, ibuprofen from day 3", "",
       (*ROUTINE, rx("ibuprofen_400", 3, 400, 3, end=17)), weight=2, age=(25, 60)),
    _s("acetaminophen_elderly", "age 67-89, acetaminophen (not an NSAID) day 2", "",
       (*ROUTINE, rx("acetaminophen", 2, 500, 3)), age=ELDERLY),
    _s("nsaid_elderly_cancelled", "age 67-89, ibuprofen order cancelled", "",
       (*ROUTINE, rx("ibuprofen_400", 3, 400, 3, status="cancelled")), age=ELDERLY),
    _s("nsaid_elderly_started_before_index", "age 67-89, naproxen since day -40", "",
       (*ROUTINE, rx("naproxen_500", -40, 500, 2)), age=ELDERLY),
    _s("nsaid_on_65th_birthday", "index date is the 65th birthday, ibuprofen day 1", "LC-NSAID-ELDERLY",
       (*ROUTINE, rx("ibuprofen_400", 1, 400, 3, end=10)), age=(65, 65), birthday_after_index=0),
    _s("nsaid_day_before_65th_birthday", "65th birthday is the day after index, ibuprofen day 1", "",
       (*ROUTINE, rx("ibuprofen_400", 1, 400, 3, end=10)), age=(65, 65), birthday_after_index=1),
    _s("deceased_elderly_nsaid", "age 75-89, ibuprofen day 5, dies on day 50", "LC-NSAID-ELDERLY",
       (*ROUTINE, rx("ibuprofen_400", 5, 400, 3, end=19)), age=(75, 89), death_day=50),
    _s("multiple_deviations", "age 70-85, no labs, quinine, magnesium oxide 400 mg/day, ibuprofen, lumbar MRI",
       "LC-QUININE LC-MG-EMPIRIC LC-MG-DOSE LC-ELECTROLYTES LC-WORKUP-EXCESS LC-NSAID-ELDERLY",
       (CRAMP_DX, rx("quinine_324", 5, 324, 1, end=35), rx("mgo_400", 6, 400, 1), rx("ibuprofen_400", 7, 400, 3),
        proc("mri_lumbar", 20)), age=(70, 85)),
    # rule pack v2 (rules-v2.md)
    _s("gabapentin_without_ferritin", "gabapentin from day 12, no ferritin", "LC-FERRITIN-RLS",
       (*ROUTINE, rx("gabapentin", 12, 300, 3))),
    _s("restless_legs_ferritin_measured", "restless legs dx day 20, ferritin day 30", "",
       (*ROUTINE, dx("restless_legs", 20), lab("ferritin", 30, 40, 200))),
    _s("statin_without_medication_review", "atorvastatin 40 mg since day -200, nothing in 30 days", "LC-MED-REVIEW",
       (*ROUTINE, rx("atorvastatin_40", -200, 40, 1)), weight=3),
    _s("statin_with_medication_review", "atorvastatin since day -200, medication review day 10", "",
       (*ROUTINE, rx("atorvastatin_40", -200, 40, 1), proc("medication_review", 10))),
    _s("statin_stopped_after_index", "atorvastatin since day -200, stopped day 15", "",
       (*ROUTINE, rx("atorvastatin_40", -200, 40, 1, end=15))),
    _s("quinine_order_canceled_spellings", "quinine orders 'Canceled', 'entered in error' and draft", "",
       (*ROUTINE, rx("quinine_324", 10, 324, 1, status="Canceled"),
        rx("quinine_324", 20, 324, 1, status="entered in error"), rx("quinine_324", 30, 324, 1, status="draft"))),
    _s("quinine_completed_31_days_before_index", "quinine completed, no end date, started day -31", "",
       (*ROUTINE, rx("quinine_324", -31, 324, 1, status="completed"))),
    _s("mg_route_snomed_oral_route", 'magnesium oxide route "Oral route" from day 7, Mg normal day 0', "LC-MG-EMPIRIC",
       (*ROUTINE, rx("mgo_400", 7, 400, 2, route="Oral route"))),
    _s("mgo_tablets_times_strength", "low Mg, 2 magnesium oxide 400 MG tablets once daily (800 mg/day)", "",
       (*ROUTINE_LOW_MG, rx("mgo_400_tablets", 2, 2, 1))),
    _s("mg_text_result_below", 'Mg only as text "<0.5" day 0 is a low result; magnesium oxide day 3', "",
       (CRAMP_DX, K_NORMAL, lab_text("magnesium", 0, "<0.5"), rx("mgo_400", 3, 400, 2))),
    _s("cramps_already_diagnosed", "cramp dx day -340 (before the period): not an incident case, no labs", "",
       (dx(CRAMP, -340), CRAMP_DX)),
    _s("deceased_day_10_no_labs", "cramp dx only, dies on day 10 (windows cut short: not evaluable)", "",
       (CRAMP_DX,), death_day=10),
    # leg cramps that must NOT make a cohort patient
    _s("child_with_cramps", "(not in cohort) age 11-15, cramps and quinine inside the period", "",
       (CRAMP_DX, rx("quinine_324", 5, 324, 1, end=20)), weight=2, age=(11, 15), cohort=False),
    _s("cramps_before_period_only", "(not in cohort) cramp dx and quinine on day -400 only", "",
       (dx(CRAMP, -400), rx("quinine_324", -395, 324, 1, end=-380)), weight=2, cohort=False),
    _s("died_before_period_with_cramps", "(not in cohort) cramp dx day -500, dies day -450", "",
       (dx(CRAMP, -500), lab("potassium", -500, 3.8, 4.9)), age=(60, 85), death_day=-450, cohort=False),
    _s("muscle_spasm_not_leg_cramps", '(not in cohort) M62.838 "other muscle spasm" + quinine', "",
       (dx("muscle_spasm_other", 0), rx("quinine_324", 5, 324, 1, end=20)), cohort=False),
)


def _short(rule_id: str) -> str:
    return rule_id.removeprefix("LC-")


def scenario_table_text() -> str:
    """The scenario table of the module docstring, rebuilt from SCENARIOS (a test keeps them equal)."""
    lines = [f"{'#':>3}  {'scenario':<{_NAME_WIDTH}}deviations (rule ids without the LC- prefix)",
             "     what the timeline holds (days relative to the index date)"]
    for number, scenario in enumerate(SCENARIOS, start=1):
        deviations = " ".join(_short(r) for r in scenario.deviations) or "-"
        lines += [f"{number:>3}  {scenario.name:<{_NAME_WIDTH}}{deviations}", f"     {scenario.plants}"]
    return "\n".join(lines)


def scenario_table_markdown() -> str:
    """The same table in Markdown, for data_samples/README.md."""
    lines = ["| # | scenario | what it plants | deviations |", "|---|---|---|---|"]
    for number, scenario in enumerate(SCENARIOS, start=1):
        deviations = ", ".join(scenario.deviations) or "—"
        lines.append(f"| {number} | `{scenario.name}` | {scenario.plants} | {deviations} |")
    return "\n".join(lines)
