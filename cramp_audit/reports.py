"""Committee reports of one audit run: four CSV files and a self-contained report.html.

`write_reports(con, run_id, out_dir)` reads the run's rows of audit.* (sql/schema/audit.sql) through
the queries in sql/reports/*.sql and writes `out_dir/<run_id>/`:

rule_summary.csv
    One row per rule: rule_id, title, severity, denominator, exclusions, not_evaluable, deviations,
    deviation_rate, guideline_statement. Counts and rate are audit.rule_results' own values.
rule_by_site.csv
    One row per rule × site (site from audit.cohort.site_id; no site -> "(none)"): rule_id, site_id,
    denominator, exclusions, not_evaluable, deviations, deviation_rate. A count from 1 to
    suppress_below - 1 is written as the text "<{suppress_below}" (0 stays 0), and the rate is left
    empty when any of the counts it is made of is suppressed.
worklist.csv
    One row per deviation event: patient_id, rule_id, severity, event_date, explanation. Internal
    use only (names patients); the evidence JSON stays in audit.deviations.
data_quality.csv
    One table, two kinds of row told apart by the first column, `kind`:
      kind = "counts": one row per source table (audit.table_counts), filling
                       table_name, source_table, rows_read, rows_loaded, rows_rejected,
                       rows_repaired, rows_skipped, skip_reason;
      kind = "check":  one row per failed check (audit.data_quality, passed = false), filling
                       table_name, check_name, rows_checked, rows_failed; the check failed by an
                       optional table without usable rows ("table:has_usable_rows") also fills
                       rules_not_evaluable: the rules that need that table, comma separated.
    An absent optional table also has a counts row: every count 0, skip_reason "file not in the extract".
    Columns, in order: kind, table_name, source_table, rows_read, rows_loaded, rows_rejected,
    rows_repaired, rows_skipped, skip_reason, check_name, rows_checked, rows_failed,
    rules_not_evaluable. Cells that do not apply to a row's kind are empty. Counts rows come first.
report.html
    For a quality committee: run details, cohort and attrition, the rule summary with a chart of
    deviation rate per rule, a rule × site chart (suppression as in rule_by_site.csv), the data
    quality summary (with the tables the extract lacked and the rules that needed them) and each
    rule's guideline statement. Self-contained: inline CSS, charts as inline SVG rendered here by
    vl-convert, no script, no network. No patient identifiers.

CSV conventions: UTF-8 *with* a byte-order mark, because Excel opens a BOM-less CSV in the local
ANSI code page and garbles "—", "é" and the like in titles and explanations; polars, pandas, DuckDB
and R's readr skip the BOM, and Python's csv module reads it with encoding="utf-8-sig". Comma
separated, header row, "\\n" line ends, RFC 4180 quoting, ISO 8601 dates, an empty cell means no
value, rates are fractions 0..1 at full precision (the page shows them as percentages with one
decimal). Spreadsheet caveat: Excel drops leading zeros of numeric-looking patient ids unless the
column is imported as text.

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with "=", "+", "-",
"@", a tab or a carriage return as a formula, and ids, descriptions and explanations come from the
extract. Every *text* cell that starts with one of them is written with an apostrophe in front
(`=HYPERLINK(...)` -> `'=HYPERLINK(...)`), whatever follows, as OWASP says: a text "-5" becomes
"'-5" too, since telling a harmless number from `-2+3+cmd|...` is what the rule avoids. Numeric
columns (rates, table counts) are numbers, not text, and stay as they are (-3 stays -3); the count
columns of rule_by_site.csv are text (they can hold "<11") but never start with one of the characters.
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
from schemas.spec import USABLE_ROWS_CHECK

NO_RATE = "—"  # shown where a rate is empty (nothing to evaluate, or suppressed)
COUNT_COLUMNS = ("denominator", "exclusions", "not_evaluable", "deviations")
TABLE_COUNT_COLUMNS = ("rows_read", "rows_loaded", "rows_rejected", "rows_repaired", "rows_skipped")
SEVERITY_COLOURS = {"high": "#b2182b", "medium": "#b35806", "low": "#4d7ea8"}  # as the page's badges

RULE_SUMMARY_CSV = "rule_summary.csv"
RULE_BY_SITE_CSV = "rule_by_site.csv"
WORKLIST_CSV = "worklist.csv"
DATA_QUALITY_CSV = "data_quality.csv"
REPORT_HTML = "report.html"


@dataclass(frozen=True)
class ReportData:
    """Everything the reports show, read once so the CSV files and the page cannot disagree."""

    run: dict[str, Any]
    attrition: pl.DataFrame
    rule_summary: pl.DataFrame
    rule_by_site: pl.DataFrame
    worklist: pl.DataFrame
    data_quality: pl.DataFrame
    data_quality_totals: dict[str, Any]

    def csv_frames(self) -> dict[str, pl.DataFrame]:
        return {
            RULE_SUMMARY_CSV: self.rule_summary,
            RULE_BY_SITE_CSV: self.rule_by_site,
            WORKLIST_CSV: self.worklist,
            DATA_QUALITY_CSV: self.data_quality,
        }


def write_reports(
    con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path, suppress_below: int = 11
) -> list[Path]:
    """Write the run's CSV reports and report.html into out_dir/<run_id>/; return their paths."""
    check_suppress_below(suppress_below)
    run_dir = report_dir(Path(out_dir), run_id)
    data = read_report_data(con, run_id, suppress_below)
    # Render before writing anything, so a failing chart or template leaves no half-written set.
    html = render_report_html(data, suppress_below)
    run_dir.mkdir(parents=True, exist_ok=True)
    paths = [write_csv(frame, run_dir / name) for name, frame in data.csv_frames().items()]
    paths.append(replace_atomically(run_dir / REPORT_HTML, lambda tmp: tmp.write_text(html, "utf-8")))
    return paths


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


def read_report_data(con: duckdb.DuckDBPyConnection, run_id: str, suppress_below: int) -> ReportData:
    runs = query_report(con, "run", run_id=run_id)
    if runs.height != 1:
        raise ValueError(f"run {run_id!r} is not in audit.runs")
    return ReportData(
        run=runs.row(0, named=True),
        attrition=query_report(con, "cohort_attrition", run_id=run_id),
        rule_summary=query_report(con, "rule_summary", run_id=run_id),
        rule_by_site=query_report(con, "rule_by_site", run_id=run_id, suppress_below=suppress_below),
        worklist=query_report(con, "worklist", run_id=run_id),
        data_quality=query_report(con, "data_quality", run_id=run_id, usable_rows_check=USABLE_ROWS_CHECK),
        data_quality_totals=query_report(con, "data_quality_totals", run_id=run_id).row(0, named=True),
    )


# --- writing -----------------------------------------------------------------------------------


def replace_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through a temporary sibling then rename, so a reader never sees a half-written file."""
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
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


def clean_rate(rate: float | None) -> float | None:
    """None for a missing rate, whether the database said NULL or NaN."""
    return None if rate is None or math.isnan(rate) else rate


def format_rate(rate: float | None) -> str:
    """A deviation rate as a percentage with one decimal; "—" when there is none."""
    rate = clean_rate(rate)
    return NO_RATE if rate is None else f"{rate * 100:.1f}%"


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


def site_cell_label(row: Mapping[str, Any]) -> str:
    """What a rule × site cell says: its rate, or why it has none (judged from the written cells)."""
    if clean_rate(row["deviation_rate"]) is not None:
        return format_rate(row["deviation_rate"])
    if any(str(row[column]).startswith("<") for column in COUNT_COLUMNS):
        return "suppressed"
    return NO_RATE


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
            "rate": clean_rate(row["deviation_rate"]),
            "label_x": clean_rate(row["deviation_rate"]) or 0.0,  # a rule without a rate still gets "—"
            "label": format_rate(row["deviation_rate"]),
        }
        for row in rule_summary.iter_rows(named=True)
    ]
    order = [row["rule_id"] for row in rows]
    rate_scale = zero_based_scale(highest_rate(rows))
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("rule_id:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
    )
    bars = base.mark_bar(height={"band": 0.7}).encode(
        x=alt.X(
            "rate:Q", title="Deviation rate", axis=alt.Axis(format="%", tickCount=5), scale=rate_scale
        ),
        color=alt.Color(
            "severity:N",
            title="Severity",
            scale=alt.Scale(domain=list(SEVERITY_COLOURS), range=list(SEVERITY_COLOURS.values())),
            # Below the bars: on the right it covered the label of the longest bar.
            legend=alt.Legend(orient="bottom"),
        ),
    )
    labels = base.mark_text(align="left", dx=4, fontSize=12).encode(
        x=alt.X("label_x:Q", scale=rate_scale), text="label:N"
    )
    return styled((bars + labels).properties(width=520, height={"step": 26}))


def site_rate_chart(rule_by_site: pl.DataFrame) -> alt.LayerChart:
    rows = [
        {
            "rule_id": row["rule_id"],
            "site_id": row["site_id"],
            "rate": clean_rate(row["deviation_rate"]),
            "label": site_cell_label(row),
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
            title="Deviation rate",
            scale=zero_based_scale(highest, scheme="oranges"),
            legend=alt.Legend(format="%"),
        )
    )
    text = base.mark_text(fontSize=12).encode(
        text="label:N",
        color=alt.condition(
            f"datum.rate != null && datum.rate > {highest * 0.6}", alt.value("white"), alt.value("#222222")
        ),
    )
    # With no rate to colour (all suppressed or empty) a colour layer would only draw a "NaN%" legend.
    layers = [background, colour, text] if any(row["rate"] is not None for row in rows) else [background, text]
    return styled(alt.layer(*layers).properties(width={"step": 100}, height={"step": 28}))


def highest_rate(rows: list[dict[str, Any]]) -> float:
    return max((row["rate"] for row in rows if row["rate"] is not None), default=0.0)


def zero_based_scale(highest: float, **kwargs: Any) -> alt.Scale:
    """A rate scale from 0; 0..100% when every rate is 0 or missing, where Vega's own domain would be empty."""
    return alt.Scale(domainMin=0, **kwargs) if highest > 0 else alt.Scale(domain=[0, 1], **kwargs)


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
    env.filters["rate"] = format_rate
    env.filters["value"] = format_value
    return env


def render_report_html(data: ReportData, suppress_below: int) -> str:
    rule_chart = chart_svg(rule_rate_chart(data.rule_summary), "rule-chart") if data.rule_summary.height else None
    site_chart = chart_svg(site_rate_chart(data.rule_by_site), "site-chart") if data.rule_by_site.height else None
    table_counts = data.data_quality.filter(pl.col("kind") == "counts")
    return template_environment().get_template("report.html.j2").render(
        run=data.run,
        parameters=flatten_parameters(data.run["parameters"]),
        attrition=data.attrition.to_dicts(),
        rules=data.rule_summary.to_dicts(),
        table_counts=table_counts.to_dicts(),
        table_totals=table_counts.select(pl.col(TABLE_COUNT_COLUMNS).sum()).row(0, named=True),
        failed_checks=data.data_quality.filter(pl.col("kind") == "check").to_dicts(),
        unusable_tables=data.data_quality.filter(pl.col("check_name") == USABLE_ROWS_CHECK).to_dicts(),
        checks=data.data_quality_totals,
        deviation_events=data.worklist.height,
        rule_chart=rule_chart,
        site_chart=site_chart,
        site_count=data.rule_by_site["site_id"].n_unique(),
        suppress_below=suppress_below,
        generated_at=datetime.now().astimezone().isoformat(sep=" ", timespec="seconds"),
    )
