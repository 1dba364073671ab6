"""What validation found, per table: the run's counts (read = loaded + rejected + skipped, written
to work.table_counts), the summary `cramp-audit validate` prints and a run's result keeps, and the
refusal of an extract whose required table has no usable row."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from cramp_audit.schemas.checks import REJECTED
from cramp_audit.schemas.spec import ABSENT_TABLE_REASON, SOURCE_FILE, TABLES_BY_NAME, absent_tables
from cramp_audit.schemas.validate import TableValidation
from cramp_audit.transforms.base import Extract, ExtractError


@dataclass(frozen=True)
class QuarantineReason:
    """One distinct reason a table's rows were quarantined, and on how many rows."""

    action: str  # rejected / repaired
    field: str
    reason: str
    rows: int


@dataclass(frozen=True)
class TableCounts:
    table_name: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_repaired: int
    rows_skipped: int
    reasons: list[QuarantineReason] = field(default_factory=list)  # rejected first, then commonest


# A run's summary (kept in its Prefect result) names only the commonest reasons per table;
# `cramp-audit validate` prints every one.
RUN_SUMMARY_REASONS = 3

TABLE_COUNTS_SCHEMA = {"table_name": pl.String, "source_table": pl.String, "rows_read": pl.Int64,
                       "rows_loaded": pl.Int64, "rows_rejected": pl.Int64, "rows_repaired": pl.Int64,
                       "rows_skipped": pl.Int64, "skip_reason": pl.String}


def table_counts(extract: Extract, validations: list[TableValidation]) -> pl.DataFrame:
    """Per table and source file: read = loaded + rejected + skipped (skips get their own rows), and an
    all-zero row for each optional table the extract lacks, so the run's counts say it was absent."""
    frames = []
    for v in validations:
        frames.append(v.file_counts.select(
            pl.lit(v.table_name).alias("table_name"), pl.col(SOURCE_FILE).alias("source_table"),
            *[pl.col(c).cast(pl.Int64) for c in ("rows_read", "rows_loaded", "rows_rejected", "rows_repaired")],
            pl.lit(0, pl.Int64).alias("rows_skipped"), pl.lit(None, pl.String).alias("skip_reason")))
    for skip in extract.skipped:
        frames.append(pl.DataFrame({
            "table_name": [skip.table_name], "source_table": [skip.source_table], "rows_read": [skip.rows],
            "rows_loaded": [0], "rows_rejected": [0], "rows_repaired": [0], "rows_skipped": [skip.rows],
            "skip_reason": [skip.reason]}, schema=TABLE_COUNTS_SCHEMA))
    frames.append(pl.DataFrame({
        "table_name": absent_tables(extract.tables), "source_table": None, "rows_read": 0, "rows_loaded": 0,
        "rows_rejected": 0, "rows_repaired": 0, "rows_skipped": 0, "skip_reason": ABSENT_TABLE_REASON},
        schema=TABLE_COUNTS_SCHEMA))
    return pl.concat(frames)


def rows_loaded(validations: list[TableValidation]) -> dict[str, int]:
    return {v.table_name: v.rows_loaded for v in validations}


def empty_required_tables(validations: list[TableValidation]) -> list[TableValidation]:
    """Required tables of which no row could be loaded (an empty file, or every row rejected)."""
    return [v for v in validations if TABLES_BY_NAME[v.table_name].required_file and v.rows_loaded == 0]


def refuse_empty_required_tables(validations: list[TableValidation]) -> None:
    """An audit without patients, diagnoses or medications would still "succeed", with reassuring
    rates (no quinine, no analgesics): refused like an unreadable extract instead."""
    empty = empty_required_tables(validations)
    if empty:
        v = empty[0]
        raise ExtractError(empty_table_message(v.table_name, v.rows_read, v.rows_rejected))


def empty_table_message(table_name: str, rows_read: int, rows_rejected: int) -> str:
    return (f"{table_name}: no usable rows ({rows_read:,} read, {rows_rejected:,} rejected); "
            "a required table cannot be empty (`cramp-audit validate` shows why rows were rejected)")


def summarise(extract: Extract, validations: list[TableValidation], top: int | None = None) -> list[TableCounts]:
    """Per canonical table: the counts `cramp-audit validate` prints, with every distinct (action,
    field, reason) of its quarantined rows, rejected first then commonest (only the first `top` of
    them when given)."""
    summaries = []
    for v in validations:
        skipped = sum(s.rows for s in extract.skipped if s.table_name == v.table_name)
        reasons = (v.quarantine.group_by("action", "field", "reason").len()
                   .sort(pl.col("action") != REJECTED, "len", "field", "reason",
                         descending=[False, True, False, False]))
        summaries.append(TableCounts(
            v.table_name, v.rows_read + skipped, v.rows_loaded, v.rows_rejected, v.rows_repaired, skipped,
            [QuarantineReason(r["action"], r["field"], r["reason"], r["len"])
             for r in reasons.iter_rows(named=True)][:top]))
    return summaries
