"""Reading one delimited or Parquet file into an all-string polars frame, whole or in batches of
rows, with the errors a user can act on (file, row, column) instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from schemas.spec import POLARS_DTYPES, SOURCE_FILE, SOURCE_ROW
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


def _is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(".parquet")


@contextmanager
def _readable(path: Path, display_name: str) -> Iterator[None]:
    """Turns whatever polars raises while reading the file into one ExtractError line."""
    try:
        yield
    except ExtractError:
        raise
    except pl.exceptions.NoDataError as exc:
        raise ExtractError(f"{display_name}: the file is empty (expected a header row)") from exc
    except pl.exceptions.ComputeError as exc:
        if _is_parquet(path):
            raise ExtractError(f"{display_name}: cannot be read as Parquet: {str(exc).splitlines()[0]}") from exc
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            line = _first_bad_utf8_line(path)
            raise ExtractError(
                f"{display_name}: line {line} is not valid UTF-8; re-export the file as UTF-8") from exc
        raise ExtractError(f"{display_name}: cannot be parsed: {str(exc).splitlines()[0]}") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        what = "cannot be read as Parquet" if _is_parquet(path) else "cannot be read"
        raise ExtractError(f"{display_name}: {what}: {str(exc).splitlines()[0]}") from exc


def read_header(path: Path, display_name: str) -> list[str]:
    """The column names of a file (lower-cased), read without its data."""
    if _is_parquet(path):
        with _readable(path, display_name):
            return [c.lower() for c in pl.read_parquet_schema(path)]
    return [c.strip().lower() for c in _read_csv(path, display_name, n_rows=0).columns]


def _read_csv(path: Path, display_name: str, n_rows: int | None = None) -> pl.DataFrame:
    if path.stat().st_size == 0:
        raise ExtractError(f"{display_name}: the file is empty (expected a header row)")
    with _readable(path, display_name):
        return pl.read_csv(path, infer_schema=False, raise_if_empty=True, n_rows=n_rows)


# Parquet columns already of these types are read as they are (validation takes them typed); any
# other column is read as text, as a CSV column is. Casting a typed column to text only for
# validation to parse it back cost more than reading the whole file.
TYPED_PARQUET_DTYPES = (POLARS_DTYPES["date"], POLARS_DTYPES["number"])


def _parquet_column(name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if dtype in TYPED_PARQUET_DTYPES else pl.col(name).cast(pl.String)


def _scan(path: Path, display_name: str) -> pl.LazyFrame:
    """The file as a lazy frame with its 1-based row number (a record number: a quoted newline does
    not shift it), every value still as the file had it: text for CSV; for Parquet, dates and
    numbers as typed columns (Date, Float64), everything else as text."""
    if _is_parquet(path):
        frame = pl.scan_parquet(path, row_index_name=SOURCE_ROW, row_index_offset=1)
        with _readable(path, display_name):
            schema = frame.collect_schema()
        return frame.select(SOURCE_ROW, *[_parquet_column(name, dtype) for name, dtype in schema.items()
                                          if name != SOURCE_ROW])
    if path.stat().st_size == 0:
        raise ExtractError(f"{display_name}: the file is empty (expected a header row)")
    return pl.scan_csv(path, infer_schema=False, raise_if_empty=True, truncate_ragged_lines=False,
                       row_index_name=SOURCE_ROW, row_index_offset=1)


def scan_string_frame(path: Path, display_name: str) -> pl.LazyFrame:
    """The file as a lazy frame of trimmed strings (empty = null; a Parquet file's Date and Float64
    columns stay typed), headers lower-cased, tagged with source file and 1-based row number.
    Nothing but the header is read until it is collected, so a caller can select the columns it
    wants first (the others are then never parsed into memory)."""
    frame = _scan(path, display_name)
    with _readable(path, display_name):
        columns = [c for c in frame.collect_schema().names() if c != SOURCE_ROW]
    lowered = [c.strip().lower() for c in columns]
    duplicates = sorted({c for c in lowered if lowered.count(c) > 1})
    if duplicates:
        raise ExtractError(f"{display_name}: column '{duplicates[0]}' appears more than once (names are "
                           "case-insensitive)")
    # Blank after trimming = missing. (Not `.replace("", None)`: in the streaming engine it is slower
    # and keeps memory it never gives back, ~4 GB over a 1M-patient extract.)
    frame = frame.rename(dict(zip(columns, lowered, strict=True)))
    schema = frame.collect_schema()
    text = [c for c in lowered if schema[c] == pl.String]
    typed = [c for c in lowered if schema[c] != pl.String]
    trimmed = frame.with_columns(pl.col(text).str.strip_chars())
    return trimmed.select(
        pl.when(pl.col(text) != "").then(pl.col(text)).name.keep(),
        *typed,
        pl.lit(display_name).alias(SOURCE_FILE),
        pl.col(SOURCE_ROW).cast(pl.Int64),
    )


def stream_batches(frame: pl.LazyFrame, batch_rows: int) -> Iterator[pl.DataFrame]:
    """A lazy frame collected batch_rows rows at a time, in order, by polars' streaming engine (which
    reads ahead only a few batches), so a source of any size fits in a bounded memory. No rows at all
    yield one empty frame, so a caller always sees the columns."""
    empty = True
    for batch in frame.collect_batches(chunk_size=batch_rows, lazy=True):
        empty = False
        yield batch
    if empty:
        yield frame.clear().collect()


def collect_batches(frame: pl.LazyFrame, path: Path, display_name: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """stream_batches of a lazy frame of scan_string_frame (errors as one ExtractError line)."""
    with _readable(path, display_name):
        yield from stream_batches(frame, batch_rows)


def collect_whole(frame: pl.LazyFrame, path: Path, display_name: str) -> pl.DataFrame:
    """A lazy frame of scan_string_frame collected at once (errors as one ExtractError line)."""
    with _readable(path, display_name):
        return frame.collect()
