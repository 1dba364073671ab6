"""What every source adapter's output must satisfy, checked the same way for each format: exact
canonical string frames, per-file reconciliation against counts computed independently with
DuckDB, no identifier anywhere, ISO dates. Used by tests/test_adapter_*.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from cramp_audit.schemas.spec import IDENTIFIER_COLUMN_WORDS, SOURCE_FILE, SOURCE_ROW, TABLES_BY_NAME
from cramp_audit.transforms.base import Skipped
from cramp_audit.transforms.registry import open_extract

EXTERNAL = Path("/work/shared/data/external")


@dataclass(frozen=True)
class TablesRead:
    """A (small) extract as an audit streams it, every table's batches read to the end and stacked."""

    format: str
    tables: dict[str, pl.DataFrame]
    skipped: list[Skipped]
    extract_date: date | None
    files: list[str]


def read_to_end(source: Path, fmt: str | None = None, batch_rows: int | None = None) -> TablesRead:
    """Opens the extract as a run does (registry.open_extract) and reads every table's batches; the
    skip counts are complete only then."""
    extract = open_extract(source, fmt, batch_rows)
    tables = {name: pl.concat(list(batches())) for name, batches in extract.tables.items()}
    return TablesRead(extract.format, tables, list(extract.skipped), extract.extract_date, list(extract.files))


def sql_rows(query: str) -> list[tuple]:
    """Rows from DuckDB: the independent side of every comparison with an adapter's output."""
    return duckdb.sql(query).fetchall()


def sql_count(query: str) -> int:
    return int(sql_rows(query)[0][0])


def csv(path: Path) -> str:
    """A DuckDB table expression for a CSV / CSV.gz file, every column text."""
    return f"read_csv('{path}', all_varchar=true, header=true)"


def assert_canonical_frames(extract: TablesRead) -> None:
    for name, frame in extract.tables.items():
        table = TABLES_BY_NAME[name]
        assert frame.columns == [*table.column_names, SOURCE_FILE, SOURCE_ROW], name
        for column in table.column_names + [SOURCE_FILE]:
            assert frame.schema[column] == pl.String, (name, column)
        assert frame.schema[SOURCE_ROW].is_integer(), name
        assert frame[SOURCE_ROW].min() is None or frame[SOURCE_ROW].min() >= 1, name


def rows_per_file(extract: TablesRead) -> dict[str, int]:
    """Source file -> rows emitted from it (any table) + rows skipped from it."""
    counts: dict[str, int] = {}
    for frame in extract.tables.values():
        for source_file, n in frame.group_by(SOURCE_FILE).len().iter_rows():
            counts[source_file] = counts.get(source_file, 0) + n
    for skip in extract.skipped:
        counts[skip.source_table] = counts.get(skip.source_table, 0) + skip.rows
    return counts


def assert_reconciles(extract: TablesRead, rows_read: dict[str, int]) -> None:
    """For every row-source file: rows read (counted independently) = emitted + skipped."""
    accounted = rows_per_file(extract)
    for source_file, read in rows_read.items():
        assert accounted.get(source_file, 0) == read, (source_file, accounted.get(source_file, 0), read)
    assert set(accounted) <= set(rows_read), set(accounted) - set(rows_read)


def table_sizes(extract: TablesRead) -> dict[str, int]:
    return {name: frame.height for name, frame in extract.tables.items()}


def assert_no_identifiers(extract: TablesRead, identifiers: set[str]) -> None:
    """No identifier value in any cell, no identifier-like column name."""
    identifiers = {i for i in identifiers if i}
    assert identifiers, "the test should name the identifiers it looks for"
    for name, frame in extract.tables.items():
        for column in frame.columns:
            letters = "".join(ch for ch in column.lower() if ch.isalpha())
            assert letters not in IDENTIFIER_COLUMN_WORDS, (name, column)
            if frame.schema[column] == pl.String:
                leaked = frame.filter(pl.col(column).is_in(list(identifiers)))
                assert leaked.is_empty(), (name, column, leaked.head(3))


def assert_iso_dates(extract: TablesRead, earliest: str = "1900-01-01", latest: str = "2026-01-01") -> None:
    """Every date cell is YYYY-MM-DD (or missing) and, unless told otherwise, in 1900..2025."""
    for name, frame in extract.tables.items():
        for column in TABLES_BY_NAME[name].columns:
            if column.dtype != "date":
                continue
            values = frame[column.name].drop_nulls()
            assert values.str.contains(r"^\d{4}-\d{2}-\d{2}$").all(), (name, column.name)
            if len(values):
                assert earliest <= values.min() and values.max() < latest, (name, column.name, values.min(),
                                                                            values.max())


def row(extract: TablesRead, table: str, source_file: str, source_row: int) -> dict:
    """The canonical row made from one source row."""
    found = extract.tables[table].filter((pl.col(SOURCE_FILE) == source_file) & (pl.col(SOURCE_ROW) == source_row))
    assert found.height == 1, (table, source_file, source_row, found.height)
    return found.row(0, named=True)


def pick(record: dict, *columns: str) -> dict:
    """The record restricted to some columns (so a failing assert shows just those)."""
    return {c: record[c] for c in columns}
