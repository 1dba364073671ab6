"""The one disclosure-controlled release of a run: every count any report shows, suppressed together.

`build_release(con, run_id, suppress_below, min_denominator)` reads the run's counts (sql/reports/):

- rule totals (audit.rule_results) and strata (audit.rule_strata: the decider's, site, sex, age band,
  index code kind; none for a run from before it); a reason-code stratum (first reason code of
  each deviating patient) when audit.deviations has `reason_code`;
- cohort attrition, as pseudo-rules with a total row only: ``(attrition N)`` has denominator = the
  patients left after step N, ``(attrition N removed)`` denominator = the patients step N removed,
  linked so that left(N-1) = left(N) + removed(N), and the last step to the cohort rules' totals;

and suppresses them as one table (cramp_audit/disclosure.py) with the links the rule definitions
imply (sql/reports/disclosure_links.toml, applied where they hold) and `equal_count_links` over the
real rules for coincidences. Each row then gets its rate and Wilson interval where `rate_shown`, the
rate kind (sql/macros_statistics.sql) and a note. Reports, page and MeasureReport all read this one
table, so no file can publish a figure another one hides.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

import duckdb
import polars as pl

from cramp_audit.db import SQL_DIR, sql_text
from cramp_audit.disclosure import (
    COUNTS,
    PUBLISHED,
    RULE_COUNTS,
    TOTAL_STRATUM,
    TOTAL_VALUE,
    Link,
    check_links,
    equal_count_links,
    release_cells,
    release_table,
    suppress,
)

ATTRITION_PREFIX = "(attrition "
REASON_STRATUM = "reason_code"  # rule-specific: identities between rules' populations do not hold in it
LINKS_FILE = "reports/disclosure_links.toml"
DEFAULT_MIN_DENOMINATOR = 20  # sql/parameters.toml [reports] min_denominator_for_rate

# rate_note: why a row has no rate, or what its rate may not be used for (shown beside it everywhere)
NOTE_NONE = "no patients"
NOTE_NOT_EVALUABLE = "not evaluable"
NOTE_SUPPRESSED = "suppressed"
NOTE_SMALL = "small numbers"


@dataclass(frozen=True)
class Release:
    """The suppressed release of one run.

    table: one row per (rule_id, stratum, value), rule totals as stratum "total": the five COUNTS (null
        when suppressed), `<count>_status`, rate_shown, deviation_rate, wilson_low, wilson_high (null
        unless rate_shown), rate_kind (none / not_evaluable / small / ranked, null when it would tell
        more than the shown cells), rate_note, rank (1 = lowest rate among the ranked values of a
        stratum; null for totals and unranked rows). Attrition pseudo-rules included.
    statuses: every cell with its value and status (disclosure.suppress), for the recovery tests.
    """

    table: pl.DataFrame
    statuses: pl.DataFrame
    links: tuple[Link, ...]
    suppress_below: int
    min_denominator: int

    def rules(self) -> pl.DataFrame:
        return self.table.filter(~is_attrition())

    def totals(self) -> pl.DataFrame:
        return self.rules().filter(pl.col("stratum") == TOTAL_STRATUM)

    def strata(self) -> pl.DataFrame:
        return self.rules().filter(pl.col("stratum") != TOTAL_STRATUM)

    def attrition(self) -> pl.DataFrame:
        """step_number, patients (left after the step), removed (by the step), each null when suppressed."""
        rows = self.table.filter(is_attrition()).select("rule_id", "denominator")
        left = rows.filter(~pl.col("rule_id").str.ends_with("removed)"))
        removed = rows.filter(pl.col("rule_id").str.ends_with("removed)"))
        number = pl.col("rule_id").str.extract(r"(\d+)").cast(pl.Int64).alias("step_number")
        return (
            left.select(number, pl.col("denominator").alias("patients"))
            .join(removed.select(number, pl.col("denominator").alias("removed")), on="step_number", how="left")
            .sort("step_number")
        )


def is_attrition() -> pl.Expr:
    return pl.col("rule_id").str.starts_with(ATTRITION_PREFIX)


def audit_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The columns of audit.<name>, [] when this database has no such table or view."""
    return [row[0] for row in con.execute(sql_text("reports/relation_columns.sql"), {"name": name}).fetchall()]


def read_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(totals, strata) of the run, attrition pseudo-rules included, in release_cells' shape."""
    params = {"run_id": run_id}
    totals = con.sql(sql_text("reports/rule_totals.sql"), params=params).pl()
    # The decider's strata (decide/strata.sql) only: a database from before audit.rule_strata, or a run
    # made before it, gets its totals without strata rather than counts made a second way here.
    parts = [con.sql(sql_text("reports/rule_strata.sql"), params=params).pl()
             ] if audit_columns(con, "rule_strata") else []
    if "reason_code" in audit_columns(con, "deviations"):
        parts.append(con.sql(sql_text("reports/reason_codes.sql"), params=params).pl())
    schema = {"rule_id": pl.String, "stratum": pl.String, "value": pl.String, **dict.fromkeys(RULE_COUNTS, pl.Int64)}
    strata = pl.concat([part.select(list(schema)).cast(schema) for part in parts])
    attrition = con.sql(sql_text("reports/cohort_attrition.sql"), params=params).pl()
    pseudo = []
    for step_number, patients, removed in attrition.select("step_number", "patients", "removed").iter_rows():
        pseudo.append((f"{ATTRITION_PREFIX}{step_number})", patients or 0))
        if removed is not None:
            pseudo.append((f"{ATTRITION_PREFIX}{step_number} removed)", removed))
    if pseudo:
        rows = pl.DataFrame(pseudo, schema={"rule_id": pl.String, "denominator": pl.Int64}, orient="row")
        totals = pl.concat([
            totals.cast(dict.fromkeys(RULE_COUNTS, pl.Int64)),
            rows.with_columns(pl.lit(0, pl.Int64).alias(c) for c in RULE_COUNTS[1:]),
        ])
    return totals, strata


def definition_links(rows: pl.DataFrame, attrition_steps: list[int]) -> list[Link]:
    """The links of sql/reports/disclosure_links.toml and the attrition chain that hold in `rows`
    (release rows, wide)."""
    spec = tomllib.loads((SQL_DIR / LINKS_FILE).read_text(encoding="utf-8"))
    candidates = [
        Link(item["count"], dict(item["terms"]), tuple(tuple(row) for row in item.get("rows", ())))
        for item in spec.get("link", ())
    ]
    total = ((TOTAL_STRATUM, TOTAL_VALUE),)
    for before, step in zip(attrition_steps, attrition_steps[1:], strict=False):
        candidates.append(Link("denominator", {f"{ATTRITION_PREFIX}{before})": 1, f"{ATTRITION_PREFIX}{step})": -1,
                                               f"{ATTRITION_PREFIX}{step} removed)": -1}, total))
    if attrition_steps:
        last = f"{ATTRITION_PREFIX}{attrition_steps[-1]})"
        cohort_rules = spec.get("cohort", {}).get("rules", ())
        candidates += [Link("denominator", {last: 1, rule: -1}, total) for rule in cohort_rules]
    known = set(rows["rule_id"].to_list())
    everywhere = patient_rows(rows)
    links = []
    for link in candidates:
        if not set(link.terms) <= known:
            continue
        if not link.rows:
            link = Link(link.count, link.terms, everywhere)
        try:
            check_links(rows, [link])
        except ValueError:
            continue  # false in this run's data: nobody can use it
        links.append(link)
    return links


def patient_rows(rows: pl.DataFrame) -> tuple[tuple[str, str], ...]:
    """The (stratum, value) rows a population identity holds in: the totals and every stratum of a
    patient attribute (site, sex, age band, ...), not the rule-specific reason codes."""
    keys = rows.filter(pl.col("stratum") != REASON_STRATUM).select("stratum", "value").unique()
    return tuple(sorted(keys.iter_rows()))


def build_release(
    con: duckdb.DuckDBPyConnection, run_id: str, suppress_below: int, min_denominator: int = DEFAULT_MIN_DENOMINATOR
) -> Release:
    totals, strata = read_counts(con, run_id)
    cells = release_cells(totals, strata)
    wide = cells.pivot(on="count", index=["rule_id", "stratum", "value"], values="n")
    steps = sorted(
        int(rule_id[len(ATTRITION_PREFIX):-1]) for rule_id in wide["rule_id"].unique().to_list()
        if rule_id.startswith(ATTRITION_PREFIX) and not rule_id.endswith("removed)")
    )
    links = definition_links(wide, steps)
    everywhere = patient_rows(wide)
    links += [Link(link.count, link.terms, everywhere) for link in
              equal_count_links(cells.filter(~is_attrition() & (pl.col("stratum") != REASON_STRATUM)))]
    statuses = suppress(cells, suppress_below, links)
    table = release_table(statuses)
    return Release(
        table=with_rates(table, wide, min_denominator),
        statuses=statuses,
        links=tuple(links),
        suppress_below=suppress_below,
        min_denominator=min_denominator,
    )


def rate_statistics(wide: pl.DataFrame, min_denominator: int) -> pl.DataFrame:
    """sql/reports/rate_statistics.sql on the full counts, in a connection of its own (the macros are
    temporary, and the run's connection stays as it was)."""
    con = duckdb.connect()
    try:
        con.execute(sql_text("decide/macros_statistics.sql"))
        con.register("release_counts", wide.select("rule_id", "stratum", "value", "denominator", "evaluated",
                                                   "deviations").to_arrow())
        return con.sql(sql_text("reports/rate_statistics.sql"), params={"min_denominator": min_denominator}).pl()
    finally:
        con.close()


def with_rates(table: pl.DataFrame, wide: pl.DataFrame, min_denominator: int) -> pl.DataFrame:
    stats = rate_statistics(wide, min_denominator)
    shown = pl.col("rate_shown")
    kind = pl.col("rate_kind")
    # The kind says no more than the shown cells: 'none' and 'not_evaluable' follow from published
    # zeros, 'small' and 'ranked' only from a shown evaluated count.
    kind_known = shown | ((kind == "none") & (pl.col("denominator_status") == PUBLISHED)) | (
        (kind == "not_evaluable") & (pl.col("evaluated_status") == PUBLISHED))
    out = (
        table.join(stats, on=["rule_id", "stratum", "value"], how="left")
        .with_columns(
            pl.when(shown).then(pl.col("deviations") / pl.col("evaluated")).alias("deviation_rate"),
            pl.when(shown).then(pl.col("wilson_low")).alias("wilson_low"),
            pl.when(shown).then(pl.col("wilson_high")).alias("wilson_high"),
            pl.when(kind_known).then(kind).alias("rate_kind"),
        )
        .with_columns(
            pl.when(pl.col("rate_kind") == "none").then(pl.lit(NOTE_NONE))
            .when(pl.col("rate_kind") == "not_evaluable").then(pl.lit(NOTE_NOT_EVALUABLE))
            .when(~shown).then(pl.lit(NOTE_SUPPRESSED))
            .when(pl.col("rate_kind") == "small").then(pl.lit(NOTE_SMALL))
            .alias("rate_note")
        )
    )
    # Reason codes are not compared: each value's rate is 100 % or 0 % by construction.
    ranked = (pl.col("rate_kind") == "ranked") & ~pl.col("stratum").is_in([TOTAL_STRATUM, REASON_STRATUM])
    rank = (
        pl.when(ranked)
        .then(pl.col("deviation_rate").rank("min").over(["rule_id", "stratum", ranked]))
        .cast(pl.Int64)
        .alias("rank")
    )
    return out.with_columns(rank).select(
        "rule_id", "stratum", "value", *COUNTS, *(f"{c}_status" for c in COUNTS), "rate_shown",
        "deviation_rate", "wilson_low", "wilson_high", "rate_kind", "rate_note", "rank",
    )
