"""measure_reports.json: a FHIR Bundle of one summary MeasureReport per rule that validates against the
fhir.resources models, carries the strata, and withholds every suppressed count."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import duckdb
import polars as pl
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport

from cramp_audit.db import sql_text
from cramp_audit.disclosure import PUBLISHED, release_cells, release_table, suppress
from cramp_audit.measure_report import (
    DATA_ABSENT_REASON,
    MEASURE_POPULATION,
    RunFacts,
    measure_report_bundle,
    measure_reports_json,
    write_measure_reports,
)

K = 11
BASE = "https://cramp-audit.example"
COLUMNS = ["denominator", "exclusions", "not_evaluable", "deviations"]
RUN = RunFacts(
    run_id="run-20240603-0600",
    period_start=date(2023, 6, 4),
    period_end=date(2024, 6, 2),
    generated_at=datetime(2024, 6, 3, 6, 0, 12, tzinfo=UTC),
    extract_date=date(2024, 6, 2),
    rule_pack_version="2",
)
RULES = pl.DataFrame({
    "rule_id": ["LC-MG-DOSE", "LC-QUININE", "LC-RLS-CONFUSION"],
    "title": ["Magnesium oxide dose outside 12-24 mmol/day", "Quinine prescribed",
              "Dopaminergic treatment without restless legs"],
    "guideline_statement": ["magnesium oxide 12-24 mmol daily (approximately 480-960 mg) given at night",
                            "Avoid quinine despite historical use", "Do not confuse leg cramps with <RLS> & co"],
})
TOTALS = [
    ("LC-QUININE", 120, 0, 0, 30),
    ("LC-MG-DOSE", 120, 14, 9, 50),
    ("LC-RLS-CONFUSION", 6, 6, 0, 0),  # everyone excluded: no rate, never 0 %
]
STRATA = [
    ("LC-QUININE", "site", "S01", 49, 0, 0, 3), ("LC-QUININE", "site", "S02", 40, 0, 0, 12),
    ("LC-QUININE", "site", "S03", 31, 0, 0, 15),
    ("LC-QUININE", "sex", "F", 60, 0, 0, 15), ("LC-QUININE", "sex", "M", 60, 0, 0, 15),
    ("LC-MG-DOSE", "site", "S01", 49, 12, 3, 26), ("LC-MG-DOSE", "site", "S02", 40, 0, 4, 14),
    ("LC-MG-DOSE", "site", "S03", 31, 2, 2, 10),
    ("LC-MG-DOSE", "sex", "F", 70, 7, 5, 30), ("LC-MG-DOSE", "sex", "M", 50, 7, 4, 20),
    ("LC-RLS-CONFUSION", "site", "S01", 6, 6, 0, 0), ("LC-RLS-CONFUSION", "site", "S02", 0, 0, 0, 0),
    ("LC-RLS-CONFUSION", "site", "S03", 0, 0, 0, 0),
    ("LC-RLS-CONFUSION", "sex", "F", 6, 6, 0, 0), ("LC-RLS-CONFUSION", "sex", "M", 0, 0, 0, 0),
]


def statistics_for(table: pl.DataFrame) -> pl.DataFrame:
    """The interval and rate kind from sql/decide/macros_statistics.sql, as the decider will compute them."""
    con = duckdb.connect()
    con.execute(sql_text("decide/macros_statistics.sql"))
    counts = release_cells_wide()  # every count, suppressed or not: the decider has them all
    con.register("counts", counts.to_arrow())
    stats = con.sql(
        """SELECT rule_id, stratum, value, wilson_low(deviations, evaluated) AS wilson_low,
                  wilson_high(deviations, evaluated) AS wilson_high,
                  rate_kind(denominator, evaluated, 20) AS rate_kind
           FROM counts"""
    ).pl()
    con.close()
    return stats


def release_cells_wide() -> pl.DataFrame:
    return release_cells(*frames()).pivot(on="count", index=["rule_id", "stratum", "value"], values="n")


def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return (pl.DataFrame(TOTALS, schema=["rule_id", *COLUMNS], orient="row"),
            pl.DataFrame(STRATA, schema=["rule_id", "stratum", "value", *COLUMNS], orient="row"))


@pytest.fixture(scope="module")
def statuses() -> pl.DataFrame:
    return suppress(release_cells(*frames()), K)


@pytest.fixture(scope="module")
def bundle(statuses) -> dict:
    table = release_table(statuses)
    return measure_report_bundle(table, RULES, RUN, statistics_for(table))


def report_of(bundle: dict, rule_id: str) -> dict:
    (report,) = [e["resource"] for e in bundle["entry"] if e["resource"]["group"][0]["code"]["coding"][0]["code"]
                 == rule_id]
    return report


def population(populations: list[dict], code: str) -> dict:
    (found,) = [p for p in populations if p["code"]["coding"][0]["code"] == code]
    return found


def stratum(report: dict, stratifier: str, value: str) -> dict:
    (found,) = [s for st in report["group"][0]["stratifier"] if st["code"][0]["text"] == stratifier
                for s in st["stratum"] if s["value"]["text"] == value]
    return found


def test_the_bundle_validates_against_the_fhir_models(bundle):
    parsed = Bundle.model_validate(json.loads(measure_reports_json(bundle)))
    assert parsed.type == "collection"
    for entry in bundle["entry"]:
        MeasureReport.model_validate(entry["resource"])


def test_the_validation_is_not_toothless(bundle):
    broken = json.loads(measure_reports_json(bundle))
    broken["entry"][0]["resource"]["group"][0]["population"][0]["count"] = "49 patients"
    with pytest.raises(ValueError):
        Bundle.model_validate(broken)


def test_one_summary_report_per_rule_with_the_run_facts(bundle):
    reports = [e["resource"] for e in bundle["entry"]]
    assert [r["measure"] for r in reports] == [f"{BASE}/Measure/{rule_id}|2" for rule_id in sorted(RULES["rule_id"])]
    for report in reports:
        # required codes of R4's value sets: fhir.resources checks types, not code values
        assert (report["status"], report["type"]) == ("complete", "summary")
        assert report["period"] == {"start": "2023-06-04", "end": "2024-06-02"}
        assert report["date"] == "2024-06-03T06:00:12+00:00"
        assert report["improvementNotation"]["coding"][0]["code"] == "decrease"
        assert report["extension"] == [{"url": f"{BASE}/fhir/StructureDefinition/extract-date",
                                        "valueDate": "2024-06-02"}]
        assert report["identifier"][0]["value"].startswith("run-20240603-0600/")
    assert len({e["fullUrl"] for e in bundle["entry"]}) == 3
    assert "&lt;RLS&gt; &amp; co" in report_of(bundle, "LC-RLS-CONFUSION")["text"]["div"]


def test_populations_map_the_rule_counts(bundle):
    group = report_of(bundle, "LC-QUININE")["group"][0]
    counts = {p["code"]["coding"][0]["code"]: p.get("count") for p in group["population"]}
    assert counts == {"initial-population": 120, "denominator": 120, "denominator-exclusion": 0,
                      "not-evaluable": 0, "evaluated": 120, "numerator": 30}
    systems = {p["code"]["coding"][0]["code"]: p["code"]["coding"][0]["system"] for p in group["population"]}
    assert systems["numerator"] == MEASURE_POPULATION
    assert systems["not-evaluable"] == f"{BASE}/fhir/CodeSystem/population"
    assert population(group["population"], "not-evaluable")["extension"] == [
        {"url": f"{BASE}/fhir/StructureDefinition/subtracted-from-denominator", "valueBoolean": True}]
    assert group["measureScore"]["value"] == 0.25
    (interval,) = [e for e in group["measureScore"]["extension"] if e["url"].endswith("/score-interval")]
    assert interval["valueRange"]["low"]["value"] < 0.25 < interval["valueRange"]["high"]["value"]


def test_stratifiers_carry_every_stratum_value(bundle):
    report = report_of(bundle, "LC-MG-DOSE")
    stratifiers = report["group"][0]["stratifier"]
    assert [s["code"][0]["text"] for s in stratifiers] == ["site", "sex"]
    assert [s["value"]["text"] for s in stratifiers[0]["stratum"]] == ["S01", "S02", "S03"]
    s01 = stratum(report, "site", "S01")
    # S01: 49 patients, 26 deviations, a small not_evaluable: the rate stays (disclosure.py)
    assert population(s01["population"], "denominator")["count"] == 49
    assert population(s01["population"], "numerator")["count"] == 26
    assert s01["measureScore"]["value"] == round(26 / 34, 4)


def test_a_suppressed_count_is_withheld_and_marked(bundle, statuses):
    report = report_of(bundle, "LC-QUININE")
    s01 = stratum(report, "site", "S01")
    numerator = population(s01["population"], "numerator")
    assert "count" not in numerator
    assert numerator["_count"] == {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}
    assert {"url": f"{BASE}/fhir/StructureDefinition/cell-suppression", "valueCode": "primary"} in numerator[
        "extension"]
    assert s01["measureScore"] == {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}
    # Every suppressed cell of the release, and only those, is withheld in the file.
    withheld = set()
    for entry in bundle["entry"]:
        rule_id = entry["resource"]["group"][0]["code"]["coding"][0]["code"]
        group = entry["resource"]["group"][0]
        rows = [("total", "(all)", group)] + [
            (st["code"][0]["text"], s["value"]["text"], s) for st in group.get("stratifier", []) for s in st["stratum"]]
        for stratum_name, value, row in rows:
            for p in row["population"]:
                if "count" not in p:
                    withheld.add((rule_id, stratum_name, value, p["code"]["coding"][0]["code"]))
    code = {"denominator": "denominator", "exclusions": "denominator-exclusion", "not_evaluable": "not-evaluable",
            "evaluated": "evaluated", "deviations": "numerator"}
    suppressed = statuses.filter(pl.col("status") != PUBLISHED).select("rule_id", "stratum", "value", "count")
    expected = {(r, s, v, code[c]) for r, s, v, c in suppressed.iter_rows()}
    expected |= {(r, s, v, "initial-population") for r, s, v, c in expected if c == "denominator"}
    assert withheld == expected and withheld


def test_nobody_evaluated_is_no_score_rather_than_zero(bundle):
    group = report_of(bundle, "LC-RLS-CONFUSION")["group"][0]
    assert group["measureScore"] == {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "not-applicable"}]}
    assert population(group["population"], "evaluated")["count"] == 0


def test_a_rate_on_a_small_denominator_is_marked_small_numbers():
    totals = pl.DataFrame([("LC-QUININE", 15, 0, 0, 0)], schema=["rule_id", *COLUMNS], orient="row")
    strata = pl.DataFrame([("LC-QUININE", "sex", "F", 15, 0, 0, 0)],
                          schema=["rule_id", "stratum", "value", *COLUMNS], orient="row")
    table = release_table(suppress(release_cells(totals, strata), K))
    stats = table.select("rule_id", "stratum", "value", wilson_low=pl.lit(0.0), wilson_high=pl.lit(0.2),
                         rate_kind=pl.lit("small"))
    group = measure_report_bundle(table, RULES.filter(pl.col("rule_id") == "LC-QUININE"), RUN, stats)[
        "entry"][0]["resource"]["group"][0]
    assert group["measureScore"]["value"] == 0.0
    assert {"url": f"{BASE}/fhir/StructureDefinition/small-numbers", "valueBoolean": True} in group[
        "measureScore"]["extension"]


def test_the_file_is_written_whole_and_the_same_every_time(bundle, statuses, tmp_path):
    path = write_measure_reports(bundle, tmp_path)
    assert path.name == "measure_reports.json"
    assert json.loads(path.read_text("utf-8")) == bundle
    table = release_table(statuses)
    again = measure_report_bundle(table, RULES, RUN, statistics_for(table))
    assert measure_reports_json(again) == path.read_text("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["measure_reports.json"]


def test_a_time_without_zone_is_refused(statuses):
    naive = RunFacts(run_id="r", period_start=date(2024, 1, 1), period_end=date(2024, 12, 31),
                     generated_at=datetime(2024, 6, 3, 6, 0))
    with pytest.raises(ValueError, match="time zone"):
        measure_report_bundle(release_table(statuses), RULES, naive)
