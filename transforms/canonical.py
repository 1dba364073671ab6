"""Adapter for the canonical format (extract-format.md): one file per table, CSV / CSV.gz /
Parquet, case-insensitive headers, extra columns tolerated (and dropped here, so that nothing but
the canonical columns, identifiers least of all, goes further)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from schemas.spec import SOURCE_FILE, SOURCE_ROW, TABLES
from transforms.base import ExtractError, SourceExtract
from transforms.files import find_table_file, read_header, read_string_frame


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


def read(source: Path) -> SourceExtract:
    """Reads every canonical table present; refuses, before anything is written, an extract whose
    required file or required column is missing."""
    located = check(source)
    tables: dict[str, pl.DataFrame] = {}
    for table in TABLES:
        path = located.get(table.name)
        if path is None:
            continue
        frame = read_string_frame(path, path.name)
        # Optional columns the file lacks are all-missing, so every frame has the same shape.
        tables[table.name] = frame.select(
            *[pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in table.column_names],
            SOURCE_FILE, SOURCE_ROW,
        )
    return SourceExtract(format="canonical", tables=tables, files=[str(p) for p in located.values()])
