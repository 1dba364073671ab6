"""report.html and the CSV files with the tables sibling stages add (audit.rule_strata, audit.deviations
.reason_code, audit.rule_trend): used when the database has them, suppressed with the rest, and
`cramp-audit export RUN_ID --measure-report`."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from fhir.resources.R4B.bundle import Bundle

from cramp_audit.cli import main
from cramp_audit.release import build_release
from cramp_audit.reports import write_reports
from tests.recovery_attack import Attack, AttackLink
from tests.report_fixture import RUN_ID, build_audit_db
from tests.test_release import published_cells

K = 11
EARLIER_RUN_ID = "run-20240520-0600"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def add_rule_strata(con: duckdb.DuckDBPyConnection) -> None:
    """audit.rule_strata as the decider derives it (decide/strata.sql): every run's counts by site, sex
    and age band at index, after this module changes the fixture's cohort and statuses."""
    con.execute("DELETE FROM audit.rule_strata")
    con.execute("""
        INSERT INTO audit.rule_strata BY NAME
        WITH patients AS (
            SELECT run_id, patient_id, 'site' AS stratum, coalesce(site_id, '(none)') AS value FROM audit.cohort
            UNION ALL SELECT run_id, patient_id, 'sex', sex FROM audit.cohort
            UNION ALL SELECT run_id, patient_id, 'age_band',
                CASE WHEN age_at_index < 65 THEN '18-64' WHEN age_at_index < 80 THEN '65-79' ELSE '80+' END
            FROM audit.cohort)
        SELECT pr.run_id, pr.rule_id, p.stratum, p.value,
            count(*) FILTER (WHERE pr.status <> 'not_applicable') AS denominator,
            count(*) FILTER (WHERE pr.status = 'excluded') AS exclusions,
            count(*) FILTER (WHERE pr.status = 'not_evaluable') AS not_evaluable,
            count(*) FILTER (WHERE pr.status = 'deviation') AS deviations
        FROM audit.patient_rules pr JOIN patients p USING (run_id, patient_id)
        GROUP BY ALL""")


def add_sibling_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The fixture with what strata, reason codes and trends read: patients of both sexes, reason codes,
    an earlier run on the same source."""
    con.execute("UPDATE audit.cohort SET sex = 'M', age_at_index = 50 WHERE run_id = ? AND patient_id::INT % 3 = 0",
                [RUN_ID])
    con.execute("UPDATE audit.deviations SET reason_code = CASE WHEN patient_id::INT % 2 = 0 THEN 'QUININE_STARTED'"
                " ELSE 'QUININE_ACTIVE_AT_INDEX' END WHERE run_id = ?", [RUN_ID])
    # An earlier run on the same source: this run's rows, with 8 more electrolyte deviations at NORTH.
    con.execute("INSERT INTO audit.runs SELECT * REPLACE (? AS run_id, ? AS started_at) FROM audit.runs"
                " WHERE run_id = ?", [EARLIER_RUN_ID, datetime(2024, 5, 20, 6, 0), RUN_ID])
    for table in ("rules", "cohort", "cohort_attrition", "patient_rules"):
        con.execute(f"INSERT INTO audit.{table} SELECT * REPLACE (? AS run_id) FROM audit.{table} WHERE run_id = ?",
                    [EARLIER_RUN_ID, RUN_ID])
    con.execute("UPDATE audit.patient_rules SET status = 'deviation' WHERE run_id = ? AND rule_id = 'LC-ELECTROLYTES'"
                " AND status = 'met' AND patient_id IN (SELECT patient_id FROM audit.cohort WHERE run_id = ?"
                " AND site_id = 'NORTH' ORDER BY patient_id DESC LIMIT 8)", [EARLIER_RUN_ID, EARLIER_RUN_ID])
    con.execute("INSERT INTO audit.rule_results (run_id, rule_id, denominator, exclusions, not_evaluable, deviations)"
                " SELECT run_id, rule_id, count(*) FILTER (WHERE status <> 'not_applicable'),"
                " count(*) FILTER (WHERE status = 'excluded'), count(*) FILTER (WHERE status = 'not_evaluable'),"
                " count(*) FILTER (WHERE status = 'deviation') FROM audit.patient_rules WHERE run_id = ?"
                " GROUP BY ALL", [EARLIER_RUN_ID])
    add_rule_strata(con)
    con.execute("CREATE OR REPLACE VIEW audit.rule_trend AS SELECT run_id, rule_id FROM audit.rule_results")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sections")
    con = build_audit_db(root / "cramp.duckdb")
    add_sibling_tables(con)
    write_reports(con, RUN_ID, root / "out", suppress_below=11)
    con.close()
    return root / "out" / RUN_ID


def test_every_stratum_of_rule_strata_is_published_and_the_site_slice_kept(reports: Path) -> None:
    strata = read_csv(reports / "rule_by_stratum.csv")
    sites = read_csv(reports / "rule_by_site.csv")

    assert {row["stratum"] for row in strata} == {"site", "sex", "age_band", "reason_code"}
    assert [(r["rule_id"], r["site_id"], r["denominator"]) for r in sites] == [
        (r["rule_id"], r["value"], r["denominator"]) for r in strata if r["stratum"] == "site"]
    quinine_reasons = {r["value"]: r["deviations"] for r in strata
                       if r["rule_id"] == "LC-QUININE" and r["stratum"] == "reason_code"}
    assert set(quinine_reasons) == {"QUININE_STARTED", "QUININE_ACTIVE_AT_INDEX", "(no deviation)"}
    assert {r["rank"] for r in strata if r["stratum"] == "reason_code"} == {""}  # reasons are not ranked


def test_no_suppressed_count_of_the_stratified_release_is_recovered(reports: Path) -> None:
    cells = published_cells(reports)
    con = duckdb.connect(str(reports.parent.parent / "cramp.duckdb"), read_only=True)
    links = [AttackLink(link.count, link.terms, link.rows) for link in build_release(con, RUN_ID, K).links]
    con.close()
    demographic = tuple(sorted({(r["stratum"], r["value"]) for r in read_csv(reports / "rule_by_stratum.csv")
                                if r["stratum"] != "reason_code"} | {("total", "(all)")}))

    # the two rules whose denominator is the cohort are equal in every patient stratum, and the attacker knows it
    assert AttackLink("denominator", {"LC-QUININE": 1, "LC-ELECTROLYTES": -1}, demographic) in links
    assert Attack(cells, K, links).recovered() == {}


def test_worklist_carries_the_reason_code(reports: Path) -> None:
    rows = read_csv(reports / "worklist_internal.csv")

    assert list(rows[0]) == ["patient_id", "rule_id", "severity", "event_date", "reason_code", "explanation", "change"]
    assert {r["reason_code"] for r in rows} == {"QUININE_STARTED", "QUININE_ACTIVE_AT_INDEX"}


def test_page_has_per_rule_sections_with_strata_reasons_and_trend(reports: Path) -> None:
    html = (reports / "report.html").read_text(encoding="utf-8")
    electrolytes = html[html.index('id="rule-LC-ELECTROLYTES"'):]
    electrolytes = electrolytes[:electrolytes.index("</article>")]

    for stratum in ("site", "sex", "age_band"):
        assert f'data-stratum="{stratum}"' in electrolytes
    assert "check basic electrolytes" in electrolytes  # the guideline sentence
    assert "Top reasons for a deviation" in electrolytes
    assert "trend-chart" in electrolytes and "<svg" in electrolytes
    # 24 of 52 before, 16 of 52 now: lower is better
    assert "Down 15.4 percentage points from 46.2 % at the previous run (2024-05-20 06:00:00) to 30.8 %: better." \
        in electrolytes
    quinine = html[html.index('id="rule-LC-QUININE"'):]
    quinine = quinine[:quinine.index("</article>")]
    assert "one of the two rates is not shown" in quinine  # this run's total deviations are withheld
    assert "23.1 %" not in quinine  # 12 of 52, withheld in both runs' reports: not in the trend either


def test_a_database_from_before_trends_and_reason_codes_gets_a_page_without_them(tmp_path: Path) -> None:
    con = build_audit_db(tmp_path / "cramp.duckdb")
    con.execute("DROP VIEW audit.rule_trend")
    con.execute("ALTER TABLE audit.deviations DROP COLUMN reason_code")
    write_reports(con, RUN_ID, tmp_path / "out", suppress_below=11)
    html = (tmp_path / "out" / RUN_ID / "report.html").read_text(encoding="utf-8")

    assert "trend-chart" not in html and "Top reasons" not in html
    assert 'data-stratum="site"' in html


def test_export_writes_the_measure_report_of_an_older_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cramp_audit.duckdb"
    con = build_audit_db(db)
    con.execute("""UPDATE audit.runs SET parameters = '{"suppress_below": 11, "min_denominator_for_rate": 20}'""")
    con.close()

    status = main(["export", RUN_ID, "--measure-report", "--db", str(db), "--reports", str(tmp_path / "reports")])

    path = tmp_path / "reports" / RUN_ID / "measure_reports.json"
    assert status == 0 and capsys.readouterr().out == f"measure report: {path}\n"
    assert [p.name for p in path.parent.iterdir()] == ["measure_reports.json"]
    bundle = Bundle.model_validate(json.loads(path.read_text(encoding="utf-8")))
    assert len(bundle.entry) == 5
    assert main(["export", "no-such-run", "--measure-report", "--db", str(db)]) == 2
    assert "no such run" in capsys.readouterr().err
