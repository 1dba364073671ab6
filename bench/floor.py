"""The floor: DuckDB parsing every column of every table file of the extract once, in this process.

How DuckDB is kept from skipping work: each file is read with type detection on (`all_varchar=false`,
so dates and numbers are converted, not just split) and every column feeds a filter,
`WHERE hash(COLUMNS(*)) IS NOT NULL`, which expands to one `hash(col) IS NOT NULL` per column; the
projection pushdown therefore keeps all columns and every value is materialised and hashed. The
generator's deliberately bad rows (an unparseable date, a non-numeric lab value) would stop a typed
read, so CSV is read with `ignore_errors=true`: those few rows are still parsed, then dropped."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from bench.extracts import table_files

FULL_PARSE = "SELECT count(*) FROM (SELECT * FROM {reader}) WHERE hash(COLUMNS(*)) IS NOT NULL"


def _reader(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if path.name.lower().endswith(".parquet"):
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', all_varchar=false, ignore_errors=true)"


def measure_floor(folder: Path) -> tuple[float, int]:
    """Seconds to parse every table file of the extract, and the rows DuckDB counted."""
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        rows = sum(con.execute(FULL_PARSE.format(reader=_reader(path))).fetchone()[0] for path in table_files(folder))
        return time.perf_counter() - started, rows
    finally:
        con.close()
