"""The shipped value sets (sql/valuesets/*.csv) as ref.* tables in DuckDB, read in bulk by DuckDB
itself, with a checksum each run records (audit.runs.value_sets_checksum)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

import sql

VALUESETS_DIR = Path(sql.__file__).parent / "valuesets"

# ref table -> shipped file. Every column is read as text (codes such as 0123 keep their zeros),
# then typed where a number is meant.
REF_TABLES: dict[str, str] = {
    "value_sets": "value_sets.csv",                    # members: value_set, code_system, code, display, source
    "value_set_exclusions": "value_set_exclusions.csv",  # known codes that are NOT members (never text-matched)
    "drug_names": "drug_names.csv",                    # description / route patterns for drug matching
    "unit_conversions": "unit_conversions.csv",        # lab units -> mmol/L, dose units -> mg
}
NUMERIC_COLUMNS = {"unit_conversions": ("factor",)}


def shipped_files() -> list[Path]:
    return [VALUESETS_DIR / name for name in REF_TABLES.values()]


def value_sets_checksum() -> str:
    """sha256 over the shipped files' names and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for path in sorted(shipped_files()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_value_sets(con: duckdb.DuckDBPyConnection) -> str:
    """Creates (replaces) ref.value_sets, ref.value_set_exclusions, ref.drug_names and
    ref.unit_conversions from the shipped CSVs; returns their checksum. Runs inside the caller's
    transaction if one is open."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ref")
    for table, file_name in REF_TABLES.items():
        path = VALUESETS_DIR / file_name
        casts = ", ".join(f"CAST({c} AS DOUBLE) AS {c}" for c in NUMERIC_COLUMNS.get(table, ()))
        columns = f"* REPLACE ({casts})" if casts else "*"
        con.execute(
            f"CREATE OR REPLACE TABLE ref.{table} AS SELECT {columns} FROM read_csv(?, header = true, "
            "all_varchar = true, quote = '\"', escape = '\"')", [str(path)])
    return value_sets_checksum()
