"""FHIR R4 MeasureReport of one run: `reports/<run_id>/measure_reports.json`, a Bundle (type
`collection`) of one summary MeasureReport per rule, with the run's strata and suppression.

Pure: built from frames and a dict of run facts, no database. `measure_report_bundle` builds the
Bundle as a JSON-ready dict, `measure_reports_json` serialises it, `write_measure_reports` writes it.

Identifiers this project defines (https://cramp-audit.example is a placeholder base a site replaces
with its own canonical base through `base_url`):
- Measure canonical: `<base>/Measure/<rule_id>`, with `|<rule_pack_version>` when the run has one
  (the rule is the measure; its version is the rule pack's).
- MeasureReport.identifier: system `<base>/fhir/NamingSystem/audit-run-rule`, value `<run_id>/<rule_id>`;
  Bundle.identifier: system `<base>/fhir/NamingSystem/audit-run`, value `<run_id>`. Resource ids are
  UUID 5 of those values, so a re-export of the same run gives the same ids.
- CodeSystem `<base>/fhir/CodeSystem/population`: `not-evaluable`, `evaluated` (see below).
- CodeSystem `<base>/fhir/CodeSystem/stratifier`: `site`, `sex`, `age_band`, `index_code_kind`, and
  `reason_code` (each deviating patient under their first reason code, the others `(no deviation)`).
- CodeSystem `<base>/fhir/CodeSystem/rule`: the rule ids (group.code).
- Extensions `<base>/fhir/StructureDefinition/...`:
  `extract-date` (valueDate, on MeasureReport: the latest date in the data, not the run date);
  `cell-suppression` (valueCode primary | secondary, on a population whose count is withheld);
  `subtracted-from-denominator` (valueBoolean, on the not-evaluable population);
  `score-interval` (valueRange, on measureScore: the Wilson 95 % score interval);
  `small-numbers` (valueBoolean, on measureScore: evaluated below min_denominator_for_rate, never rank).

Populations (rules.md "What every rule reports" -> FHIR measure-population codes):
    initial-population     = the rule's denominator (patients the guideline statement applies to;
                             the rule's population criteria have one inclusion step, so the initial
                             population and the denominator are the same set, as in eCQMs whose
                             denominator equals the initial population)
    denominator            = the rule's denominator
    denominator-exclusion  = exclusions
    not-evaluable          = not evaluable (own CodeSystem: R4's measure-population has no code for
                             "the data needed to judge is missing"; marked subtracted-from-denominator)
    evaluated              = denominator - exclusions - not evaluable (own CodeSystem; the count the
                             score is over)
    numerator              = deviations (so the score is a deviation rate: improvementNotation
                             `decrease`, lower is better)
    measureScore           = deviations / evaluated, rounded to 4 decimals; absent when the rate is not
                             shown: data-absent-reason `masked` when a count it is built on is suppressed,
                             `not-applicable` when nobody could be evaluated (never a 0 % score).
A suppressed count is omitted: the population keeps its code, `_count` carries the standard
data-absent-reason extension with `masked`, and `cell-suppression` says primary (1..k-1) or
secondary (a complement). The number itself appears nowhere in the file.

FHIR version: the JSON uses only R4 (4.0.1) elements of MeasureReport and Bundle. The tests validate
it with fhir.resources 8.3.0's R4B (4.3.0) models, because that package's R4 models (fhir.resources
<= 6.4.0) need pydantic 1 and this project runs pydantic 2 (Prefect 3). MeasureReport's elements are
the same in R4 and R4B (compared field by field between fhir.resources 6.4.0 R4 and 8.3.0 R4B).
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from cramp_audit.disclosure import PUBLISHED, TOTAL_STRATUM

MEASURE_REPORTS_JSON = "measure_reports.json"
DEFAULT_BASE_URL = "https://cramp-audit.example"
MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
IMPROVEMENT_NOTATION = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
STRATUM_ORDER = ("site", "sex", "age_band", "index_code_kind", "reason_code")
SCORE_DECIMALS = 4

# (system: None = HL7 measure-population, else this project's population CodeSystem), code, display, count
POPULATIONS = (
    (None, "initial-population", "Initial Population", "denominator"),
    (None, "denominator", "Denominator", "denominator"),
    (None, "denominator-exclusion", "Denominator Exclusion", "exclusions"),
    ("own", "not-evaluable", "Not evaluable", "not_evaluable"),
    ("own", "evaluated", "Evaluated", "evaluated"),
    (None, "numerator", "Numerator", "deviations"),
)


@dataclass(frozen=True)
class RunFacts:
    """What the MeasureReports say about the run (audit.runs)."""

    run_id: str
    period_start: date
    period_end: date
    generated_at: datetime  # MeasureReport.date and Bundle.timestamp: must carry a time zone
    extract_date: date | None = None
    rule_pack_version: str | None = None
    reporter: str | None = None  # display of the reporting organisation, when a site sets one
    base_url: str = DEFAULT_BASE_URL


def measure_report_bundle(
    release: pl.DataFrame,
    rules: pl.DataFrame,
    run: RunFacts,
    statistics: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The Bundle of one run as a JSON-ready dict.

    release: disclosure.release_table(): rule_id, stratum, value, the five COUNTS (null when
        suppressed), `<count>_status`, rate_shown; the rule totals are stratum "total".
    rules: rule_id, title, guideline_statement (audit.rules); one MeasureReport per row.
    statistics: optional rule_id, stratum, value, wilson_low, wilson_high, rate_kind
        (sql/decide/macros_statistics.sql), shown only where the rate is.
    """
    if run.generated_at.tzinfo is None:
        raise ValueError("RunFacts.generated_at needs a time zone (FHIR instant / dateTime)")
    rows = release
    if statistics is not None:
        rows = rows.join(
            statistics.select("rule_id", "stratum", "value", "wilson_low", "wilson_high", "rate_kind"),
            on=["rule_id", "stratum", "value"], how="left",
        )
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for row in rows.iter_rows(named=True):
        by_rule.setdefault(row["rule_id"], []).append(row)
    entries = []
    for rule in rules.sort("rule_id").iter_rows(named=True):
        rule_rows = by_rule.get(rule["rule_id"], [])
        if not any(row["stratum"] == TOTAL_STRATUM for row in rule_rows):
            raise ValueError(f"release: rule {rule['rule_id']} has no total row")
        report = measure_report(rule, rule_rows, run)
        entries.append({"fullUrl": f"urn:uuid:{report['id']}", "resource": report})
    return {
        "resourceType": "Bundle",
        "id": resource_id(run, run.run_id),
        "identifier": {"system": f"{run.base_url}/fhir/NamingSystem/audit-run", "value": run.run_id},
        "type": "collection",
        "timestamp": run.generated_at.isoformat(timespec="seconds"),
        "entry": entries,
    }


def measure_report(rule: Mapping[str, Any], rows: list[dict[str, Any]], run: RunFacts) -> dict[str, Any]:
    rule_id = rule["rule_id"]
    base = run.base_url
    total = next(row for row in rows if row["stratum"] == TOTAL_STRATUM)
    strata: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["stratum"] != TOTAL_STRATUM:
            strata.setdefault(row["stratum"], []).append(row)
    order = {name: i for i, name in enumerate(STRATUM_ORDER)}
    stratifiers = [
        {
            "code": [{"coding": [{"system": f"{base}/fhir/CodeSystem/stratifier", "code": name}], "text": name}],
            "stratum": [
                {"value": {"text": row["value"]}, "population": populations(row, base), **score(row, base)}
                for row in sorted(values, key=lambda r: (r["value"] == "(none)", r["value"]))
            ],
        }
        for name, values in sorted(strata.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    ]
    measure = f"{base}/Measure/{rule_id}" + (f"|{run.rule_pack_version}" if run.rule_pack_version else "")
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": resource_id(run, f"{run.run_id}/{rule_id}"),
        "text": {"status": "generated", "div": narrative(rule)},
        "identifier": [{"system": f"{base}/fhir/NamingSystem/audit-run-rule", "value": f"{run.run_id}/{rule_id}"}],
        "status": "complete",
        "type": "summary",
        "measure": measure,
        "date": run.generated_at.isoformat(timespec="seconds"),
        "period": {"start": run.period_start.isoformat(), "end": run.period_end.isoformat()},
        "improvementNotation": {"coding": [{"system": IMPROVEMENT_NOTATION, "code": "decrease",
                                            "display": "Decreased score indicates improvement"}]},
        "group": [{
            "code": {"coding": [{"system": f"{base}/fhir/CodeSystem/rule", "code": rule_id,
                                 "display": rule["title"]}], "text": rule["title"]},
            "population": populations(total, base),
            **score(total, base),
            **({"stratifier": stratifiers} if stratifiers else {}),
        }],
    }
    extensions = []
    if run.extract_date is not None:
        extensions.append({"url": f"{base}/fhir/StructureDefinition/extract-date",
                           "valueDate": run.extract_date.isoformat()})
    if extensions:
        report["extension"] = extensions
    if run.reporter:
        report["reporter"] = {"display": run.reporter}
    return report


def populations(row: Mapping[str, Any], base: str) -> list[dict[str, Any]]:
    """One row's populations: the count when published, else no count and the reason it is withheld."""
    out = []
    for system, code, display, count in POPULATIONS:
        own = system is not None
        population: dict[str, Any] = {
            "code": {"coding": [{"system": f"{base}/fhir/CodeSystem/population" if own else MEASURE_POPULATION,
                                 "code": code, "display": display}], "text": display},
        }
        extensions = []
        if code == "not-evaluable":
            extensions.append({"url": f"{base}/fhir/StructureDefinition/subtracted-from-denominator",
                               "valueBoolean": True})
        status = row[f"{count}_status"]
        if status == PUBLISHED:
            population["count"] = int(row[count])
        else:
            population["_count"] = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}
            extensions.append({"url": f"{base}/fhir/StructureDefinition/cell-suppression", "valueCode": status})
        if extensions:
            population["extension"] = extensions
        out.append(population)
    return out


def score(row: Mapping[str, Any], base: str) -> dict[str, Any]:
    """measureScore of a row: the rate where it is shown, else why there is none."""
    if not row["rate_shown"]:
        computable = row["evaluated_status"] != PUBLISHED or row["evaluated"] > 0
        reason = "masked" if computable else "not-applicable"
        return {"measureScore": {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": reason}]}}
    measure_score: dict[str, Any] = {"value": round(row["deviations"] / row["evaluated"], SCORE_DECIMALS)}
    extensions = []
    if row.get("wilson_low") is not None and row.get("wilson_high") is not None:
        extensions.append({
            "url": f"{base}/fhir/StructureDefinition/score-interval",
            "valueRange": {"low": {"value": round(row["wilson_low"], SCORE_DECIMALS)},
                           "high": {"value": round(row["wilson_high"], SCORE_DECIMALS)}},
        })
    if row.get("rate_kind") == "small":
        extensions.append({"url": f"{base}/fhir/StructureDefinition/small-numbers", "valueBoolean": True})
    if extensions:
        measure_score["extension"] = extensions
    return {"measureScore": measure_score}


def narrative(rule: Mapping[str, Any]) -> str:
    """The human-readable part: the rule and the guideline sentence it measures."""
    statement = rule.get("guideline_statement")
    parts = [f"<p><b>{html.escape(rule['rule_id'])}</b>: {html.escape(rule['title'])}</p>"]
    if statement:
        parts.append(f"<p>Guideline: {html.escape(statement)}</p>")
    return f'<div xmlns="http://www.w3.org/1999/xhtml">{"".join(parts)}</div>'


def resource_id(run: RunFacts, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run.base_url}/{name}"))


def measure_reports_json(bundle: Mapping[str, Any]) -> str:
    """The Bundle as FHIR JSON text: UTF-8, two-space indent, keys in the order built (stable)."""
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


def write_measure_reports(bundle: Mapping[str, Any], run_dir: Path) -> Path:
    """Write run_dir/measure_reports.json atomically (as the other report files are written)."""
    # Imported here: reports.py will import this module to write the file with the others.
    from cramp_audit.reports import replace_atomically

    text = measure_reports_json(bundle)
    return replace_atomically(Path(run_dir) / MEASURE_REPORTS_JSON, lambda tmp: tmp.write_text(text, "utf-8"))
