"""The cohort (rules.md, "The cohort"): who enters, on which index date, for how long, and the
attrition steps; diagnosis codes in every coding the value sets cover."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from deck import (
    INDEX,
    PERIOD,
    QUININE_SCD,
    Deck,
    audit_deck,
    cramps_patient,
    day,
    dx,
    med,
    patient,
)

EIGHTEENTH_BIRTHDAY_ON_INDEX = date(INDEX.year - 18, INDEX.month, INDEX.day)

ROWS = [
    # in the cohort
    *cramps_patient("adult_diagnosed_on_index", age=60),
    *cramps_patient("icd10_code_with_dot", code="R25.2"),
    *cramps_patient("icd10_code_without_dot", code="R252"),
    *cramps_patient("icd10_sleep_related_leg_cramps", code="G47.62"),
    *cramps_patient("icd10_calf_spasm", code="M62.831"),
    *cramps_patient("icd9_code_with_dot", code="729.82", code_system="ICD9CM"),
    *cramps_patient("icd9_code_without_dot", code="72982", code_system="ICD9CM"),
    *cramps_patient("snomed_cramp_in_lower_leg", code="449918009", code_system="SNOMED"),
    *cramps_patient("aged_18_on_the_diagnosis_date", birth_date=EIGHTEENTH_BIRTHDAY_ON_INDEX),
    *cramps_patient("diagnosed_on_period_start", on=PERIOD[0]),
    *cramps_patient("diagnosed_on_period_end", on=PERIOD[1]),
    *cramps_patient("died_day_100", death_date=day(100)),
    *cramps_patient("died_on_the_index_date", death_date=INDEX),
    *cramps_patient("first_diagnosis_in_period_is_index"), dx("first_diagnosis_in_period_is_index", on=day(20)),
    dx("first_diagnosis_in_period_is_index", on=date(2024, 6, 1)),
    patient("minor_then_adult_in_period", birth_date=EIGHTEENTH_BIRTHDAY_ON_INDEX + timedelta(days=30)),
    dx("minor_then_adult_in_period", on=INDEX), dx("minor_then_adult_in_period", on=day(40)),
    # not in the cohort
    patient("no_leg_cramps_diagnosis"),
    *cramps_patient("other_muscle_spasm_is_not_leg_cramps", code="M62.838"),
    *cramps_patient("icd9_code_filed_as_icd10_does_not_match", code="729.82", code_system="ICD10CM"),
    *cramps_patient("diagnosed_day_before_period", on=PERIOD[0] - timedelta(days=1)),
    *cramps_patient("diagnosed_day_after_period", on=PERIOD[1] + timedelta(days=1)),
    patient("turns_18_the_day_after_diagnosis", birth_date=EIGHTEENTH_BIRTHDAY_ON_INDEX + timedelta(days=1)),
    dx("turns_18_the_day_after_diagnosis", on=INDEX),
    *cramps_patient("younger_than_18", age=16),
    *cramps_patient("died_the_day_before_diagnosis", death_date=day(-1)),
    # a quinine order only to show follow-up truncated at death
    med("died_day_100", QUININE_SCD, on=day(101)),
]


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


@pytest.mark.parametrize("patient_id", [
    "adult_diagnosed_on_index", "icd10_code_with_dot", "icd10_code_without_dot", "icd10_sleep_related_leg_cramps",
    "icd10_calf_spasm", "icd9_code_with_dot", "icd9_code_without_dot", "snomed_cramp_in_lower_leg",
])
def test_leg_cramps_diagnosis_in_any_coding_enters_the_cohort(deck: Deck, patient_id: str) -> None:
    """rules.md: codes are compared after normalising (upper case, ICD dots removed), so R25.2 = R252;
    ICD-9-CM equivalents of every condition set count; SNOMED codes are in LEG_CRAMPS."""
    assert deck.cohort(patient_id)["index_date"] == INDEX


def test_adult_in_period_gets_index_age_and_180_days_follow_up(deck: Deck) -> None:
    """rules.md: index date = first LEG_CRAMPS diagnosis in the period; follow-up = index .. index +
    followup_days (180), inclusive."""
    row = deck.cohort("adult_diagnosed_on_index")
    assert (row["run_id"], row["age_at_index"], row["sex"], row["site_id"]) == ("deck-run", 60, "F", "SITE-A")
    assert row["followup_end"] == day(180)


@pytest.mark.parametrize("patient_id, reason", [
    ("no_leg_cramps_diagnosis", "no LEG_CRAMPS diagnosis"),
    ("other_muscle_spasm_is_not_leg_cramps", "rules.md: leg_cramps_related_muscle_spasm is M62.831 only"),
    ("icd9_code_filed_as_icd10_does_not_match", "codes compare together with their code system"),
    ("diagnosed_day_before_period", "the diagnosis must be recorded inside the period"),
    ("diagnosed_day_after_period", "the diagnosis must be recorded inside the period"),
    ("turns_18_the_day_after_diagnosis", "18 or older on that date"),
    ("younger_than_18", "18 or older on that date"),
    ("died_the_day_before_diagnosis", "alive at index"),
])
def test_not_in_the_cohort(deck: Deck, patient_id: str, reason: str) -> None:
    assert deck.cohort(patient_id) is None, reason
    assert deck.status("LC-QUININE", patient_id) is None  # no status at all outside the cohort


def test_aged_18_on_the_diagnosis_date_is_in(deck: Deck) -> None:
    """rules.md: the patient is 18 or older on that date (age in whole years)."""
    assert deck.cohort("aged_18_on_the_diagnosis_date")["age_at_index"] == 18


@pytest.mark.parametrize("patient_id, index", [("diagnosed_on_period_start", PERIOD[0]),
                                               ("diagnosed_on_period_end", PERIOD[1])])
def test_period_is_inclusive_at_both_ends(deck: Deck, patient_id: str, index: date) -> None:
    assert deck.cohort(patient_id)["index_date"] == index


def test_index_is_the_first_diagnosis_inside_the_period(deck: Deck) -> None:
    """rules.md: index date = the first LEG_CRAMPS diagnosis date inside the period (an earlier one
    before the period does not count)."""
    assert deck.cohort("first_diagnosis_in_period_is_index")["index_date"] == INDEX


def test_minor_then_adult_indexes_on_the_first_diagnosis_at_18(deck: Deck) -> None:
    """Reading of rules.md (cohort.sql header): the cohort needs a diagnosis at 18+, so the index is
    the first diagnosis in the period at which the patient is 18 or older."""
    row = deck.cohort("minor_then_adult_in_period")
    assert (row["index_date"], row["age_at_index"]) == (day(40), 18)


def test_deceased_patient_is_followed_up_to_the_death_date_only(deck: Deck) -> None:
    """rules.md: a deceased patient is followed up to the death date only; quinine after it is outside."""
    assert deck.cohort("died_day_100")["followup_end"] == day(100)
    assert deck.status("LC-QUININE", "died_day_100") == "met"
    assert deck.cohort("died_on_the_index_date")["followup_end"] == INDEX


def test_attrition_counts_each_step(deck: Deck) -> None:
    """outputs.md: patients in extract -> with a leg-cramps diagnosis -> inside the period -> aged 18+
    -> alive at index (cumulative)."""
    patients = len({r.values["patient_id"] for r in ROWS if r.table == "patients"})
    in_cohort = 15
    assert deck.attrition() == [
        (1, "patients in extract", patients),
        (2, "with a leg-cramps diagnosis", patients - 3),   # no diagnosis, M62.838, ICD-9 code filed as ICD-10
        (3, "inside the period", patients - 5),             # ... and the two diagnosed outside the period
        (4, "aged 18+", patients - 7),                      # ... and the two minors
        (5, "alive at index", in_cohort),                   # ... and the one dead before diagnosis
    ]
    assert deck.con.execute("SELECT count(*) FROM work.cohort").fetchone()[0] == in_cohort


def test_default_period_ends_on_the_latest_date_in_the_extract() -> None:
    """rules.md: defaults: the 365 days that end on the latest date in the extract."""
    rows = [*cramps_patient("diagnosed_364_days_before_the_last_date", on=date(2025, 1, 1)),
            *cramps_patient("diagnosed_365_days_before_the_last_date", on=date(2024, 12, 31)),
            *cramps_patient("last_date", on=date(2025, 12, 31))]
    deck = audit_deck(rows, period=None)
    assert deck.cohort("diagnosed_364_days_before_the_last_date") is not None
    assert deck.cohort("diagnosed_365_days_before_the_last_date") is None
