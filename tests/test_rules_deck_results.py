"""The one population decider and what it produces (rules.md, "What every rule reports"):
one status per cohort patient and rule, rule_results counted only from patient_rules, deviation
rows only for deviating patients, the previous run's rate, counts per stratum (rule_strata), and the
work.* tables' shape."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from deck import (
    BACLOFEN_10_SCD,
    G4762,
    IBUPROFEN_400_SCD,
    MG_OXIDE_400_SCD,
    PARKINSONS_ICD10,
    QUININE_SCD,
    RLS_ICD10,
    ROPINIROLE_IN,
    Deck,
    audit_deck,
    cramps_patient,
    day,
    dx,
    med,
)

from cramp_audit.rules_engine import RuleError, discover_rules, evaluate
from cramp_audit.stages import tables

SQL_DIR = Path(__file__).parents[1] / "sql"
RLS = "LC-RLS-CONFUSION"
BAC = "LC-BACLOFEN-TITRATION"
NSAID = "LC-NSAID-ELDERLY"


def bac(pid: str, start: int, dose: float | None) -> object:
    return med(pid, BACLOFEN_10_SCD, on=day(start), dose_value=dose, dose_unit="mg", frequency_per_day=1)


ROWS = [
    # LC-RLS-CONFUSION: 2 deviations, 1 met, 2 excluded (one of them also had a deviating order first)
    *cramps_patient("rls_deviation_a"), med("rls_deviation_a", ROPINIROLE_IN, on=day(5)),
    *cramps_patient("rls_deviation_b"), med("rls_deviation_b", ROPINIROLE_IN, on=day(6)),
    *cramps_patient("rls_met"), med("rls_met", ROPINIROLE_IN, on=day(5)), dx("rls_met", RLS_ICD10, on=day(-5)),
    *cramps_patient("rls_excluded"), med("rls_excluded", ROPINIROLE_IN, on=day(5)),
    dx("rls_excluded", PARKINSONS_ICD10, on=day(-5)),
    *cramps_patient("rls_deviating_order_then_parkinsons_is_excluded"),
    med("rls_deviating_order_then_parkinsons_is_excluded", ROPINIROLE_IN, on=day(5)),
    dx("rls_deviating_order_then_parkinsons_is_excluded", PARKINSONS_ICD10, on=day(10)),
    med("rls_deviating_order_then_parkinsons_is_excluded", ROPINIROLE_IN, on=day(20)),
    # LC-BACLOFEN-TITRATION: 1 not evaluable, 1 deviation, 1 met
    *cramps_patient("baclofen_not_evaluable"), bac("baclofen_not_evaluable", 1, None),
    *cramps_patient("baclofen_deviation"), bac("baclofen_deviation", 1, 20),
    *cramps_patient("baclofen_met"), bac("baclofen_met", 1, 10),
    # LC-MG-DOSE: the only patient is not evaluable -> rate undefined
    *cramps_patient("mg_dose_not_evaluable_only"),
    med("mg_dose_not_evaluable_only", MG_OXIDE_400_SCD, on=day(3)),
    # LC-NSAID-ELDERLY: two deviating orders, one patient
    *cramps_patient("nsaid_twice", age=70), med("nsaid_twice", IBUPROFEN_400_SCD, on=day(1)),
    med("nsaid_twice", IBUPROFEN_400_SCD, on=day(9)),
]
COHORT = len({r.values["patient_id"] for r in ROWS if r.table == "patients"})


@pytest.fixture(scope="module")
def deck() -> Deck:
    return audit_deck(ROWS)


def test_every_cohort_patient_has_exactly_one_status_per_rule(deck: Deck) -> None:
    """rules.md: every cohort patient gets exactly one status per rule, decided in one place."""
    rules = len(discover_rules())
    rows = deck.con.execute("SELECT count(*), count(DISTINCT (rule_id, patient_id)) FROM work.patient_rules").fetchone()
    assert rows == (COHORT * rules, COHORT * rules)
    statuses = {s for (s,) in deck.con.execute("SELECT DISTINCT status FROM work.patient_rules").fetchall()}
    assert statuses <= {"not_applicable", "excluded", "not_evaluable", "deviation", "met"}


def test_rule_results_arithmetic(deck: Deck) -> None:
    """rules.md: denominator (all but not_applicable), exclusions, not evaluable, deviations; rate =
    deviations / (denominator - exclusions - not evaluable), empty when that is 0."""
    rls = deck.results(RLS)
    assert (rls["denominator"], rls["exclusions"], rls["not_evaluable"], rls["deviations"]) == (5, 2, 0, 2)
    assert rls["deviation_rate"] == pytest.approx(2 / 3)
    baclofen = deck.results(BAC)
    assert (baclofen["denominator"], baclofen["exclusions"], baclofen["not_evaluable"], baclofen["deviations"]) == (
        3, 0, 1, 1)
    assert baclofen["deviation_rate"] == pytest.approx(1 / 2)
    mg_dose = deck.results("LC-MG-DOSE")
    assert (mg_dose["denominator"], mg_dose["not_evaluable"], mg_dose["deviation_rate"]) == (1, 1, None)
    cirrhosis = deck.results("LC-CIRRHOSIS-DIURETIC")
    assert (cirrhosis["denominator"], cirrhosis["deviation_rate"]) == (0, None)
    quinine = deck.results("LC-QUININE")
    assert (quinine["denominator"], quinine["deviations"], quinine["deviation_rate"]) == (COHORT, 0, 0.0)


def test_rule_results_are_counted_only_from_patient_rules(deck: Deck) -> None:
    mismatches = deck.con.execute("""
        SELECT r.rule_id FROM work.rule_results r
        JOIN (SELECT rule_id, count(*) FILTER (WHERE status <> 'not_applicable') AS d,
                     count(*) FILTER (WHERE status = 'excluded') AS e,
                     count(*) FILTER (WHERE status = 'not_evaluable') AS n,
                     count(*) FILTER (WHERE status = 'deviation') AS v
              FROM work.patient_rules GROUP BY rule_id) p USING (rule_id)
        WHERE (r.denominator, r.exclusions, r.not_evaluable, r.deviations) <> (p.d, p.e, p.n, p.v)""").fetchall()
    assert mismatches == []


def test_exclusion_outranks_a_deviating_event(deck: Deck) -> None:
    """rules.md: status order not_applicable, excluded, not_evaluable, deviation, met; deviation rows
    exist only for patients whose status is deviation."""
    assert deck.status(RLS, "rls_deviating_order_then_parkinsons_is_excluded") == "excluded"
    assert deck.deviations(RLS, "rls_deviating_order_then_parkinsons_is_excluded") == []


def test_several_deviating_events_count_once_with_one_row_each(deck: Deck) -> None:
    """rules.md: a patient with several deviating events under one rule counts once in the rates and
    has one deviation row per event."""
    assert deck.results(NSAID)["deviations"] == 1
    assert [r["event_date"] for r in deck.deviations(NSAID, "nsaid_twice")] == [day(1), day(9)]


def test_work_rules_carry_title_severity_guideline_and_required_tables(deck: Deck) -> None:
    row = deck.con.execute("SELECT * FROM work.rules WHERE rule_id = 'LC-QUININE'").fetchone()
    assert row == ("deck-run", "LC-QUININE", "Quinine prescribed", "high", "Avoid quinine despite historical use",
                   [])
    requires = deck.con.execute("SELECT requires FROM work.rules WHERE rule_id = 'LC-ELECTROLYTES'").fetchone()
    assert requires == (["labs"],)


@pytest.mark.parametrize("table", tables("results"))
def test_work_table_columns_equal_the_audit_table(deck: Deck, table: str) -> None:
    """The run publishes with INSERT INTO audit.x SELECT * FROM work.x: same columns, same order."""
    describe = "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? " \
               "AND table_name = ? ORDER BY ordinal_position"
    assert deck.con.execute(describe, ["work", table]).fetchall() == deck.con.execute(
        describe, ["audit", table]).fetchall()


def test_previous_deviation_rate_comes_from_the_previous_succeeded_run_on_the_same_source() -> None:
    """outputs.md: previous_deviation_rate = same rule, previous succeeded run on the same source."""
    quinine = [*cramps_patient("q1"), med("q1", QUININE_SCD, on=day(1)), *cramps_patient("q2")]
    first = audit_deck(quinine, run_id="run-1", source_path="/extracts/site-a")
    assert first.results("LC-QUININE")["previous_deviation_rate"] is None
    first.publish("succeeded")
    failed = audit_deck(quinine[:2], run_id="run-2-failed", source_path="/extracts/site-a", con=first.con)
    failed.publish("failed")

    second = audit_deck(quinine + [*cramps_patient("q3"), *cramps_patient("q4")], run_id="run-3",
                        source_path="/extracts/site-a", con=first.con)
    result = second.results("LC-QUININE")
    assert (result["deviation_rate"], result["previous_deviation_rate"]) == (0.25, 0.5)

    elsewhere = audit_deck(quinine, run_id="run-4", source_path="/extracts/site-b", con=first.con)
    assert elsewhere.results("LC-QUININE")["previous_deviation_rate"] is None


def test_a_rule_needing_an_absent_table_reports_its_denominator_not_evaluable() -> None:
    """extract-format.md: labs and procedures may be absent; every rule that needs them then reports
    its patients as not evaluable."""
    deck = audit_deck([*cramps_patient("no_labs_file"), med("no_labs_file", QUININE_SCD, on=day(2))],
                      absent_tables=("labs", "procedures"))
    assert deck.status("LC-ELECTROLYTES", "no_labs_file") == "not_evaluable"
    assert deck.reason("LC-ELECTROLYTES", "no_labs_file") == "no usable rows in the extract: labs"
    assert deck.status("LC-WORKUP-EXCESS", "no_labs_file") == "not_evaluable"
    # Its denominator is built from low lab results (rules.md): without labs it is empty, and the
    # data-quality report names the rule as not fully evaluated.
    assert deck.status("LC-DEFICIENCY-UNTREATED", "no_labs_file") == "not_applicable"
    assert deck.status("LC-QUININE", "no_labs_file") == "deviation"  # needs medications only


def test_the_engine_refuses_to_run_without_parameters() -> None:
    con = duckdb.connect()
    con.execute((SQL_DIR / "schema" / "staging.sql").read_text())
    with pytest.raises(RuleError, match="parameters not set"):
        evaluate(con, "r", "s")


def test_a_rule_breaking_the_role_contract_is_refused(tmp_path: Path) -> None:
    deck = audit_deck(cramps_patient("anyone"))
    header = ("-- rule_id: LC-BROKEN\n-- title: t\n-- severity: low\n-- guideline: \"g\"\n-- value_sets: QUININE\n"
              "-- parameters: followup_days\n-- reason_codes: BROKEN\n")
    (tmp_path / "LC-BROKEN.sql").write_text(
        header + "SELECT patient_id, 'deviation' AS role, index_date AS event_date, 'x' AS explanation, "
                 "'{}' AS evidence, 'BROKEN' AS reason_code FROM work.cohort")
    with pytest.raises(RuleError, match="deviation row without a denominator row"):
        evaluate(deck.con, "broken", "deck", rules_dir=tmp_path)
    # issue 13: a deviation row carries one of its rule's fixed reason codes (the `reason_codes:` header)
    (tmp_path / "LC-BROKEN.sql").write_text(
        header + "SELECT patient_id, 'denominator' AS role, index_date AS event_date, 'x' AS explanation, "
                 "'{}' AS evidence, NULL AS reason_code FROM work.cohort UNION ALL "
                 "SELECT patient_id, 'deviation', index_date, 'x', '{}', 'UNLISTED' FROM work.cohort")
    with pytest.raises(RuleError, match="reason_code 'UNLISTED' not in its header"):
        evaluate(deck.con, "broken", "deck", rules_dir=tmp_path)
    (tmp_path / "LC-BROKEN.sql").write_text(header + "SELECT patient_id FROM work.cohort")
    with pytest.raises(RuleError, match="returns columns"):
        evaluate(deck.con, "broken", "deck", rules_dir=tmp_path)


# --- audit.rule_strata: the decider's counts per site, sex and age band at index --------------------

def _strata(deck: Deck, rule_id: str) -> dict[tuple[str, str], tuple[int, int, int, int, float | None]]:
    rows = deck.con.execute("SELECT stratum, value, denominator, exclusions, not_evaluable, deviations, "
                            "deviation_rate FROM work.rule_strata WHERE rule_id = ?", [rule_id]).fetchall()
    return {(stratum, value): tuple(counts) for stratum, value, *counts in rows}


def test_rule_strata_count_each_rule_by_site_sex_and_age_band_at_index() -> None:
    deck = audit_deck([
        *cramps_patient("north_woman_70_on_quinine", age=70, sex="F", site_id="NORTH"),
        med("north_woman_70_on_quinine", QUININE_SCD, on=day(3)),
        *cramps_patient("north_man_40", age=40, sex="M", site_id="NORTH"),
        *cramps_patient("man_85_without_a_site", age=85, sex="M", site_id=None),
    ])
    quinine = _strata(deck, "LC-QUININE")
    assert quinine == {
        ("site", "NORTH"): (2, 0, 0, 1, 0.5), ("site", "(none)"): (1, 0, 0, 0, 0.0),
        ("sex", "F"): (1, 0, 0, 1, 1.0), ("sex", "M"): (2, 0, 0, 0, 0.0),
        ("age_band", "18-64"): (1, 0, 0, 0, 0.0), ("age_band", "65-79"): (1, 0, 0, 1, 1.0),
        ("age_band", "80+"): (1, 0, 0, 0, 0.0),
        ("index_code_kind", "general"): (3, 0, 0, 1, 1 / 3),  # R25.2, the deck's default index code
    }
    # Every rule has every cell, an empty one as an explicit 0 (LC-NSAID-ELDERLY: the 65+ only).
    nsaid = _strata(deck, "LC-NSAID-ELDERLY")
    assert nsaid.keys() == quinine.keys() and nsaid[("age_band", "18-64")] == (0, 0, 0, 0, None)


def test_each_stratum_adds_up_to_the_rule_results(deck: Deck) -> None:
    """Each stratum partitions the cohort, so its cells sum to the rule's totals."""
    mismatched = deck.con.execute(
        "SELECT s.rule_id, s.stratum FROM work.rule_strata s JOIN work.rule_results r USING (rule_id) "
        "GROUP BY s.rule_id, s.stratum, r.denominator, r.exclusions, r.not_evaluable, r.deviations "
        "HAVING sum(s.denominator) <> r.denominator OR sum(s.exclusions) <> r.exclusions "
        "OR sum(s.not_evaluable) <> r.not_evaluable OR sum(s.deviations) <> r.deviations").fetchall()
    assert mismatched == []
    assert {r[0] for r in deck.con.execute("SELECT DISTINCT stratum FROM work.rule_strata").fetchall()} == {
        "site", "sex", "age_band", "index_code_kind"}


def test_the_index_code_kind_is_a_fourth_stratum() -> None:
    """rules-v2.md: each index diagnosis is leg-specific (G47.62) or general (R25.2), "so reports can
    show both": the decider counts each rule by it."""
    deck = audit_deck([*cramps_patient("leg_specific", code=G4762), *cramps_patient("general_a"),
                       *cramps_patient("general_b")])
    kinds = deck.con.execute("SELECT value, denominator FROM work.rule_strata "
                             "WHERE stratum = 'index_code_kind' AND rule_id = 'LC-QUININE' ORDER BY value")
    assert kinds.fetchall() == [("general", 2), ("leg-specific", 1)]
