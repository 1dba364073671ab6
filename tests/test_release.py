"""Disclosure control over the whole release of a real run: an attacker who reads every published CSV of
the bundled sample and of a generated extract (tests/recovery_attack.py: subtraction, linear algebra,
bounds) recovers no suppressed count, and the page and measure_reports.json publish the same figures."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import polars as pl
import pytest
from cramp_audit.data_samples import generate
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport

from cramp_audit.db import connect
from cramp_audit.disclosure import PRIMARY, PUBLISHED, SECONDARY, TOTAL_STRATUM, TOTAL_VALUE
from cramp_audit.pipeline import AuditRequest, run_audit
from cramp_audit.release import build_release
from tests.recovery_attack import Attack, AttackLink
from tests.report_fixture import read_rule_table

SAMPLE = Path(__file__).resolve().parent.parent / "data_samples" / "sample"
K = 11
COUNTS = ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def cell(text: str) -> tuple[int | None, str]:
    """A published count cell: (number, status) as the attacker reads it."""
    if text == f"<{K}":
        return None, PRIMARY
    if text == "suppressed":
        return None, SECONDARY
    return int(text), PUBLISHED


def published_cells(run_dir: Path) -> pl.DataFrame:
    """Every count of the run's CSV files as (rule_id, stratum, value, count, n, status): rule totals,
    strata, and the cohort attrition steps as the release models them (one row per step and per removal)."""
    rows = []
    for row in read_csv(run_dir / "rule_summary.csv"):
        rows += [(row["rule_id"], TOTAL_STRATUM, TOTAL_VALUE, c, *cell(row[c])) for c in COUNTS]
    for row in read_csv(run_dir / "rule_by_stratum.csv"):
        rows += [(row["rule_id"], row["stratum"], row["value"], c, *cell(row[c])) for c in COUNTS]
    for row in read_csv(run_dir / "cohort_attrition.csv"):
        for name, column in ((f"(attrition {row['step_number']})", "patients"),
                             (f"(attrition {row['step_number']} removed)", "removed")):
            if row[column] == "":
                continue  # the first step removes nobody
            n, status = cell(row[column])
            rows += [(name, TOTAL_STRATUM, TOTAL_VALUE, c, n, status) for c in ("denominator", "evaluated")]
            rows += [(name, TOTAL_STRATUM, TOTAL_VALUE, c, 0, PUBLISHED)
                     for c in ("exclusions", "not_evaluable", "deviations")]
    return pl.DataFrame(rows, schema=["rule_id", "stratum", "value", "count", "n", "status"], orient="row")


def audited(source: Path, work: Path) -> tuple[Path, str]:
    summary = run_audit(AuditRequest(source=str(source), db_path=str(work / "cramp_audit.duckdb"),
                                     reports_dir=str(work / "reports")))
    return work, summary.run_id


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return audited(SAMPLE, tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def generated_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A larger extract where most counts are above 10, so suppression has to pick complements."""
    work = tmp_path_factory.mktemp("generated")
    assert generate.main(["--patients", "2500", "--seed", "13", "--history-years", "1", "--cramp-fraction", "0.25",
                          "--out", str(work / "extract")]) == 0
    return audited(work / "extract", work)


@pytest.fixture(params=["sample_run", "generated_run"])
def run(request: pytest.FixtureRequest) -> tuple[Path, str]:
    return request.getfixturevalue(request.param)


def attack_of(work: Path, run_id: str) -> tuple[Attack, pl.DataFrame]:
    cells = published_cells(work / "reports" / run_id)
    con = connect(work / "cramp_audit.duckdb", read_only=True)
    try:
        release = build_release(con, run_id, K)
    finally:
        con.close()
    # The attacker knows the rule definitions: every identity the protector assumed.
    links = [AttackLink(link.count, link.terms, link.rows) for link in release.links]
    return Attack(cells, K, links), cells


def test_no_suppressed_count_of_any_published_csv_is_recovered(run: tuple[Path, str]) -> None:
    attack, cells = attack_of(*run)

    assert cells.filter(pl.col("status") == PRIMARY).height > 0  # there is something to protect
    assert attack.recovered() == {}


def test_the_attack_would_recover_a_count_hidden_without_its_complements(run: tuple[Path, str]) -> None:
    """Negative control: publish every complement again and subtraction finds the small counts."""
    work, run_id = run
    cells = published_cells(work / "reports" / run_id)
    con = connect(work / "cramp_audit.duckdb", read_only=True)
    try:
        release = build_release(con, run_id, K)
    finally:
        con.close()
    truth = release.statuses.select("rule_id", "stratum", "value", "count", pl.col("n").alias("true_n"))
    primary_only = (
        cells.join(truth, on=["rule_id", "stratum", "value", "count"], how="left")
        .with_columns(
            pl.when(pl.col("status") == SECONDARY).then(pl.col("true_n")).otherwise(pl.col("n")).alias("n"),
            pl.when(pl.col("status") == SECONDARY).then(pl.lit(PUBLISHED)).otherwise(pl.col("status")).alias("status"))
        .drop("true_n")
    )
    links = [AttackLink(link.count, link.terms, link.rows) for link in release.links]

    assert cells.filter(pl.col("status") == SECONDARY).height > 0
    assert Attack(primary_only, K, links).recovered()


def test_csv_page_and_measure_report_publish_the_same_counts(run: tuple[Path, str]) -> None:
    work, run_id = run
    run_dir = work / "reports" / run_id
    summary = {row["rule_id"]: row for row in read_csv(run_dir / "rule_summary.csv")}
    page = read_rule_table((run_dir / "report.html").read_text(encoding="utf-8"))
    bundle = json.loads((run_dir / "measure_reports.json").read_text(encoding="utf-8"))

    Bundle.model_validate(bundle)
    codes = {"denominator": "denominator", "denominator-exclusion": "exclusions", "not-evaluable": "not_evaluable",
             "evaluated": "evaluated", "numerator": "deviations"}
    for entry in bundle["entry"]:
        report = entry["resource"]
        MeasureReport.model_validate(report)
        rule_id = report["group"][0]["code"]["coding"][0]["code"]
        row = summary[rule_id]
        for population in report["group"][0]["population"]:
            column = codes.get(population["code"]["coding"][0]["code"])
            if column is None:
                continue
            if "count" in population:
                assert str(population["count"]) == row[column] == page[rule_id][column], (rule_id, column)
            else:
                assert not row[column].isdigit(), (rule_id, column)  # withheld in the CSV too
        score = report["group"][0]["measureScore"]
        if row["deviation_rate_percent"]:
            assert round(score["value"] * 100, 1) == float(row["deviation_rate_percent"])
        else:
            assert "value" not in score
    assert sorted(summary) == sorted(page)


def test_the_page_shows_no_count_the_csv_files_withhold(sample_run: tuple[Path, str]) -> None:
    work, run_id = sample_run
    run_dir = work / "reports" / run_id
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    con = connect(work / "cramp_audit.duckdb", read_only=True)
    try:
        release = build_release(con, run_id, K)
        attrition = con.sql("SELECT step, patients FROM audit.cohort_attrition WHERE run_id = $r",
                            params={"r": run_id}).pl()
    finally:
        con.close()
    # each rule's withheld total deviations: its true number appears nowhere next to the rule
    withheld = release.totals().filter(pl.col("deviations_status") != PUBLISHED)["rule_id"].to_list()
    truth = dict(release.statuses.filter((pl.col("stratum") == TOTAL_STRATUM) & (pl.col("count") == "deviations"))
                 .select("rule_id", "n").iter_rows())
    for rule_id in withheld:
        section = html[html.index(f'id="rule-{rule_id}"'):]
        section = section[:section.index("</article>")]
        assert not re.search(rf">\s*{truth[rule_id]} of ", section), rule_id
    shown_steps = {row["step"]: row["patients"] for row in read_csv(run_dir / "cohort_attrition.csv")}
    for step, patients in attrition.iter_rows():
        if not shown_steps[step].isdigit():
            assert f'<td class="num">{patients}</td>' not in html, step


def test_the_age_band_identity_of_the_elderly_rule_is_assumed_known(generated_run: tuple[Path, str]) -> None:
    work, run_id = generated_run
    con = connect(work / "cramp_audit.duckdb", read_only=True)
    try:
        links = build_release(con, run_id, K).links
    finally:
        con.close()

    assert any(set(link.terms) == {"LC-NSAID-ELDERLY", "LC-QUININE"}
               and link.rows == (("age_band", "65-79"), ("age_band", "80+")) for link in links)
    assert {row["stratum"] for row in read_csv(work / "reports" / run_id / "rule_by_stratum.csv")} == {
        "site", "sex", "age_band", "index_code_kind", "reason_code"}
