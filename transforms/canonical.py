"""Adapter for the canonical format (extract-format.md): one file per table, CSV / CSV.gz /
Parquet, case-insensitive headers, extra columns tolerated (and dropped here, so that nothing but
the canonical columns, identifiers least of all, goes further). Each table is read file by file in
batches of rows, as every adapter's tables are."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from cramp_audit.schemas.spec import POLARS_DTYPES, SOURCE_FILE, SOURCE_ROW, TABLES, Table
from cramp_audit.transforms.base import Extract, ExtractError, batch_size, require_folder
from cramp_audit.transforms.files import collect_batches, find_table_file, read_header, scan_string_frame

FORMAT = "canonical"
REQUIRED_STEMS = tuple(t.name for t in TABLES if t.required_file)


def detect(source: Path) -> bool:
    """The required tables' files are there (under their canonical names)."""
    return all(find_table_file(source, stem) is not None for stem in REQUIRED_STEMS)


def _located(source: Path) -> dict[str, Path]:
    """The file of each table present; ExtractError when a required one is missing."""
    require_folder(source)
    located = {t.name: find_table_file(source, t.name) for t in TABLES}
    for table in TABLES:
        if located[table.name] is None and table.required_file:
            raise ExtractError(
                f"{source / (table.name + '.csv')}: required file missing "
                f"(expected {table.name}.csv, {table.name}.csv.gz or {table.name}.parquet)")
    return {name: path for name, path in located.items() if path is not None}


def check(source: Path) -> None:
    """Every required file and required column is there, from the headers alone (so it is cheap).
    Raises ExtractError naming file and column."""
    located = _located(source)
    for table in TABLES:
        path = located.get(table.name)
        if path is None:
            continue
        columns = read_header(path, path.name)
        for column in table.required_columns:
            if column not in columns:
                raise ExtractError(f"{path}: required column '{column}' missing")


def _canonical_frame(path: Path, table: Table) -> pl.LazyFrame:
    """The table's file as canonical columns only; optional columns the file lacks are all-missing,
    so every frame has the same shape."""
    frame = scan_string_frame(path, path.name)
    present = frame.collect_schema()
    return frame.select(
        *[_column(c.name, c.dtype, present.get(c.name)) for c in table.columns],
        SOURCE_FILE, SOURCE_ROW,
    )


def _column(name: str, dtype: str, present: pl.DataType | None) -> pl.Expr:
    """A canonical column as text, or typed when a Parquet file has it with the canonical type."""
    if present is None:
        return pl.lit(None, pl.String).alias(name)
    if present in (pl.String, POLARS_DTYPES[dtype]):
        return pl.col(name)
    return pl.col(name).cast(pl.String)


def read(source: Path, batch_rows: int | None = None) -> Extract:
    """The extract to be read in batches of batch_rows rows (default base.BATCH_ROWS): a file is
    opened when its table's batches are asked for. `check` first (registry.open_extract does)."""
    located = _located(source)
    rows = batch_size(batch_rows)
    tables = {table.name: (lambda path=path, table=table: collect_batches(
        _canonical_frame(path, table), path, path.name, rows))
        for table in TABLES if (path := located.get(table.name)) is not None}
    return Extract(FORMAT, tables, files=[str(p) for p in located.values()])
