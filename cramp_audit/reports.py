"""Committee reports of one audit run: CSV files, a self-contained report.html and the FHIR
MeasureReport bundle.

`write_reports(con, run_id, out_dir, suppress_below)` reads the run's rows of audit.* (sql/schema/audit.sql) through the
queries in sql/reports/*.sql and writes `out_dir/<run_id>/`. Every count any of these files shows
comes from one disclosure-controlled release (cramp_audit/release.py): primary suppression of 1 ..
suppress_below - 1, written "<{suppress_below}", and complementary suppression, written
"suppressed" (a count that is not small but would give a small one away by subtraction from a
total, another stratum, the attrition steps or a rule with the same denominator). A rate and its
interval are empty exactly when a count they are built on is withheld.

rule_summary.csv
    One row per rule: rule_id, title, severity, denominator, exclusions, not_evaluable, evaluated,
    deviations, deviation_rate_percent, ci_low_percent, ci_high_percent, rate_note,
    guideline_statement. deviation_rate_percent = 100 x deviations / evaluated rounded to one decimal
    (the page shows the same number, "66.7 %"); ci_*: the Wilson 95 % interval; rate_note says why a
    rate is empty ("no patients", "not evaluable" -- never 0 % --, "suppressed") or that it rests on
    fewer than min_denominator_for_rate evaluated patients ("small numbers": never ranked).
    Lower is better: the rate is the share of evaluated patients whose care deviated.
rule_by_stratum.csv
    The same per rule x stratum value (audit.rule_strata's strata: site, sex, age_band,
    index_code_kind; plus reason_code when audit.deviations has reason codes): rule_id, stratum, value,
    the counts and rate columns, rank (1 = lowest rate among the stratum's ranked values).
rule_by_site.csv
    The site slice of rule_by_stratum.csv: rule_id, site_id, then the same columns (no site ->
    "(none)").
cohort_attrition.csv
    step_number, step, patients (left after the step), removed (by the step), suppressed as above.
worklist_internal.csv
    INTERNAL, patient-level, never to leave the organisation (the file name says so): one row per
    deviation event: patient_id, rule_id, severity, event_date, the reason code and ids when the
    database has them, explanation. The evidence JSON stays in audit.deviations.
data_quality.csv
    One table, two kinds of row told apart by the first column, `kind`:
      kind = "counts": one row per source table (audit.table_counts), filling
                       table_name, source_table, rows_read, rows_loaded, rows_rejected,
                       rows_repaired, rows_skipped, skip_reason;
      kind = "check":  one row per failed check (audit.data_quality, passed = false), filling
                       table_name, check_name, rows_checked, rows_failed; the check failed by an
                       optional table without usable rows ("table:has_usable_rows") also fills
                       rules_not_evaluable: the rules that need that table, comma separated;
                       meaning: what the check means (schemas/checks.csv).
    Counts of source rows, not of patients: not suppressed.
measure_reports.json
    FHIR R4 Bundle of one summary MeasureReport per rule (cramp_audit/measure_report.py), same
    release.
report.html
    For a quality committee, results first: what was audited (or, plainly, that nothing was), the
    rule summary with intervals and a chart, per rule its guideline sentence, rate, trend (when the
    database has audit.rule_trend), strata and top reason codes; the rule x site chart; cohort
    attrition; data quality; run provenance and parameters last. Self-contained: inline CSS, charts
    as inline SVG rendered here by vl-convert, no script, no network. No patient identifiers.

CSV conventions: UTF-8 *with* a byte-order mark, because Excel opens a BOM-less CSV in the local
ANSI code page and garbles "—", "é" and the like in titles and explanations; polars, pandas, DuckDB
and R's readr skip the BOM, and Python's csv module reads it with encoding="utf-8-sig". Comma
separated, header row, "\\n" line ends, RFC 4180 quoting, ISO 8601 dates, an empty cell means no
value. Spreadsheet caveat: Excel drops leading zeros of numeric-looking patient ids unless the
column is imported as text.

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with "=", "+", "-",
"@", a tab or a carriage return as a formula, and ids, descriptions and explanations come from the
extract. Every *text* cell that starts with one of them is written with an apostrophe in front
(`=HYPERLINK(...)` -> `'=HYPERLINK(...)`), whatever follows, as OWASP says: a text "-5" becomes
"'-5" too, since telling a harmless number from `-2+3+cmd|...` is what the rule avoids. Numeric
columns (rates, table counts) are numbers, not text, and stay as they are (-3 stays -3); the count
columns of the release are text (they can hold "<11") but never start with one of the characters.
audit.* keeps every value as the extract had it; only the CSV cells carry the apostrophe.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import polars as pl
import vl_convert
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from cramp_audit.db import sql_text
from cramp_audit.disclosure import PRIMARY, PUBLISHED, TOTAL_STRATUM
from cramp_audit.measure_report import MEASURE_REPORTS_JSON, RunFacts, measure_report_bundle, measure_reports_json
from cramp_audit.release import ATTRITION_PREFIX, DEFAULT_MIN_DENOMINATOR, Release, audit_columns, build_release
from cramp_audit.schemas.checks import CHECKS_FILE
from cramp_audit.schemas.spec import USABLE_ROWS_CHECK
from cramp_audit.schemas.vocabularies import severity_colours, severity_names

NO_RATE = "—"  # shown where a rate is empty (nothing to evaluate, or suppressed)
SUPPRESSED = "suppressed"  # a complementary (secondary) suppression: not small, but would reveal one
COUNT_COLUMNS = ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations")
RATE_COLUMNS = ("deviation_rate_percent", "ci_low_percent", "ci_high_percent", "rate_note")
TABLE_COUNT_COLUMNS = ("rows_read", "rows_loaded", "rows_rejected", "rows_repaired", "rows_skipped")
SEVERITY_COLOURS = severity_colours()  # schemas/severities.csv, as the page's badges
PERCENT_DECIMALS = 1
TOP_REASONS = 3
TREND_RUNS = 12  # points in a trend chart: the latest runs on the source
NO_DEVIATION = "(no deviation)"  # the reason-code stratum's other patients: in the CSV, not a top reason

RULE_SUMMARY_CSV = "rule_summary.csv"
RULE_BY_STRATUM_CSV = "rule_by_stratum.csv"
RULE_BY_SITE_CSV = "rule_by_site.csv"
COHORT_ATTRITION_CSV = "cohort_attrition.csv"
WORKLIST_CSV = "worklist_internal.csv"  # patient-level: the name says it is not for release
DATA_QUALITY_CSV = "data_quality.csv"
REPORT_HTML = "report.html"
# Worklist columns in this order, each when audit.deviations has it (reason_code and the ids come
# with the reason-code rules; older databases lack them).
WORKLIST_COLUMNS = ("patient_id", "rule_id", "severity", "event_date", "reason_code", "site_id",
                    "encounter_id", "order_id", "explanation", "change")


@dataclass(frozen=True)
class ReportData:
    """Everything the reports show, read once so the CSV files, the page and the MeasureReport
    cannot disagree."""

    run: dict[str, Any]
    rules: pl.DataFrame  # audit.rules of the run: rule_id, title, severity, guideline_statement
    release: Release
    attrition: pl.DataFrame  # step_number, step, patients, removed (suppressed as text)
    rule_summary: pl.DataFrame
    rule_by_stratum: pl.DataFrame
    rule_by_site: pl.DataFrame
    worklist: pl.DataFrame
    data_quality: pl.DataFrame
    data_quality_totals: dict[str, Any]
    trend: pl.DataFrame | None  # rule_id, run_id, started_at, rate_percent (None when not shown)

    def csv_frames(self) -> dict[str, pl.DataFrame]:
        return {
            RULE_SUMMARY_CSV: self.rule_summary,
            RULE_BY_STRATUM_CSV: self.rule_by_stratum,
            RULE_BY_SITE_CSV: self.rule_by_site,
            COHORT_ATTRITION_CSV: self.attrition,
            WORKLIST_CSV: self.worklist,
            DATA_QUALITY_CSV: self.data_quality,
        }


def write_reports(
    con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path, *, suppress_below: int,
    min_denominator: int | None = None,
) -> list[Path]:
    """Write the run's reports into out_dir/<run_id>/; return their paths. suppress_below: the run's
    own (ledger.recorded_suppress_below), never a default of this module. min_denominator: the run's
    recorded [reports] min_denominator_for_rate when None."""
    check_suppress_below(suppress_below)
    run_dir = report_dir(Path(out_dir), run_id)
    data = read_report_data(con, run_id, suppress_below, min_denominator)
    # Render before writing anything, so a failing chart or template leaves no half-written set.
    html = render_report_html(data, suppress_below)
    bundle = measure_reports_json(report_bundle(data))
    run_dir.mkdir(parents=True, exist_ok=True)
    paths = [write_csv(frame, run_dir / name) for name, frame in data.csv_frames().items()]
    paths.append(replace_atomically(run_dir / MEASURE_REPORTS_JSON, lambda tmp: tmp.write_text(bundle, "utf-8")))
    paths.append(replace_atomically(run_dir / REPORT_HTML, lambda tmp: tmp.write_text(html, "utf-8")))
    return paths


def write_measure_report_file(
    con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path, suppress_below: int,
    min_denominator: int | None = None,
) -> Path:
    """Only out_dir/<run_id>/measure_reports.json (`cramp-audit export RUN_ID --measure-report`)."""
    check_suppress_below(suppress_below)
    run_dir = report_dir(Path(out_dir), run_id)
    text = measure_reports_json(report_bundle(read_report_data(con, run_id, suppress_below, min_denominator)))
    run_dir.mkdir(parents=True, exist_ok=True)
    return replace_atomically(run_dir / MEASURE_REPORTS_JSON, lambda tmp: tmp.write_text(text, "utf-8"))


def check_suppress_below(suppress_below: object) -> None:
    if isinstance(suppress_below, bool) or not isinstance(suppress_below, int) or suppress_below < 1:
        raise ValueError(f"suppress_below must be a whole number >= 1, got {suppress_below!r}")


def report_dir(out_dir: Path, run_id: str) -> Path:
    # run_id becomes a folder name: refuse anything that would land outside out_dir.
    if not run_id or run_id in {".", ".."} or Path(run_id).name != run_id or "\\" in run_id:
        raise ValueError(f"run id {run_id!r} cannot be used as a folder name")
    return out_dir / run_id


# --- reading -----------------------------------------------------------------------------------


def query_report(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> pl.DataFrame:
    """Run sql/reports/<name>.sql with its $-named parameters and return the rows as polars."""
    return con.sql(sql_text(f"reports/{name}.sql"), params=params).pl()


def recorded_min_denominator(run: Mapping[str, Any]) -> int:
    """[reports] min_denominator_for_rate as the run recorded it (flat or under "reports"); the default
    for a run recorded before the parameter existed."""
    try:
        parameters = json.loads(run["parameters"] or "{}")
    except json.JSONDecodeError:
        return DEFAULT_MIN_DENOMINATOR
    name = "min_denominator_for_rate"
    value = parameters.get(name, (parameters.get("reports") or {}).get(name))
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else DEFAULT_MIN_DENOMINATOR


def read_report_data(
    con: duckdb.DuckDBPyConnection, run_id: str, suppress_below: int, min_denominator: int | None = None
) -> ReportData:
    runs = query_report(con, "run", run_id=run_id)
    if runs.height != 1:
        raise ValueError(f"run {run_id!r} is not in audit.runs")
    run = runs.row(0, named=True)
    if min_denominator is None:
        min_denominator = recorded_min_denominator(run)
    release = build_release(con, run_id, suppress_below, min_denominator)
    rules = query_report(con, "rule_summary", run_id=run_id).select("rule_id", "title", "severity",
                                                                    "guideline_statement")
    # Patients without a site (or sex, ...) after the named values, as the breakdowns always listed them.
    shown = release_frame(release, suppress_below).sort(
        pl.col("stratum") != TOTAL_STRATUM, "rule_id", "stratum", pl.col("value") == "(none)", "value")
    totals = shown.filter(pl.col("stratum") == TOTAL_STRATUM)
    strata = shown.filter(pl.col("stratum") != TOTAL_STRATUM)
    rule_summary = rules.join(totals.drop("stratum", "value", "rank"), on="rule_id", how="left").select(
        "rule_id", "title", "severity", *COUNT_COLUMNS, *RATE_COLUMNS, "guideline_statement")
    rule_by_stratum = strata
    sites = strata.filter(pl.col("stratum") == "site").rename({"value": "site_id"}).drop("stratum")
    steps = query_report(con, "cohort_attrition", run_id=run_id).select("step_number", "step")
    attrition = steps.join(
        attrition_as_text(release, suppress_below),
        on="step_number", how="left")
    return ReportData(
        run=run,
        rules=rules,
        release=release,
        attrition=attrition,
        rule_summary=rule_summary,
        rule_by_stratum=rule_by_stratum,
        rule_by_site=sites,
        worklist=read_worklist(con, run_id),
        data_quality=query_report(con, "data_quality", run_id=run_id, usable_rows_check=USABLE_ROWS_CHECK,
                                  checks_catalogue=str(CHECKS_FILE)),
        data_quality_totals=query_report(con, "data_quality_totals", run_id=run_id).row(0, named=True),
        trend=read_trend(con, run_id, release, suppress_below),
    )


def release_frame(release: Release, suppress_below: int) -> pl.DataFrame:
    """The release of the real rules as the files show it: counts as text ("<11", "suppressed"),
    the rate and interval as rounded percentages, the note and the rank."""
    table = release.rules()
    shown = table.with_columns(
        *(count_text(c, suppress_below) for c in COUNT_COLUMNS),
        percent("deviation_rate").alias("deviation_rate_percent"),
        percent("wilson_low").alias("ci_low_percent"),
        percent("wilson_high").alias("ci_high_percent"),
    )
    return shown.select("rule_id", "stratum", "value", *COUNT_COLUMNS, *RATE_COLUMNS, "rank")


def count_text(column: str, suppress_below: int, status: str | None = None) -> pl.Expr:
    status_col = pl.col(status or f"{column}_status")
    return (
        pl.when(status_col == PUBLISHED).then(pl.col(column).cast(pl.String))
        .when(status_col == PRIMARY).then(pl.lit(f"<{suppress_below}"))
        .otherwise(pl.lit(SUPPRESSED))
        .alias(column)
    )


def attrition_as_text(release: Release, suppress_below: int) -> pl.DataFrame:
    """step_number, patients, removed: the attrition cells of the release as text ("<11", "suppressed";
    empty where a step removes nobody by definition: the first)."""
    columns = ("patients", "removed")
    frame = release.attrition()
    cells = release.statuses.filter((pl.col("stratum") == TOTAL_STRATUM) & (pl.col("count") == "denominator"))
    status = dict(zip(cells["rule_id"].to_list(), cells["status"].to_list(), strict=True))
    step = frame["step_number"].to_list()
    out = frame.with_columns(
        pl.Series("patients_status", [status.get(f"{ATTRITION_PREFIX}{n})", PUBLISHED) for n in step]),
        pl.Series("removed_status", [status.get(f"{ATTRITION_PREFIX}{n} removed)", PUBLISHED) for n in step]),
    )
    return out.with_columns(
        pl.when(pl.col(c).is_null() & (pl.col(f"{c}_status") == PUBLISHED)).then(pl.lit(None, pl.String))
        .otherwise(count_text(c, suppress_below, f"{c}_status")).alias(c)
        for c in columns
    ).select("step_number", *columns)


def percent(column: str) -> pl.Expr:
    """A fraction as a percentage rounded to one decimal: the one rate format of every file."""
    return (pl.col(column) * 100).round(PERCENT_DECIMALS)


def read_worklist(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    rows = query_report(con, "worklist", run_id=run_id, severities=severity_names())
    return rows.select([c for c in WORKLIST_COLUMNS if c in rows.columns])


def read_trend(
    con: duckdb.DuckDBPyConnection, run_id: str, release: Release, suppress_below: int
) -> pl.DataFrame | None:
    """Each rule's rate over the last TREND_RUNS runs of audit.rule_trend, oldest first; None without
    that view. Each point is the rate that run's own release shows (its recorded suppress_below, its
    complements), so the trend publishes no rate an earlier report withheld."""
    if not audit_columns(con, "rule_trend"):
        return None
    rows = query_report(con, "rule_trend", run_id=run_id)
    runs = rows.select("run_id", "started_at").unique().sort("started_at", "run_id").tail(TREND_RUNS)
    rates = [release.totals().select("rule_id", pl.lit(run_id).alias("run_id"), pl.col("deviation_rate"))]
    for past in runs["run_id"].to_list():
        if past != run_id:
            rates.append(past_rates(con, past, suppress_below, release.min_denominator))
    return (
        rows.join(runs, on=["run_id", "started_at"], how="semi")
        .join(pl.concat(rates), on=["rule_id", "run_id"], how="left")
        .with_columns(percent("deviation_rate").alias("rate_percent"))
        .sort("rule_id", "started_at", "run_id")
        .select("rule_id", "run_id", "started_at", "rate_percent")
    )


def past_rates(con: duckdb.DuckDBPyConnection, run_id: str, suppress_below: int, min_denominator: int) -> pl.DataFrame:
    """rule_id, run_id, deviation_rate of an earlier run's own release (null where it withheld the rate,
    and for every rule when its rows do not make a consistent release)."""
    recorded = con.execute(sql_text("ledger/run_suppress_below.sql"), {"run_id": run_id}).fetchall()
    if recorded and recorded[0][1] is not None:
        suppress_below = int(recorded[0][1])
    try:
        totals = build_release(con, run_id, suppress_below, min_denominator).totals()
    except ValueError:
        return pl.DataFrame(schema={"rule_id": pl.String, "run_id": pl.String, "deviation_rate": pl.Float64})
    return totals.select("rule_id", pl.lit(run_id).alias("run_id"), "deviation_rate")


def report_bundle(data: ReportData) -> dict[str, Any]:
    run = data.run
    period_start, period_end = run["period_start"], run["period_end"]
    if period_start is None or period_end is None:
        raise ValueError(f"run {run['run_id']}: no audit period recorded, so no MeasureReport")
    generated = run["finished_at"] or run["started_at"] or datetime.now()
    if generated.tzinfo is None:
        generated = generated.astimezone()  # audit.runs keeps local wall-clock timestamps
    facts = RunFacts(
        run_id=run["run_id"], period_start=period_start, period_end=period_end, generated_at=generated,
        extract_date=run.get("latest_data_date") or run["extract_date"], rule_pack_version=run["rule_pack_version"],
    )
    return measure_report_bundle(data.release.rules(), data.rules, facts)


# --- writing -----------------------------------------------------------------------------------


class ReportWriteError(Exception):
    """A report file could not be written (a full disk, a file size limit): one line naming it."""


def replace_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through a temporary sibling then rename, so a reader never sees a half-written file."""
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise ReportWriteError(f"{path}: could not write the report: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


# What makes a spreadsheet read a cell as a formula (OWASP): its first character.
FORMULA_START = r"^[=+\-@\t\r]"


def defuse_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell a spreadsheet would run as a formula, with an apostrophe in front (the
    module's docstring says why and which)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START)).then("'" + pl.col(name)).otherwise(pl.col(name))
        .alias(name)
        for name in text)


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """The one CSV writer of the reports: formulas defused, then the conventions above."""
    safe = defuse_formulas(frame)
    return replace_atomically(
        path, lambda tmp: safe.write_csv(tmp, include_bom=True, date_format="%Y-%m-%d", null_value="")
    )


# --- formatting (one place, so the page and its charts print every number the same way) ---------


def format_percent(percent_value: float | None) -> str:
    """A rate as the files hold it (a percentage rounded to one decimal) for the page: "66.7 %";
    "—" when there is none."""
    if percent_value is None or (isinstance(percent_value, float) and math.isnan(percent_value)):
        return NO_RATE
    return f"{percent_value:.{PERCENT_DECIMALS}f} %"


def format_interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"{low:.{PERCENT_DECIMALS}f}–{high:.{PERCENT_DECIMALS}f} %"


def format_value(value: object) -> str:
    """A count, date or timestamp as the page shows it; "—" when missing."""
    if value is None:
        return NO_RATE
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def flatten_parameters(parameters_json: str | None) -> list[tuple[str, str]]:
    """audit.runs.parameters as (dotted name, value) pairs, e.g. ("LC-MG-DOSE.mgo_min_mg", "480")."""
    if not parameters_json:
        return []
    try:
        parameters = json.loads(parameters_json)
    except json.JSONDecodeError:
        return [("parameters", parameters_json)]
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        else:
            pairs.append((prefix or "parameters", value if isinstance(value, str) else json.dumps(value)))

    walk("", parameters)
    return pairs


def rate_label(row: Mapping[str, Any]) -> str:
    """What a rate cell or chart label says: the rate, or why there is none, with the small-numbers mark."""
    if row["deviation_rate_percent"] is None:
        return row["rate_note"] or NO_RATE
    label = format_percent(row["deviation_rate_percent"])
    return f"{label} (small numbers)" if row["rate_note"] else label


def change_in_words(points: list[dict[str, Any]], run_id: str) -> str:
    """The change of a rule's rate from the previous run on the same source, in words (lower is better)."""
    index = next((i for i, point in enumerate(points) if point["run_id"] == run_id), None)
    if index is None or index == 0:
        return "No earlier run on this source to compare with."
    current, previous = points[index]["rate_percent"], points[index - 1]["rate_percent"]
    when = format_value(points[index - 1]["started_at"])
    if current is None or previous is None:
        return f"No comparison with the previous run ({when}): one of the two rates is not shown."
    change = round(current - previous, PERCENT_DECIMALS)
    if change == 0:
        return f"Unchanged since the previous run ({when}): {format_percent(previous)}."
    direction, verdict = ("down", "better") if change < 0 else ("up", "worse")
    return (f"{direction.capitalize()} {abs(change):.{PERCENT_DECIMALS}f} percentage points from "
            f"{format_percent(previous)} at the previous run ({when}) to {format_percent(current)}: {verdict}.")


# --- charts --------------------------------------------------------------------------------------


def chart_svg(chart: alt.TopLevelMixin, name: str) -> Markup:
    """Render an Altair chart to an inline SVG here, with network access denied."""
    svg = vl_convert.vegalite_to_svg(chart.to_dict(), allowed_base_urls=[])
    return Markup(namespace_svg_ids(svg, name))  # Vega escapes the text it draws


def namespace_svg_ids(svg: str, prefix: str) -> str:
    """Prefix the ids inside an SVG: Vega numbers gradients and clips from 0 in every render, and two
    inline SVGs with the same id would make the second chart use the first one's gradient."""
    for svg_id in dict.fromkeys(re.findall(r'\bid="([^"]+)"', svg)):
        new_id = f"{prefix}-{svg_id}"
        for old, new in ((f'id="{svg_id}"', f'id="{new_id}"'), (f"url(#{svg_id})", f"url(#{new_id})"),
                         (f'href="#{svg_id}"', f'href="#{new_id}"')):
            svg = svg.replace(old, new)
    return svg


def rule_rate_chart(rule_summary: pl.DataFrame) -> alt.LayerChart:
    rows = [
        {
            "rule_id": row["rule_id"],
            "severity": row["severity"],
            "rate": row["deviation_rate_percent"],
            "low": row["ci_low_percent"],
            "high": row["ci_high_percent"],
            "label_x": row["ci_high_percent"] or row["deviation_rate_percent"] or 0.0,
            "label": rate_label(row),
        }
        for row in rule_summary.iter_rows(named=True)
    ]
    order = [row["rule_id"] for row in rows]
    rate_scale = zero_based_scale(max((row["high"] or 0.0 for row in rows), default=0.0))
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("rule_id:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
    )
    bars = base.mark_bar(height={"band": 0.7}).encode(
        x=alt.X("rate:Q", title="Deviation rate, % (lower is better; line: 95 % interval)",
                axis=alt.Axis(tickCount=5), scale=rate_scale),
        color=alt.Color(
            "severity:N",
            title="Severity",
            scale=alt.Scale(domain=list(SEVERITY_COLOURS), range=list(SEVERITY_COLOURS.values())),
            # Below the bars: on the right it covered the label of the longest bar.
            legend=alt.Legend(orient="bottom"),
        ),
    )
    interval = base.mark_rule(color="#222222").encode(x=alt.X("low:Q", scale=rate_scale), x2="high:Q")
    labels = base.mark_text(align="left", dx=4, fontSize=12).encode(
        x=alt.X("label_x:Q", scale=rate_scale), text="label:N"
    )
    return styled((bars + interval + labels).properties(width=520, height={"step": 26}))


def site_rate_chart(rule_by_site: pl.DataFrame) -> alt.LayerChart:
    rows = [
        {
            "rule_id": row["rule_id"],
            "site_id": row["site_id"],
            "rate": row["deviation_rate_percent"],
            # "*": small numbers (the caption says so); the cell is too narrow for the words
            "label": format_percent(row["deviation_rate_percent"]) + ("*" if row["rate_note"] else "")
            if row["deviation_rate_percent"] is not None else (row["rate_note"] or NO_RATE),
        }
        for row in rule_by_site.iter_rows(named=True)
    ]
    rule_order = list(dict.fromkeys(row["rule_id"] for row in rows))
    site_order = list(dict.fromkeys(row["site_id"] for row in rows))
    highest = highest_rate(rows)
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("site_id:N", sort=site_order, title="Site", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("rule_id:N", sort=rule_order, title=None, axis=alt.Axis(labelLimit=260)),
    )
    # Grey under every cell, so suppressed and empty cells stay visible (a null rate draws no colour).
    background = base.mark_rect(color="#eeeeee", stroke="white", strokeWidth=2)
    colour = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "rate:Q",
            title="Deviation rate, %",
            scale=zero_based_scale(highest, scheme="oranges"),
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text="label:N",
        color=alt.condition(
            f"datum.rate != null && datum.rate > {highest * 0.6}", alt.value("white"), alt.value("#222222")
        ),
    )
    # With no rate to colour (all suppressed or empty) a colour layer would only draw a "NaN" legend.
    layers = [background, colour, text] if any(row["rate"] is not None for row in rows) else [background, text]
    return styled(alt.layer(*layers).properties(width={"step": 100}, height={"step": 28}))


def trend_chart(points: list[dict[str, Any]]) -> alt.LayerChart:
    """A small line chart of one rule's rate over the runs on the same source (gaps where withheld)."""
    days = [p["started_at"].date() if p["started_at"] else None for p in points]
    # A day names a run unless two runs share it (then the time too: the axis needs distinct labels).
    names = [format_value(p["started_at"] if days.count(day) > 1 else day) for p, day in zip(points, days, strict=True)]
    rows = [{"run": name, "rate": p["rate_percent"], "label": format_percent(p["rate_percent"])}
            for p, name in zip(points, names, strict=True)]
    scale = zero_based_scale(highest_rate(rows))
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("run:N", sort=[row["run"] for row in rows], title="Run started", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("rate:Q", title="Deviation rate, %", scale=scale, axis=alt.Axis(tickCount=4)),
    )
    line = base.mark_line(color="#4d7ea8", point=True)
    labels = base.mark_text(dy=-9, fontSize=11).encode(text="label:N")
    return styled((line + labels).properties(width=max(160, 90 * len(rows)), height=120))


def highest_rate(rows: list[dict[str, Any]]) -> float:
    return max((row["rate"] for row in rows if row["rate"] is not None), default=0.0)


def zero_based_scale(highest: float, **kwargs: Any) -> alt.Scale:
    """A rate scale from 0 %; 0..100 % when every rate is 0 or missing, where Vega's own domain would be empty."""
    return alt.Scale(domainMin=0, **kwargs) if highest > 0 else alt.Scale(domain=[0, 100], **kwargs)


def styled(chart: alt.LayerChart) -> alt.LayerChart:
    """Type sizes that stay legible when the page is printed."""
    return (
        chart.configure_axis(labelFontSize=12, titleFontSize=12, titleFontWeight="normal")
        .configure_legend(labelFontSize=12, titleFontSize=12, titleFontWeight="normal")
        .configure_view(strokeWidth=0)
    )


# --- page ----------------------------------------------------------------------------------------


def template_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("cramp_audit", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = format_percent
    env.filters["value"] = format_value
    env.filters["rate_label"] = rate_label
    env.globals["interval"] = format_interval
    return env


STRATUM_TITLES = {"site": "Site", "sex": "Sex", "age_band": "Age at index", "index_code_kind": "Index code",
                  "reason_code": "Reason"}


def rule_sections(data: ReportData) -> list[dict[str, Any]]:
    """Per rule: its summary row, strata tables, top reason codes, trend chart and change in words."""
    strata = data.rule_by_stratum
    # Order reasons by their true count only among the shown ones; withheld ones last, by name.
    numbers = data.release.strata().select("rule_id", "stratum", "value", pl.col("deviations").alias("n"))
    sections = []
    for rule in data.rule_summary.iter_rows(named=True):
        rule_id = rule["rule_id"]
        own = strata.filter(pl.col("rule_id") == rule_id)
        tables = []
        order = list(STRATUM_TITLES)
        present = dict.fromkeys(own["stratum"].to_list())
        for stratum in sorted(present, key=lambda name: (order.index(name) if name in order else len(order), name)):
            if stratum == "reason_code":
                continue
            tables.append({"stratum": stratum, "title": STRATUM_TITLES.get(stratum, stratum),
                           "rows": own.filter(pl.col("stratum") == stratum).to_dicts()})
        reasons = (
            own.filter((pl.col("stratum") == "reason_code") & (pl.col("value") != NO_DEVIATION))
            .join(numbers, on=["rule_id", "stratum", "value"], how="left")
            .sort(pl.col("n").is_null(), pl.col("n"), "value", descending=[False, True, False])
            .head(TOP_REASONS)
            .to_dicts()
        )
        points = [] if data.trend is None else data.trend.filter(pl.col("rule_id") == rule_id).to_dicts()
        trend = None
        if data.trend is not None:
            chart = chart_svg(trend_chart(points), f"trend-{rule_id}") if len(points) > 1 else None
            trend = {"chart": chart, "words": change_in_words(points, data.run["run_id"])}
        sections.append({**rule, "strata": tables, "reasons": reasons,
                         "has_reasons": "reason_code" in own["stratum"].to_list(), "trend": trend})
    return sections


def render_report_html(data: ReportData, suppress_below: int) -> str:
    audited = (data.run["cohort_size"] or 0) > 0
    rule_chart = (chart_svg(rule_rate_chart(data.rule_summary), "rule-chart")
                  if audited and data.rule_summary.height else None)
    site_chart = (chart_svg(site_rate_chart(data.rule_by_site), "site-chart")
                  if audited and data.rule_by_site.height else None)
    table_counts = data.data_quality.filter(pl.col("kind") == "counts")
    attrition = data.attrition.to_dicts()
    return template_environment().get_template("report.html.j2").render(
        run=data.run,
        audited=audited,
        cohort_shown=attrition[-1]["patients"] if attrition else str(data.run["cohort_size"]),
        parameters=flatten_parameters(data.run["parameters"]),
        attrition=attrition,
        rules=rule_sections(data),
        has_trend=data.trend is not None,
        severity_colours=SEVERITY_COLOURS,
        table_counts=table_counts.to_dicts(),
        table_totals=table_counts.select(pl.col(TABLE_COUNT_COLUMNS).sum()).row(0, named=True),
        failed_checks=data.data_quality.filter(pl.col("kind") == "check").to_dicts(),
        unusable_tables=data.data_quality.filter(pl.col("check_name") == USABLE_ROWS_CHECK).to_dicts(),
        checks=data.data_quality_totals,
        rule_chart=rule_chart,
        site_chart=site_chart,
        site_count=data.rule_by_site["site_id"].n_unique(),
        suppress_below=suppress_below,
        min_denominator=data.release.min_denominator,
        generated_at=datetime.now().astimezone().isoformat(sep=" ", timespec="seconds"),
    )
