"""What every source adapter is and returns. An adapter is a module of transforms/ with

    FORMAT                        its name ("canonical", "synthea", ...), as --format takes it
    detect(source) -> bool        whether the folder is in this format (from file names, a header)
    check(source) -> None         the cheap refusal, from file names and headers alone: ExtractError
                                  when a required file or column is missing
    read(source, batch_rows)      the Extract, planned: nothing but headers (and the small lookups
                                  a plan needs) is read until a table's batches are asked for

transforms/registry.py lists the adapters in detection order. Streaming is the only mode: a table
is read a batch of rows at a time (memory is bounded by a batch whatever the size of the extract);
a caller that wants a small table whole concatenates its batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

import polars as pl

# A refusal is one line on a terminal and in logs; this bounds whatever a message was built from.
MAX_MESSAGE_CHARS = 600

# Rows per batch when an audit reads an extract: ~0.3-0.6 GB of strings for the widest table, a few
# times that while it is validated; big enough that per-batch overheads do not show.
BATCH_ROWS = 1_000_000


def batch_size(requested: int | None) -> int:
    """The rows per batch of a read: as requested, else BATCH_ROWS (looked up now, so a test can
    make batches small for every adapter at once)."""
    return requested or BATCH_ROWS


class ExtractError(Exception):
    """The extract cannot be read at all (missing file or column, not a folder, bad encoding).
    Its message is the one line the command line prints before exiting with status 2: made one line
    and cut to MAX_MESSAGE_CHARS here, whatever it was built from."""

    def __init__(self, message: object = "") -> None:
        line = " ".join(str(message).split())
        super().__init__(line if len(line) <= MAX_MESSAGE_CHARS else line[:MAX_MESSAGE_CHARS - 1] + "…")


@dataclass(frozen=True)
class Skipped:
    """Source rows an adapter left out on purpose (counted, never silent)."""

    table_name: str      # canonical table the rows would have fed
    source_table: str    # e.g. "measurement"
    rows: int
    reason: str          # e.g. "OMOP measurement without a numeric value and not a lab"


Batches = Callable[[], Iterator[pl.DataFrame]]


@dataclass
class Extract:
    """An extract as canonical frames in batches: `tables[name]()` yields the table's rows a batch at a
    time, reading the source only as it goes (each call reads it again). Every batch has every
    canonical column, as pl.String (null = missing) or, from a Parquet file, the column's canonical
    type, plus `_source_file` (str) and `_source_row` (int, 1-based, header excluded). Tables the
    source lacks are absent from `tables`. `skipped` is complete once every table has been read.
    Reconciliation per source file: rows read = rows in the batches tagged with that file + rows
    skipped from it = loaded + rejected + skipped."""

    format: str
    tables: dict[str, Batches]
    skipped: list[Skipped] = field(default_factory=list)
    extract_date: date | None = None   # the source's own extract date, when it states one
    files: list[str] = field(default_factory=list)  # every file read, for the source checksum


class Adapter(Protocol):
    """A source format's module (see the module docstring)."""

    FORMAT: str

    def detect(self, source: Path) -> bool: ...

    def check(self, source: Path) -> None: ...

    def read(self, source: Path, batch_rows: int | None = None) -> Extract: ...


def require_folder(source: Path) -> None:
    if not source.is_dir():
        raise ExtractError(f"{source}: not a folder (an extract is a folder with one file per table)")
