"""Reading one delimited or Parquet file into an all-string polars frame, with the errors a user
can act on (file, row, column) instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from schemas.spec import SOURCE_FILE, SOURCE_ROW
from transforms.base import ExtractError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def find_table_file(folder: Path, stem: str, suffixes: tuple[str, ...] = TABLE_SUFFIXES) -> Path | None:
    """The file for a table, matching its name case-insensitively (`PATIENTS.CSV` = `patients.csv`)."""
    wanted = {stem.lower() + s for s in suffixes}
    matches = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower() in wanted)
    return matches[0] if matches else None


def _first_bad_utf8_line(path: Path) -> int:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def read_header(path: Path, display_name: str) -> list[str]:
    """The column names of a file (lower-cased), read without its data."""
    if path.name.lower().endswith(".parquet"):
        try:
            return [c.lower() for c in pl.read_parquet_schema(path)]
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ExtractError(f"{display_name}: cannot be read as Parquet: {str(exc).splitlines()[0]}") from exc
    return [c.strip().lower() for c in _read_csv(path, display_name, n_rows=0).columns]


def _read_csv(path: Path, display_name: str, n_rows: int | None = None) -> pl.DataFrame:
    if path.stat().st_size == 0:
        raise ExtractError(f"{display_name}: the file is empty (expected a header row)")
    try:
        return pl.read_csv(path, infer_schema=False, raise_if_empty=True, n_rows=n_rows)
    except pl.exceptions.NoDataError as exc:
        raise ExtractError(f"{display_name}: the file is empty (expected a header row)") from exc
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            line = _first_bad_utf8_line(path)
            raise ExtractError(
                f"{display_name}: line {line} is not valid UTF-8; re-export the file as UTF-8") from exc
        raise ExtractError(f"{display_name}: cannot be parsed: {str(exc).splitlines()[0]}") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ExtractError(f"{display_name}: cannot be read: {str(exc).splitlines()[0]}") from exc


def read_string_frame(path: Path, display_name: str) -> pl.DataFrame:
    """All columns as trimmed strings (empty = null), headers lower-cased, tagged with source
    file and 1-based row number. Raises ExtractError with one line on unreadable input."""
    if path.name.lower().endswith(".parquet"):
        try:
            frame = pl.read_parquet(path).with_columns(pl.all().cast(pl.String))
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ExtractError(f"{display_name}: cannot be read as Parquet: {str(exc).splitlines()[0]}") from exc
    else:
        frame = _read_csv(path, display_name)

    lowered = [c.strip().lower() for c in frame.columns]
    duplicates = sorted({c for c in lowered if lowered.count(c) > 1})
    if duplicates:
        raise ExtractError(f"{display_name}: column '{duplicates[0]}' appears more than once (names are "
                           "case-insensitive)")
    frame.columns = lowered
    return frame.with_columns(
        pl.all().str.strip_chars().replace("", None),
        pl.lit(display_name).alias(SOURCE_FILE),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW),
    )
