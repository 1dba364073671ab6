"""What every source adapter returns: the canonical tables as string frames, each row tagged
with its source file and 1-based row number, plus what it skipped on purpose and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

# A refusal is one line on a terminal and in logs; this bounds whatever a message was built from.
MAX_MESSAGE_CHARS = 600


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


@dataclass
class SourceExtract:
    """Canonical frames: every canonical column present as pl.String (null = missing), plus
    `_source_file` (str) and `_source_row` (int, 1-based, header excluded). Tables the source
    lacks are absent from `tables`. Reconciliation per source file: rows read = rows in the frame
    tagged with that file + rows skipped from it = loaded + rejected + skipped."""

    format: str
    tables: dict[str, pl.DataFrame]
    skipped: list[Skipped] = field(default_factory=list)
    extract_date: date | None = None   # the source's own extract date, when it states one
    files: list[str] = field(default_factory=list)  # every file read, for the source checksum
