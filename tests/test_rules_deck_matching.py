"""Matching orders and results to value sets (rules.md, "Value sets ..." and the lab units
paragraph): RxNorm codes first, the description only when the code is unknown, look-alikes
rejected, cancelled orders ignored, magnesium / potassium units converted."""

from __future__ import annotations

import pytest
from deck import (
    BACLOFEN_IN,
    BACLOFEN_INTRATHECAL_SCD,
    EGFR_LOINC,
    FUROSEMIDE_40_SCD,
    K_LOINC,
    MG_CITRATE_SOLUTION_SCD,
    MG_HYDROXIDE_IN,
    MG_LOINC_MASS,
    MG_LOINC_MOLAR,
    MG_OXIDE_400_SCD,
    MG_OXIDE_IN,
    MG_SULFATE_INJ_SCD,
    QUININE_SCD,
    Deck,
    audit_deck,
    cramps_patient,
    day,
    lab,
    med,
)

P = "orders_patient"

# order_id -> (code_system, code, description, route, status, the value sets it must match)
ORDERS: dict[str, tuple[str, str, str | None, str | None, str, set[str]]] = {
    # free text with codes we do not know (NDC, LOCAL, an RxCUI outside our lists)
    "free_text_magnesium_sulfate": ("LOCAL", "MG1", "Magnesium Sulfate", None, "active", {"MAGNESIUM_SUPPLEMENT"}),
    "free_text_furosemide": ("NDC", "00054429725", "Furosemide 40 MG Oral Tablet", "oral", "active",
                             {"DIURETIC", "DIURETIC_THIAZIDE_OR_LOOP"}),
    "free_text_baclofen": ("LOCAL", "BAC", "Baclofen", "oral", "active", {"BACLOFEN"}),
    "free_text_magnesium_oxide": ("LOCAL", "MGO", "magnesium oxide 400 mg tablet", "oral", "active",
                                  {"MAGNESIUM_SUPPLEMENT", "MAGNESIUM_OXIDE"}),
    "free_text_mag_ox_brand": ("NDC", "1", "Mag-Ox 400 MG Oral Tablet", "oral", "active",
                               {"MAGNESIUM_SUPPLEMENT", "MAGNESIUM_OXIDE"}),
    "free_text_magnesium_with_dose": ("LOCAL", "M2", "Magnesium 250 MG Oral Tablet", "oral", "active",
                                      {"MAGNESIUM_SUPPLEMENT"}),
    "free_text_potassium_chloride": ("NDC", "2", "Potassium Chloride 20 MEQ ER Tablet", "oral", "active",
                                     {"POTASSIUM_SUPPLEMENT"}),
    "free_text_kcl": ("LOCAL", "K1", "KCl 20 mEq oral", "oral", "active", {"POTASSIUM_SUPPLEMENT"}),
    "unlisted_rxcui_quinine": ("RXNORM", "999999001", "Quinine Sulfate 324 MG Oral Capsule", "oral", "active",
                               {"QUININE"}),
    "free_text_ibuprofen": ("NDC", "3", "Ibuprofen 400 mg tab", "oral", "active", {"NSAID"}),
    "free_text_ropinirole": ("LOCAL", "R1", "ROPINIROLE 0.25MG TAB", "oral", "active", {"DOPAMINERGIC"}),
    # look-alikes rejected
    "milk_of_magnesia": ("LOCAL", "X1", "Milk of Magnesia 400 mg/5 mL suspension", "oral", "active", set()),
    "magnesium_hydroxide_text": ("LOCAL", "X2", "Magnesium Hydroxide 400 MG/5ML", "oral", "active", set()),
    "aluminium_magnesium_antacid": ("LOCAL", "X3", "Aluminum Hydroxide / Magnesium Hydroxide Oral Suspension",
                                    "oral", "active", set()),
    "magnesium_citrate_solution_text": ("LOCAL", "X4", "Magnesium Citrate Oral Solution 300 mL", "oral", "active",
                                        set()),
    "esomeprazole_magnesium": ("NDC", "X5", "Esomeprazole Magnesium 40 MG DR Capsule", "oral", "active", set()),
    "magnesium_salicylate": ("LOCAL", "X6", "Magnesium Salicylate 580 mg", "oral", "active", set()),
    "losartan_potassium": ("NDC", "X7", "Losartan Potassium 50 MG Oral Tablet", "oral", "active", set()),
    "penicillin_v_potassium": ("NDC", "X8", "Penicillin V Potassium 500 MG", "oral", "active", set()),
    "quinidine_is_not_quinine": ("LOCAL", "X9", "Quinidine gluconate 324 mg", "oral", "active", set()),
    # codes
    "rxnorm_magnesium_oxide_ingredient": ("RXNORM", MG_OXIDE_IN, None, "oral", "active",
                                          {"MAGNESIUM_SUPPLEMENT", "MAGNESIUM_OXIDE"}),
    "rxnorm_magnesium_oxide_scd": ("RXNORM", MG_OXIDE_400_SCD, None, "oral", "active",
                                   {"MAGNESIUM_SUPPLEMENT", "MAGNESIUM_OXIDE"}),
    "rxnorm_magnesium_sulfate_injection": ("RXNORM", MG_SULFATE_INJ_SCD, None, "intravenous", "active",
                                           {"MAGNESIUM_SUPPLEMENT"}),
    "rxnorm_laxative_code_with_supplement_text": ("RXNORM", MG_CITRATE_SOLUTION_SCD, "magnesium citrate", "oral",
                                                  "active", set()),
    "rxnorm_magnesium_hydroxide": ("RXNORM", MG_HYDROXIDE_IN, "magnesium hydroxide", "oral", "active", set()),
    "rxnorm_intrathecal_baclofen": ("RXNORM", BACLOFEN_INTRATHECAL_SCD, "baclofen 1 MG/ML Injection", "intrathecal",
                                    "active", set()),
    "rxnorm_baclofen_given_intrathecally": ("RXNORM", BACLOFEN_IN, "baclofen", "intrathecal", "active", set()),
    "known_code_of_another_set_ignores_text": ("RXNORM", FUROSEMIDE_40_SCD, "magnesium oxide", "oral", "active",
                                               {"DIURETIC", "DIURETIC_THIAZIDE_OR_LOOP"}),
    # statuses
    "cancelled_quinine": ("RXNORM", QUININE_SCD, None, "oral", "cancelled", set()),
    "entered_in_error_quinine": ("RXNORM", QUININE_SCD, None, "oral", "entered-in-error", set()),
    "completed_quinine": ("RXNORM", QUININE_SCD, None, "oral", "completed", {"QUININE"}),
}

# patient -> (loinc, value, unit, ref_low, expected value_mmol)
LABS: dict[str, tuple[str, float, str | None, float | None, float | None]] = {
    "magnesium_mg_dl": (MG_LOINC_MASS, 1.7, "mg/dL", None, 1.7 * 0.4114),
    "magnesium_mg_dl_upper_case": (MG_LOINC_MASS, 2.0, "MG/DL", None, 2.0 * 0.4114),
    "magnesium_mmol_l": (MG_LOINC_MOLAR, 0.8, "mmol/L", None, 0.8),
    "magnesium_meq_l": (MG_LOINC_MOLAR, 1.6, "mEq/L", None, 0.8),
    "magnesium_meq_l_lower_case": (MG_LOINC_MOLAR, 1.6, "meq/l", None, 0.8),
    "magnesium_unknown_unit": (MG_LOINC_MASS, 17.0, "mg/L", None, None),
    "magnesium_missing_unit": (MG_LOINC_MASS, 1.7, None, None, None),
    "potassium_mmol_l": (K_LOINC, 3.4, "mmol/L", None, 3.4),
    "potassium_meq_l": (K_LOINC, 3.4, "mEq/L", None, 3.4),
    # rules-v2.md Labs: potassium in mg/dL converts at x 10 / 39.1
    "potassium_mg_dl_converts_at_10_over_39_1": (K_LOINC, 13.3, "mg/dL", None, 13.3 * 10 / 39.1),
    "egfr_is_not_converted": (EGFR_LOINC, 25.0, "mL/min/{1.73_m2}", None, None),
}

ROWS = [
    *cramps_patient(P),
    *(med(P, code, on=day(10), code_system=system, description=description, route=route, status=status,
          order_id=order_id)
      for order_id, (system, code, description, route, status, _) in ORDERS.items()),
    *(row for pid, (code, value, unit, ref_low, _) in LABS.items()
      for row in (*cramps_patient(pid), lab(pid, code, on=day(1), value=value, unit=unit, ref_low=ref_low))),
]


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


@pytest.mark.parametrize("order_id", ORDERS)
def test_order_matches_exactly_its_value_sets(deck: Deck, order_id: str) -> None:
    """rules.md: a drug value set matches an order whose RxNorm code is the ingredient or a clinical
    drug containing it; matching by the description (ingredient name) is the fallback when a code
    is unknown; never the laxative / antacid magnesium products, never the bare word "potassium",
    not intrathecal baclofen; cancelled and entered-in-error orders are ignored by every rule."""
    assert deck.matched_sets(order_id) == ORDERS[order_id][5]


@pytest.mark.parametrize("patient_id", LABS)
def test_lab_value_in_mmol(deck: Deck, patient_id: str) -> None:
    """rules.md: magnesium mg/dL x 0.4114 = mmol/L, mEq/L / 2 = mmol/L; potassium mEq/L = mmol/L;
    a value with an unknown unit is not used."""
    expected = LABS[patient_id][4]
    (value,) = deck.lab_mmol(patient_id)
    assert value == (pytest.approx(expected) if expected is not None else None)


def test_unknown_units_are_counted(deck: Deck) -> None:
    """rules.md: a value with an unknown unit is not used, and the run counts it."""
    counts = dict(((s, u), n) for s, u, n in deck.con.execute("SELECT * FROM work.lab_unit_unknown").fetchall())
    assert counts == {("MAGNESIUM_LAB", "mg/L"): 1, ("MAGNESIUM_LAB", None): 1}
    check = deck.con.execute("SELECT rows_checked, rows_failed, passed FROM work.lab_unit_check "
                             "WHERE check_name = 'magnesium_potassium_unit_known'").fetchone()
    assert check == (10, 2, False)
