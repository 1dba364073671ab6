"""The floor: DuckDB parsing every column of every table file of the extract once, in this process.

How DuckDB is kept from skipping work: each file is read with type detection on (`all_varchar=false`,
so dates and numbers are converted, not just split) and every column feeds a filter,
`WHERE hash(COLUMNS(*)) IS NOT NULL`, which expands to one `hash(col) IS NOT NULL` per column; the
projection pushdown therefore keeps all columns and every value is materialised and hashed. The
generator's deliberately bad rows (an unparseable date, a non-numeric lab value) would stop a typed
read, so CSV is read with `ignore_errors=true`: those few rows are still parsed, then dropped.

Which files and which reader are told by the folder's files (bench/extracts.py `table_files`):
canonical CSV or Parquet table files; for a FHIR bulk export every NDJSON file, read by `read_json`
(`format='newline_delimited'`, nested fields detected as STRUCT / LIST columns, so hashing a column
materialises every field under it; `ignore_errors=true` as for CSV: a line whose value does not fit
the detected type is parsed, then dropped); for OMOP every CSV table file, with the CSV reader."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from bench.extracts import table_files

FULL_PARSE = "SELECT count(*) FROM (SELECT * FROM {reader}) WHERE hash(COLUMNS(*)) IS NOT NULL"


def _reader(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    name = path.name.lower()
    if name.endswith(".parquet"):
        return f"read_parquet('{quoted}')"
    if name.endswith((".ndjson", ".ndjson.gz")):
        return f"read_json('{quoted}', format='newline_delimited', ignore_errors=true)"
    return f"read_csv('{quoted}', all_varchar=false, ignore_errors=true)"


def measure_floor(folder: Path) -> tuple[float, int]:
    """Seconds to parse every table file of the extract, and the rows DuckDB counted."""
    files = table_files(folder)
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        rows = sum(con.execute(FULL_PARSE.format(reader=_reader(path))).fetchone()[0] for path in files)
        return time.perf_counter() - started, rows
    finally:
        con.close()
