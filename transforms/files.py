"""Reading one delimited or Parquet file into an all-string polars frame in batches of rows, with
the errors a user can act on (file, row, column) instead of a traceback."""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import polars as pl
from cramp_audit.schemas.spec import FREE_TEXT_COLUMNS, POLARS_DTYPES, SOURCE_FILE, SOURCE_ROW
from cramp_audit.transforms.base import ExtractError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def find_table_file(folder: Path, stem: str, suffixes: tuple[str, ...] = TABLE_SUFFIXES) -> Path | None:
    """The file for a table, matching its name case-insensitively (`PATIENTS.CSV` = `patients.csv`).
    Something with the table's name that is not a file (a folder, e.g. a Spark-style export, or a
    link to nothing) is refused for what it is rather than taken for a missing file."""
    wanted = {stem.lower() + s for s in suffixes}
    matches = sorted(p for p in folder.iterdir() if p.name.lower() in wanted)
    files = [p for p in matches if p.is_file()]
    if files:
        return files[0]
    if matches:
        raise ExtractError(f"{matches[0]}: {_not_a_file(matches[0])} (each table is one file)")
    return None


def _not_a_file(path: Path) -> str:
    if path.is_dir():
        return "is a folder, not a file"
    if path.is_symlink() and not path.exists():
        return "is a link to a file that does not exist"
    return "is not a regular file"


# --- refusing an unreadable file without copying its text ---------------------------------------
#
# polars' and DuckDB's messages quote the source: a value that does not parse, or for an unclosed
# quote everything from the quote on (a 50 MB field gave a 52 MB message). An extract holds patient
# data, and a refusal goes to the terminal, logs and audit.runs.error, so a refusal here names the
# file, the line (as a text editor counts them, header = line 1) and the column, and quotes none of
# the data. Where the file breaks is found by reading it again (only once it has failed to read).

MAX_REASON_CHARS = 160
_BACKQUOTED = re.compile(r"`[^`]*`")


def safe_reason(exc: BaseException) -> str:
    """What a reader said went wrong, without what it quoted of the file: the first line, each
    `...` (polars quotes values so) replaced by "…", cut before the first other quote (DuckDB quotes
    values with " and ', nested in JSON; pairing them cannot be trusted), at most MAX_REASON_CHARS."""
    lines = str(exc).strip().splitlines()
    first = _BACKQUOTED.sub("…", lines[0] if lines else "")
    first = re.split(r"[`\"']", first, maxsplit=1)[0].strip() or type(exc).__name__
    return first if len(first) <= MAX_REASON_CHARS else first[:MAX_REASON_CHARS - 1] + "…"


def _open_binary(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _header_names(path: Path) -> list[str]:
    """The header's names as a CSV reader splits them (for messages only), "" when unreadable."""
    with _open_binary(path) as handle:
        first = handle.readline(64 * 1024)
    try:
        return next(csv.reader([first.decode("utf-8-sig")]), [])
    except (UnicodeDecodeError, csv.Error):
        return []


def _column_label(path: Path, column: int) -> str:
    """"column 3, 'sex'": the header's name for it when the header has a short printable one."""
    names = _header_names(path)
    name = names[column - 1].strip() if column <= len(names) else ""
    return f"column {column}, {name!r}" if name and len(name) <= 40 and name.isprintable() else f"column {column}"


def _where(path: Path, line: int, column: int | None) -> str:
    return f"line {line}" if column is None else f"line {line}, {_column_label(path, column)}"


def _utf8_error(path: Path, line: int, column: int | None) -> str:
    where = f" ({_column_label(path, column)})" if column is not None else ""
    return f"line {line} is not valid UTF-8{where}; re-export the file as UTF-8"


def find_csv_problem(path: Path, csv_rules: bool = True) -> str | None:
    """Where a delimited file first breaks, as the words after "<file>: ", or None when it reads
    as RFC 4180 CSV in UTF-8: a line that is not UTF-8, a quote inside an unquoted value, text after
    a closing quote, a row with more values than the header has columns, or a quoted value never
    closed. csv_rules=False checks the encoding only (a file that is not CSV, e.g. NDJSON)."""
    header_columns = 0
    in_quote = False
    opened = (0, 0)          # line and column where the quoted value still open began
    column = 1
    with _open_binary(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not in_quote:
                column = 1
            body = line.rstrip(b"\r\n")
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad_column = _scan_quotes(body[:exc.start], number, column, in_quote, opened)[1] if csv_rules else None
                return _utf8_error(path, number, bad_column)
            if not csv_rules:
                continue
            if b'"' in body or in_quote:
                problem, column, in_quote, opened = _scan_quotes(body, number, column, in_quote, opened)
                if problem:
                    return f"{_where(path, number, column)}: {problem}"
            else:
                column += body.count(b",")
            if in_quote:
                continue
            if number == 1:
                header_columns = column
            elif column > header_columns and body:
                return (f"{_where(path, number, None)}: {column} values where the header has {header_columns} "
                        "columns")
    if in_quote:
        return (f"{_where(path, *opened)}: a quoted value opens here and is never closed (a \" without its "
                "closing \"); fix the quoting and export again")
    return None


_QUOTE_OR_COMMA = re.compile(rb'[",]')


def _scan_quotes(body: bytes, number: int, column: int, in_quote: bool,
                 opened: tuple[int, int]) -> tuple[str | None, int, bool, tuple[int, int]]:
    """One line of a CSV file through RFC 4180's quoting: (problem, column, still in a quoted value,
    where it opened). A quote opens a value only at its start; inside, "" is a quote and a lone "
    closes it, which a comma or the line's end must follow."""
    field_start = 0
    events = [(m.start(), m.group()) for m in _QUOTE_OR_COMMA.finditer(body)]
    i = 0
    while i < len(events):
        position, char = events[i]
        if in_quote:
            if char == b'"':
                if body[position + 1:position + 2] == b'"':
                    i += 1  # an escaped quote
                else:
                    in_quote = False
                    if position + 1 < len(body) and body[position + 1:position + 2] != b",":
                        return "text follows the closing quote of a quoted value", column, in_quote, opened
        elif char == b",":
            column += 1
            field_start = position + 1
        elif position == field_start:
            in_quote, opened = True, (number, column)
        else:
            return "a quote inside a value that does not start with one", column, in_quote, opened
        i += 1
    return None, column, in_quote, opened


def is_csv(path: Path) -> bool:
    return path.name.lower().endswith((".csv", ".csv.gz"))


def file_error(path: Path, display_name: str, exc: BaseException) -> ExtractError:
    """The one-line refusal of a file a reader failed on: where the file breaks when that can be
    found, else the reader's reason without what it quoted."""
    problem = None if _is_parquet(path) else find_csv_problem(path, csv_rules=is_csv(path))
    if problem:
        return ExtractError(f"{display_name}: {problem}")
    what = "cannot be read as Parquet" if _is_parquet(path) else "cannot be read"
    return ExtractError(f"{display_name}: {what}: {safe_reason(exc)}")


def extract_error(exc: BaseException, fmt: str, paths: Iterable[Path]) -> ExtractError:
    """file_error for a plan that reads several files (an adapter's joins): the first of them found
    broken, else the reader's reason without what it quoted."""
    for path in paths:
        problem = None if _is_parquet(path) else find_csv_problem(path, csv_rules=is_csv(path))
        if problem:
            return ExtractError(f"{path}: {problem}")
    return ExtractError(f"the {fmt} extract cannot be read: {safe_reason(exc)}")


def refuse_lossy_header(path: Path, display_name: str, columns: Iterable[str]) -> None:
    """polars decodes a header that is not UTF-8 with replacement characters (a latin-1 byte turns
    `description` into `descr�ption`, and the column is dropped as unknown) where it refuses the same
    byte in a data row: refuse both the same way."""
    if any("\ufffd" in column for column in columns):
        problem = find_csv_problem(path, csv_rules=is_csv(path))
        if problem:
            raise ExtractError(f"{display_name}: {problem}")


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
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise file_error(path, display_name, exc) from exc


def read_header(path: Path, display_name: str) -> list[str]:
    """The column names of a file (lower-cased), read without its data."""
    if _is_parquet(path):
        with _readable(path, display_name):
            return [c.lower() for c in pl.read_parquet_schema(path)]
    columns = _read_csv(path, display_name, n_rows=0).columns
    refuse_lossy_header(path, display_name, columns)
    return [c.strip().lower() for c in columns]


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
    if not _is_parquet(path):
        refuse_lossy_header(path, display_name, columns)
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
    # Trimmed once, here, except free text (spec.FREE_TEXT_COLUMNS), which is kept as written.
    trimmed = frame.with_columns(pl.col([c for c in text if c not in FREE_TEXT_COLUMNS]).str.strip_chars())
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

