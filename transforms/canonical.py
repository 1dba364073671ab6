"""Adapter for the canonical format (extract-format.md): one file per table, CSV / CSV.gz /
Parquet, case-insensitive headers, extra columns tolerated (and dropped here, so that nothing but
the canonical columns, identifiers least of all, goes further).

A canonical extract can also be read table by table in batches of rows (`read_batched`), which is
how an audit reads it: memory is then bounded by one batch, whatever the size of the extract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from schemas.spec import POLARS_DTYPES, SOURCE_FILE, SOURCE_ROW, TABLES, Table
from transforms.base import ExtractError, Skipped, SourceExtract
from transforms.files import collect_batches, collect_whole, find_table_file, read_header, scan_string_frame

# Rows per batch when an audit reads a canonical extract: ~0.3-0.6 GB of strings for the widest
# table, a few times that while it is validated; big enough that per-batch overheads do not show.
BATCH_ROWS = 1_000_000


def check(source: Path) -> dict[str, Path]:
    """The file of each table present, after checking (from the headers alone, so it is cheap) that
    every required file and required column is there. Raises ExtractError naming file and column."""
    if not source.is_dir():
        raise ExtractError(f"{source}: not a folder (an extract is a folder with one file per table)")
    located = {t.name: find_table_file(source, t.name) for t in TABLES}
    for table in TABLES:
        path = located[table.name]
        if path is None:
            if table.required_file:
                raise ExtractError(
                    f"{source / (table.name + '.csv')}: required file missing "
                    f"(expected {table.name}.csv, {table.name}.csv.gz or {table.name}.parquet)")
            continue
        columns = read_header(path, path.name)
        for column in table.required_columns:
            if column not in columns:
                raise ExtractError(f"{path}: required column '{column}' missing")
    return {name: path for name, path in located.items() if path is not None}


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


def read(source: Path) -> SourceExtract:
    """Reads every canonical table present; refuses, before anything is written, an extract whose
    required file or required column is missing."""
    located = check(source)
    tables = {table.name: collect_whole(_canonical_frame(path, table), path, path.name)
              for table in TABLES if (path := located.get(table.name)) is not None}
    return SourceExtract(format="canonical", tables=tables, files=[str(p) for p in located.values()])


Batches = Callable[[], Iterator[pl.DataFrame]]


@dataclass
class BatchedExtract:
    """An extract as canonical frames in batches: `tables[name]()` yields the table's rows (shaped as
    SourceExtract's frames) a batch at a time, reading the file only as it goes."""

    format: str
    tables: dict[str, Batches]
    skipped: list[Skipped] = field(default_factory=list)
    extract_date: date | None = None
    files: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, extract: SourceExtract) -> BatchedExtract:
        """An extract an adapter has read whole: each table is one batch."""
        tables = {name: (lambda frame=frame: iter([frame])) for name, frame in extract.tables.items()}
        return cls(extract.format, tables, extract.skipped, extract.extract_date, extract.files)


def read_batched(source: Path, batch_rows: int | None = None) -> BatchedExtract:
    """A canonical extract to be read in batches of batch_rows rows (default BATCH_ROWS). The required
    files and columns are checked now, from the headers; the data is read when the batches are asked for."""
    located = check(source)
    rows = batch_rows or BATCH_ROWS
    tables = {table.name: (lambda path=path, table=table: collect_batches(
        _canonical_frame(path, table), path, path.name, rows))
        for table in TABLES if (path := located.get(table.name)) is not None}
    return BatchedExtract("canonical", tables, files=[str(p) for p in located.values()])
