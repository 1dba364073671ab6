"""Issue 14 / outputs.md `staging.*`: staging holds the candidate patients' rows only (a LEG_CRAMPS
diagnosis anywhere in the extract), while every row of every patient is still read, validated,
counted and, when bad, quarantined, and the whole extract still sets the default period, the
attrition's first step and the lab-unit checks. Whitespace is trimmed in ids, codes, tokens, units,
statuses and dates; free text is kept as written."""

from __future__ import annotations

import duckdb

from tests.deck import (
    CIRRHOSIS_ICD10,
    K_LOINC,
    MG_LOINC_MOLAR,
    audit_deck,
    cramps_patient,
    day,
    dx,
    lab,
    load_rows,
    med,
    patient,
)

STAGING = ("patients", "encounters", "diagnoses", "medications", "labs", "procedures")


def _staged_patients(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    return {t: {r[0] for r in con.execute(f"SELECT DISTINCT patient_id FROM staging.{t}").fetchall()}
            for t in STAGING}


def _deck_rows() -> list:
    return [
        *cramps_patient("c1"),
        lab("c1", K_LOINC, on=day(3), value=3.9, unit="mmol/L"),
        med("c1", "7646", on=day(-900), end=day(-890), description="omeprazole", status="completed"),
        # Not a candidate: cirrhosis, a potassium result, an order, and a lab row with a bad date.
        patient("other"),
        dx("other", CIRRHOSIS_ICD10),
        lab("other", K_LOINC, on=day(4), value=4.0, unit="mmol/L"),
        lab("other", MG_LOINC_MOLAR, on=day(5), value=0.8, unit="g/L"),  # a known unit with no factor
        lab("other", K_LOINC, on="2025-13-45", value=4.2, unit="mmol/L"),
        med("other", "7646", on=day(10), description="omeprazole"),
        # A leg-cramps row that validation rejects (its date): no candidate, so no staging rows.
        patient("rejected"),
        dx("rejected", on="not a date"),
        lab("rejected", K_LOINC, on=day(6), value=4.4, unit="mmol/L"),
    ]


def test_staging_holds_the_candidates_rows_only_and_every_row_is_still_validated_and_counted() -> None:
    deck = audit_deck(_deck_rows())
    con = deck.con
    staged = _staged_patients(con)
    assert staged == {"patients": {"c1"}, "encounters": set(), "diagnoses": {"c1"}, "medications": {"c1"},
                      "labs": {"c1"}, "procedures": set()}
    counts = dict(((t, (r, lo, rej)) for t, r, lo, rej in con.execute(
        "SELECT table_name, sum(rows_read), sum(rows_loaded), sum(rows_rejected) FROM work.table_counts "
        "GROUP BY table_name").fetchall()))
    assert counts["patients"] == (3, 3, 0)
    assert counts["diagnoses"] == (3, 2, 1)
    assert counts["labs"] == (5, 4, 1)
    assert counts["medications"] == (2, 2, 0)
    quarantined = con.execute("SELECT table_name, field, record FROM work.quarantine WHERE action = 'rejected' "
                              "ORDER BY table_name").fetchall()
    assert [(t, f) for t, f, _ in quarantined] == [("diagnoses", "recorded_date"), ("labs", "collected_date")]
    assert '"other"' in quarantined[1][2] and '"rejected"' in quarantined[0][2]


def test_the_whole_extract_sets_the_attrition_the_period_and_the_lab_unit_checks() -> None:
    deck = audit_deck(_deck_rows(), period=None)
    con = deck.con
    assert deck.attrition()[0] == (1, "patients in extract", 3)
    # The latest event date is the other patient's order (day 10), though staging does not keep it.
    assert con.execute("SELECT getvariable('period_end')").fetchone() == (day(10),)
    checks = dict(((name, (checked, failed)) for name, checked, failed in con.execute(
        "SELECT check_name, rows_checked, rows_failed FROM work.data_quality WHERE table_name = 'labs' "
        "AND check_name = 'magnesium_potassium_unit_known'").fetchall()))
    # c1's and other's potassium, other's magnesium in g/L, rejected's potassium: 4 numeric results.
    assert checks == {"magnesium_potassium_unit_known": (4, 1)}
    assert con.execute("SELECT value_set, unit, rows FROM work.lab_unit_unknown").fetchall() == [
        ("MAGNESIUM_LAB", "g/L", 1)]


def test_padding_is_not_significant_in_ids_codes_and_units_and_free_text_is_kept_as_written() -> None:
    con = duckdb.connect()
    load_rows(con, [
        patient(" c2 "),
        dx("c2", " R25.2 ", code_system=" icd10cm ", description="  Leg cramps,  at night "),
        lab("c2  ", K_LOINC, on=day(3), value=3.9, unit=" mmol/L ", value_text=" see note "),
        med("c2", "7646", on=day(-900), end=day(-890), description=" omeprazole  ", status=" completed "),
    ], "run-1")
    assert con.execute("SELECT patient_id FROM staging.patients").fetchall() == [("c2",)]
    assert con.execute("SELECT patient_id, code_system, code, description FROM staging.diagnoses").fetchall() == [
        ("c2", "ICD10CM", "R252", "  Leg cramps,  at night ")]
    assert con.execute("SELECT patient_id, unit, value_text FROM staging.labs").fetchall() == [
        ("c2", "mmol/L", " see note ")]
    assert con.execute("SELECT description, status FROM staging.medications").fetchall() == [
        (" omeprazole  ", "completed")]
    assert con.execute("SELECT count(*) FROM work.quarantine").fetchone() == (0,)

