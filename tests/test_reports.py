"""reports/<run_id>/: the CSV files, measure_reports.json and report.html, against a hand-made audit database."""

from __future__ import annotations

import csv
import re
from html import escape as html_escape
from pathlib import Path

import duckdb
import polars as pl
import pytest
from cramp_audit.schemas.checks import catalogued

from cramp_audit.reports import format_percent, write_reports
from tests.report_fixture import (
    DEVIATION_ROWS,
    EXPLANATION,
    OTHER_RUN_ID,
    RULES,
    RUN_ID,
    build_audit_db,
    derive_rule_strata,
    read_rule_table,
)

CSV_FILES = ["rule_summary.csv", "rule_by_stratum.csv", "rule_by_site.csv", "cohort_attrition.csv",
             "worklist_internal.csv", "data_quality.csv"]
ALL_FILES = [*CSV_FILES, "measure_reports.json", "report.html"]
RULE_IDS = sorted(rule_id for rule_id, *_ in RULES)


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return build_audit_db(tmp_path / "cramp.duckdb")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's reports with the default suppress_below = 11, written once for the read-only tests."""
    root = tmp_path_factory.mktemp("reports")
    write_reports(build_audit_db(root / "cramp.duckdb"), RUN_ID, root / "out", suppress_below=11)
    return root / "out" / RUN_ID


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def by_rule_and_site(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[str, ...]]:
    columns = ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations", "deviation_rate_percent")
    return {(r["rule_id"], r["site_id"]): tuple(r[c] for c in columns) for r in rows}


# --- files ---------------------------------------------------------------------------------------


def test_every_file_is_written_into_the_run_folder(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    paths = write_reports(con, RUN_ID, tmp_path / "reports", suppress_below=11)

    assert [p.name for p in paths] == ALL_FILES
    assert all(p.parent == tmp_path / "reports" / RUN_ID and p.stat().st_size > 0 for p in paths)
    assert sorted(p.name for p in (tmp_path / "reports" / RUN_ID).iterdir()) == sorted(p.name for p in paths)


def test_writing_again_replaces_the_files(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write_reports(con, RUN_ID, tmp_path, suppress_below=11)
    con.execute("UPDATE audit.rules SET title = 'Quinine ordered' WHERE run_id = ? AND rule_id = 'LC-QUININE'",
                [RUN_ID])

    write_reports(con, RUN_ID, tmp_path, suppress_below=11)

    assert "Quinine ordered" in (tmp_path / RUN_ID / "rule_summary.csv").read_text(encoding="utf-8-sig")
    assert sorted(p.name for p in (tmp_path / RUN_ID).iterdir()) == sorted(ALL_FILES)


def test_an_unknown_run_is_refused_and_nothing_is_written(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not in audit.runs"):
        write_reports(con, "run-that-never-was", tmp_path, suppress_below=11)
    assert not (tmp_path / "run-that-never-was").exists()


@pytest.mark.parametrize("run_id", ["", "..", "a/b", "a\\b"])
def test_a_run_id_that_is_not_a_plain_folder_name_is_refused(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, run_id: str
) -> None:
    with pytest.raises(ValueError, match="folder name"):
        write_reports(con, run_id, tmp_path / "out", suppress_below=11)


@pytest.mark.parametrize("suppress_below", [0, -3, True, 10.5])
def test_suppress_below_must_be_a_whole_number_of_at_least_one(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, suppress_below: object
) -> None:
    with pytest.raises(ValueError, match="suppress_below"):
        write_reports(con, RUN_ID, tmp_path, suppress_below=suppress_below)  # type: ignore[arg-type]


# --- rule_summary.csv ----------------------------------------------------------------------------


def test_rule_summary_is_rule_results_of_the_run_with_titles_and_statements(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    expected = con.sql(
        "SELECT r.rule_id, r.title, r.severity, x.denominator, x.exclusions, x.not_evaluable,"
        " x.denominator - x.exclusions - x.not_evaluable AS evaluated, x.deviations,"
        " round(100 * x.deviation_rate, 1) AS deviation_rate_percent, r.guideline_statement"
        " FROM audit.rules r JOIN audit.rule_results x USING (run_id, rule_id) WHERE run_id = $run_id"
        " ORDER BY rule_id",
        params={"run_id": RUN_ID},
    ).pl()
    write_reports(con, RUN_ID, tmp_path, suppress_below=1)  # 1: nothing suppressed

    written = pl.read_csv(tmp_path / RUN_ID / "rule_summary.csv", schema_overrides=expected.schema)

    assert written.select(expected.columns).equals(expected)
    assert written.columns == ["rule_id", "title", "severity", "denominator", "exclusions", "not_evaluable",
                               "evaluated", "deviations", "deviation_rate_percent", "ci_low_percent",
                               "ci_high_percent", "rate_note", "guideline_statement"]


def test_rule_summary_rows_are_the_exact_counts_with_small_ones_and_their_complements_withheld(
    reports: Path
) -> None:
    rows = {r["rule_id"]: r for r in read_csv_rows(reports / "rule_summary.csv")}

    assert list(rows) == RULE_IDS
    quinine = rows["LC-QUININE"]
    # 12 deviating patients (13 events) is not small, but EAST's 1 = 12 - NORTH's 11: the total goes.
    assert (quinine["denominator"], quinine["evaluated"], quinine["deviations"], quinine["rate_note"]) == (
        "52", "52", "suppressed", "suppressed")
    assert quinine["deviation_rate_percent"] == quinine["ci_low_percent"] == ""  # no rate on a withheld count
    electrolytes = rows["LC-ELECTROLYTES"]
    assert (electrolytes["deviations"], electrolytes["deviation_rate_percent"], electrolytes["ci_low_percent"],
            electrolytes["ci_high_percent"], electrolytes["rate_note"]) == ("16", "30.8", "19.9", "44.3", "")
    # 1 exclusion of 12 is small: it and the denominator are withheld, the rate on 11 evaluated is not.
    rls = rows["LC-RLS-CONFUSION"]
    assert (rls["denominator"], rls["exclusions"], rls["evaluated"], rls["deviation_rate_percent"],
            rls["rate_note"]) == ("suppressed", "<11", "11", "0.0", "small numbers")
    cirrhosis = rows["LC-CIRRHOSIS-DIURETIC"]
    assert (cirrhosis["deviation_rate_percent"], cirrhosis["rate_note"]) == ("", "no patients")  # never 0 %
    assert rows["LC-QUININE"]["guideline_statement"] == "Avoid quinine despite historical use"


def test_a_rule_nobody_could_be_evaluated_for_says_not_evaluable_not_0_percent(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    con.execute("UPDATE audit.patient_rules SET status = 'not_evaluable' WHERE run_id = ? AND rule_id = 'LC-QUININE'"
                " AND status <> 'not_applicable'", [RUN_ID])
    con.execute("UPDATE audit.rule_results SET not_evaluable = 52, deviations = 0, deviation_rate = NULL"
                " WHERE run_id = ? AND rule_id = 'LC-QUININE'", [RUN_ID])
    derive_rule_strata(con)
    write_reports(con, RUN_ID, tmp_path, suppress_below=11)

    quinine = next(r for r in read_csv_rows(tmp_path / RUN_ID / "rule_summary.csv") if r["rule_id"] == "LC-QUININE")
    page = read_rule_table((tmp_path / RUN_ID / "report.html").read_text(encoding="utf-8"))

    assert (quinine["evaluated"], quinine["deviation_rate_percent"], quinine["rate_note"]) == ("0", "", "not evaluable")
    assert page["LC-QUININE"]["deviation_rate"] == "not evaluable"


# --- rule_by_site.csv ----------------------------------------------------------------------------

S, C = "<11", "suppressed"
EXPECTED_BY_SITE_11 = {
    # (rule, site): denominator, exclusions, not_evaluable, evaluated, deviations, deviation_rate_percent
    ("LC-QUININE", "EAST"): ("11", "0", "0", "11", S, ""),  # 1 deviation -> <11, rate withheld; 11 stays 11
    ("LC-QUININE", "NORTH"): ("30", "0", "0", "30", "11", "36.7"),  # 11 is not suppressed
    ("LC-QUININE", "WEST"): (S, "0", "0", S, "0", ""),  # 10 patients -> <11
    ("LC-QUININE", "(none)"): (S, "0", "0", S, "0", ""),
    ("LC-ELECTROLYTES", "EAST"): ("11", "0", "0", "11", "0", "0.0"),  # 0 stays 0, and its rate is shown
    ("LC-ELECTROLYTES", "NORTH"): ("30", "0", "0", "30", S, ""),  # 10 deviations -> <11
    ("LC-ELECTROLYTES", "WEST"): (S, "0", "0", S, S, ""),
    ("LC-ELECTROLYTES", "(none)"): (S, "0", "0", S, S, ""),
    ("LC-MG-DOSE", "EAST"): ("0", "0", "0", "0", "0", ""),  # nobody to evaluate: empty rate
    ("LC-MG-DOSE", "NORTH"): ("20", "0", S, C, S, ""),  # 18 evaluated = 20 - 2 would reveal the 2
    ("LC-MG-DOSE", "WEST"): (S, "0", "0", S, S, ""),
    ("LC-MG-DOSE", "(none)"): ("0", "0", "0", "0", "0", ""),
    ("LC-RLS-CONFUSION", "EAST"): ("0", "0", "0", "0", "0", ""),
    ("LC-RLS-CONFUSION", "NORTH"): (C, S, "0", "11", "0", "0.0"),  # the small exclusion costs the denominator
    ("LC-RLS-CONFUSION", "WEST"): ("0", "0", "0", "0", "0", ""),
    ("LC-RLS-CONFUSION", "(none)"): ("0", "0", "0", "0", "0", ""),
    **{("LC-CIRRHOSIS-DIURETIC", site): ("0", "0", "0", "0", "0", "")
       for site in ["EAST", "NORTH", "WEST", "(none)"]},
}


def test_rule_by_site_suppresses_counts_from_1_to_10_and_what_would_reveal_them(reports: Path) -> None:
    rows = read_csv_rows(reports / "rule_by_site.csv")

    assert list(rows[0]) == ["rule_id", "site_id", "denominator", "exclusions", "not_evaluable", "evaluated",
                             "deviations", "deviation_rate_percent", "ci_low_percent", "ci_high_percent",
                             "rate_note", "rank"]
    assert by_rule_and_site(rows) == EXPECTED_BY_SITE_11
    assert len(rows) == len(EXPECTED_BY_SITE_11)  # every rule × every site, sites of other runs absent
    assert [r["site_id"] for r in rows[:4]] == ["EAST", "NORTH", "WEST", "(none)"]  # no site last
    notes = {(r["rule_id"], r["site_id"]): r["rate_note"] for r in rows}
    assert notes[("LC-ELECTROLYTES", "EAST")] == "small numbers"  # 11 evaluated < 20
    assert notes[("LC-MG-DOSE", "EAST")] == "no patients"
    assert {r["rank"] for r in rows} == {"", "1"}  # only NORTH's quinine rate is on 20 or more and shown


def test_a_custom_suppress_below_moves_the_edge(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write_reports(con, RUN_ID, tmp_path, suppress_below=5)
    cells = by_rule_and_site(read_csv_rows(tmp_path / RUN_ID / "rule_by_site.csv"))

    assert cells[("LC-ELECTROLYTES", "WEST")][4] == "5"  # 5 = suppress_below: shown
    assert cells[("LC-MG-DOSE", "NORTH")] == ("20", "0", "<5", C, "<5", "")  # 2 and 4 -> <5
    assert cells[("LC-MG-DOSE", "WEST")] == ("<5", "0", "0", "<5", "<5", "")  # 3 and 1 -> <5
    assert cells[("LC-QUININE", "EAST")] == ("11", "0", "0", "11", "<5", "")


def test_suppress_below_1_suppresses_nothing_and_sites_add_up_to_rule_results(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write_reports(con, RUN_ID, tmp_path, suppress_below=1)
    by_site = pl.read_csv(tmp_path / RUN_ID / "rule_by_site.csv")
    summary = pl.read_csv(tmp_path / RUN_ID / "rule_summary.csv")
    assert not by_site["rate_note"].eq("suppressed").any()

    columns = ["denominator", "exclusions", "not_evaluable", "deviations"]
    totals = by_site.group_by("rule_id").agg(pl.col(columns).sum()).sort("rule_id")
    assert totals.equals(summary.select("rule_id", *columns))


def test_no_rate_is_shown_next_to_a_suppressed_count(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    for suppress_below in (5, 11, 31):
        write_reports(con, RUN_ID, tmp_path / str(suppress_below), suppress_below=suppress_below)
        for row in read_csv_rows(tmp_path / str(suppress_below) / RUN_ID / "rule_by_stratum.csv"):
            if not row["evaluated"].isdigit() or not row["deviations"].isdigit():
                assert row["deviation_rate_percent"] == row["ci_low_percent"] == row["ci_high_percent"] == "", row
            counts = [row[c] for c in ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations")]
            assert all(c in (f"<{suppress_below}", C) or int(c) == 0 or int(c) >= suppress_below
                       for c in counts), row


# --- worklist.csv and data_quality.csv ------------------------------------------------------------


def test_worklist_has_one_row_per_deviation_event_of_the_run(reports: Path) -> None:
    assert not (reports / "worklist.csv").exists()  # the name says it is internal
    rows = read_csv_rows(reports / "worklist_internal.csv")

    assert list(rows[0]) == ["patient_id", "rule_id", "severity", "event_date", "reason_code", "explanation", "change"]
    assert len(rows) == DEVIATION_ROWS
    assert [r["severity"] for r in rows] == sorted((r["severity"] for r in rows),
                                                   key=["high", "medium", "low"].index)
    assert rows[0] == {"patient_id": "000001", "rule_id": "LC-QUININE", "severity": "high",
                       "event_date": "2024-02-01", "reason_code": "", "explanation": EXPLANATION,
                       "change": "persisting"}
    assert rows[1]["event_date"] == "2024-03-10"  # same patient, second quinine order
    assert rows[1]["change"] == "persisting"  # the change is the patient's for the rule, not the event's
    assert {r["change"] for r in rows[2:]} == {"new"}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["event_date"]) for r in rows)
    assert "999999" not in {r["patient_id"] for r in rows}  # the other run's deviation


def test_data_quality_has_counts_per_table_then_each_failed_check(reports: Path) -> None:
    rows = read_csv_rows(reports / "data_quality.csv")

    assert list(rows[0]) == ["kind", "table_name", "source_table", "rows_read", "rows_loaded", "rows_rejected",
                             "rows_repaired", "rows_skipped", "skip_reason", "check_name", "rows_checked",
                             "rows_failed", "rules_not_evaluable", "meaning"]
    assert [(r["kind"], r["table_name"]) for r in rows] == [
        ("counts", "diagnoses"), ("counts", "labs"), ("counts", "medications"), ("counts", "patients"),
        ("check", "labs"), ("check", "medications")]
    assert rows[0] == {
        "kind": "counts", "table_name": "diagnoses", "source_table": "conditions.csv", "rows_read": "5400",
        "rows_loaded": "5380", "rows_rejected": "6", "rows_repaired": "3", "rows_skipped": "14",
        "skip_reason": "not a diagnosis, e.g. 'finding'", "check_name": "", "rows_checked": "", "rows_failed": "",
        "rules_not_evaluable": "", "meaning": ""}
    assert rows[4] == {
        "kind": "check", "table_name": "labs", "source_table": "", "rows_read": "", "rows_loaded": "",
        "rows_rejected": "", "rows_repaired": "", "rows_skipped": "", "skip_reason": "",
        "check_name": "unit:unknown_unit", "rows_checked": "800", "rows_failed": "17", "rules_not_evaluable": "",
        "meaning": catalogued("labs", "unit:unknown_unit").meaning}
    assert rows[4]["meaning"].startswith("unit is not a unit schemas/units.csv knows")  # the catalogue's words


# --- CSV conventions -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CSV_FILES)
def test_csv_round_trips_through_the_csv_module_and_polars(reports: Path, name: str) -> None:
    raw = (reports / name).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so spreadsheet programs read UTF-8
    raw.decode("utf-8")

    with (reports / name).open(encoding="utf-8-sig", newline="") as f:
        via_csv = list(csv.reader(f))
    via_polars = pl.read_csv(reports / name, infer_schema=False)

    assert via_csv[0] == via_polars.columns
    assert all(len(row) == len(via_csv[0]) for row in via_csv)
    assert via_csv[1:] == [[v or "" for v in row] for row in via_polars.rows()]  # polars: empty cell = null


def test_text_with_commas_quotes_and_accents_survives_the_round_trip(reports: Path) -> None:
    frame = pl.read_csv(reports / "worklist_internal.csv", infer_schema=False)
    assert frame["explanation"][0] == EXPLANATION
    assert frame["patient_id"][0] == "000001"  # leading zeros kept when read as text


# --- report.html ---------------------------------------------------------------------------------


def test_page_shows_every_rule_as_in_rule_summary_csv(reports: Path) -> None:
    page = read_rule_table((reports / "report.html").read_text(encoding="utf-8"))

    for row in read_csv_rows(reports / "rule_summary.csv"):
        shown = page[row["rule_id"]]
        for column in ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations"):
            assert shown[column] == row[column], (row["rule_id"], column)
        rate = float(row["deviation_rate_percent"]) if row["deviation_rate_percent"] else None
        assert shown["deviation_rate"] == (format_percent(rate) if rate is not None else row["rate_note"])
    assert sorted(page) == RULE_IDS


def test_page_rates_are_the_csv_percentages_with_their_interval_or_why_there_is_none(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, reports: Path
) -> None:
    html = (reports / "report.html").read_text(encoding="utf-8")
    page = read_rule_table(html)

    assert page["LC-ELECTROLYTES"]["deviation_rate"] == "30.8 %"
    assert page["LC-ELECTROLYTES"]["interval"] == "19.9–44.3 %"
    assert page["LC-QUININE"]["deviation_rate"] == "suppressed"
    assert page["LC-RLS-CONFUSION"]["deviation_rate"] == "0.0 %"
    assert page["LC-RLS-CONFUSION"]["interval"] == "0.0–25.9 %small numbers"
    assert page["LC-CIRRHOSIS-DIURETIC"]["deviation_rate"] == "no patients"
    assert "Lower is better" in html
    assert not re.search(r"\b(nan|NaN|None)\b", html)


def test_page_has_run_details_cohort_charts_data_quality_and_statements(reports: Path) -> None:
    html = (reports / "report.html").read_text(encoding="utf-8")

    for text in [RUN_ID, "synthea", "2023-06-01", "2024-05-31", "2024-06-03 06:00:01", "2024-06-03 06:02:45",
                 "cohort.followup_days", "unit:unknown_unit", "dose_value:not_positive", "alive at index",
                 html_escape(catalogued("medications", "dose_value:not_positive").meaning),
                 *(statement for *_, statement in RULES)]:
        assert text in html, text
    assert re.search(r'id="cohort-size">52<', html)
    assert re.search(r'id="extract-date">data up to 2024-05-31<', html)
    assert html.count("<svg") == 2  # rate per rule, rate per rule × site
    assert "36.7 %" in html  # NORTH's quinine rate, the one site cell not suppressed at 11
    # results first, provenance last
    order = [html.index(f'id="{section}"') for section in
             ("rules", "rule-details", "sites", "cohort", "data-quality", "run-details", "parameters")]
    assert order == sorted(order)
    assert OTHER_RUN_ID not in html and "SOUTH" not in html
    assert not re.search(r"(?<![\d.])0000\d\d(?!\d)", html)  # no patient ids: the worklist is not on the page


def test_page_dates_the_extract_by_its_latest_data_not_the_run(reports: Path) -> None:
    html = (reports / "report.html").read_text(encoding="utf-8")

    # audit.runs.extract_date is the run's date (2024-06-03) for a source that states none.
    assert re.search(r"Data up to \(latest date in the extract\)</th><td>2024-05-31<", html)
    assert "Extract date" not in html


def test_page_needs_no_network_and_runs_no_script(reports: Path) -> None:
    html = (reports / "report.html").read_text(encoding="utf-8")

    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"@import|<script|<link|<img|<iframe|<object|<embed", html, re.IGNORECASE)
    assert re.findall(r"url\(\s*['\"]?(.)", html) == ["#"] * len(re.findall(r"url\(", html))  # in-page only


def test_text_from_the_database_is_escaped(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    con.execute("UPDATE audit.rules SET title = '<b>bold</b> & co' WHERE run_id = ? AND rule_id = 'LC-QUININE'",
                [RUN_ID])
    con.execute("UPDATE audit.cohort SET site_id = '<i>WEST</i>' WHERE run_id = ? AND site_id = 'WEST'", [RUN_ID])
    derive_rule_strata(con)
    write_reports(con, RUN_ID, tmp_path, suppress_below=11)

    html = (tmp_path / RUN_ID / "report.html").read_text(encoding="utf-8")

    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert "north &amp; east &lt;2024-06&gt;" in html  # the source path
    assert "<b>" not in html and "<i>" not in html


@pytest.mark.parametrize("suppress_below", [1000, 1])
def test_charts_say_no_nan_when_no_site_rate_can_be_shown_or_all_rates_are_zero(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, suppress_below: int
) -> None:
    con.execute("UPDATE audit.patient_rules SET status = 'met' WHERE run_id = ? AND status = 'deviation'",
                [RUN_ID])
    con.execute("UPDATE audit.rule_results SET deviations = 0, deviation_rate = 0 WHERE run_id = ?", [RUN_ID])
    derive_rule_strata(con)

    html = write_reports(con, RUN_ID, tmp_path, suppress_below=suppress_below)[-1].read_text(encoding="utf-8")

    assert html.count("<svg") == 2
    assert not re.search(r"\b(nan|NaN|None|Infinity)\b", html)


def test_a_run_with_an_empty_cohort_still_gets_a_page(tmp_path: Path) -> None:
    con = build_audit_db(tmp_path / "cramp.duckdb")
    for table in ("cohort", "patient_rules", "rule_strata", "deviations", "table_counts", "data_quality"):
        con.execute(f"DELETE FROM audit.{table} WHERE run_id = ?", [RUN_ID])
    con.execute("UPDATE audit.rule_results SET denominator = 0, exclusions = 0, not_evaluable = 0, deviations = 0,"
                " deviation_rate = NULL WHERE run_id = ?", [RUN_ID])
    con.execute("UPDATE audit.cohort_attrition SET patients = 0 WHERE run_id = ? AND step_number > 1", [RUN_ID])

    paths = write_reports(con, RUN_ID, tmp_path / "out", suppress_below=11)

    assert pl.read_csv(tmp_path / "out" / RUN_ID / "rule_by_site.csv").height == 0  # header only
    html = paths[-1].read_text(encoding="utf-8")
    assert "No site breakdown" in html and "No data-quality checks" in html
    # not a perfect score: said plainly, and no rate or chart to misread
    assert "Nothing was audited" in html and "not</strong> a result of" in html
    assert set(pl.read_csv(paths[0])["rate_note"]) == {"no patients"}
    assert "<svg" not in html
