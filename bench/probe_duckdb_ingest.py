"""A probe, not part of the product or of `make bench`: what an ingest done wholly inside DuckDB
would cost, to check whether another design could meet the floor ratios (bench/PROFILE.md, "What
would meet the floor ratios"). Every row of every table is read by DuckDB's parallel reader, each
value trimmed and cast with try_cast, the required-value / code-system / date checks evaluated as
SQL, patient and encounter ids checked by hash join, and only the rows of patients with a
leg-cramps code (R25.2, 729.85, SNOMED 449917009) appended to persistent tables.

    .venv/bin/python -m bench.probe_duckdb_ingest bench/cache/extracts/csv-1000000 [--no-joins] [--no-trim]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb
from cramp_audit.schemas.spec import CODE_SYSTEMS, TABLES, Table

LEG_CRAMP_CODES = ("R252", "72985", "449917009")


def _reader(folder: Path, table: str) -> str:
    parquet = folder / f"{table}.parquet"
    if parquet.exists():
        return f"read_parquet('{parquet}')"
    return f"read_csv('{folder / f'{table}.csv'}', all_varchar = true, header = true)"


def _checked_select(folder: Path, table: Table, joins: bool, trim: bool) -> tuple[str, int]:
    """SELECT of the table's typed columns, one flag per check and `keep` (a cohort candidate's row)."""
    columns, checks = [], []
    for col in table.columns:
        value = f"nullif(trim({col.name}::VARCHAR), '')" if trim else f"nullif({col.name}::VARCHAR, '')"
        if col.dtype in ("date", "number"):
            sql_type = "DATE" if col.dtype == "date" else "DOUBLE"
            columns.append(f"try_cast({value} AS {sql_type}) AS {col.name}")
            checks.append(f"({value} IS NOT NULL AND try_cast({value} AS {sql_type}) IS NULL)")
            if col.dtype == "date":
                checks.append(f"(try_cast({value} AS DATE) < DATE '1900-01-01')")
        else:
            columns.append(f"{value} AS {col.name}")
        if col.required:
            checks.append(f"({value} IS NULL)")
    if table.name in CODE_SYSTEMS:
        checks.append(f"(upper(trim(code_system)) NOT IN {tuple(CODE_SYSTEMS[table.name])})")
    join_sql = ""
    if joins and table.name != "patients":
        join_sql += " LEFT JOIN patient_ids AS p ON p.id = trim(s.patient_id)"
        checks.append("(p.id IS NULL)")
    if joins and "encounter_id" in table.column_names and table.name != "encounters":
        join_sql += " LEFT JOIN encounter_ids AS e ON e.id = trim(s.encounter_id)"
        checks.append("(s.encounter_id IS NOT NULL AND e.id IS NULL)")
    flags = ", ".join(f"{check} AS failed_{i}" for i, check in enumerate(checks))
    select = (f"SELECT {', '.join(columns)}, {flags}, trim(s.patient_id) IN (SELECT id FROM candidates) AS keep "
              f"FROM {_reader(folder, table.name)} AS s{join_sql}")
    return select, len(checks)


def probe(folder: Path, joins: bool, trim: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        con = duckdb.connect(str(Path(scratch) / "probe.duckdb"))
        con.execute("SET preserve_insertion_order = false")
        started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        con.execute(f"CREATE TEMP TABLE patient_ids AS SELECT DISTINCT trim(patient_id) AS id "
                    f"FROM {_reader(folder, 'patients')}")
        con.execute(f"CREATE TEMP TABLE encounter_ids AS SELECT DISTINCT trim(encounter_id) AS id "
                    f"FROM {_reader(folder, 'encounters')}")
        con.execute(f"CREATE TEMP TABLE candidates AS SELECT DISTINCT trim(patient_id) AS id "
                    f"FROM {_reader(folder, 'diagnoses')} "
                    f"WHERE replace(upper(trim(code)), '.', '') IN {LEG_CRAMP_CODES}")
        for table in TABLES:
            select, n_checks = _checked_select(folder, table, joins, trim)
            failed = " OR ".join(f"coalesce(failed_{i}, false)" for i in range(n_checks))
            # Failing rows would become quarantine rows; kept rows go to a persistent staging table.
            con.execute(f"CREATE TEMP TABLE checked AS SELECT * FROM ({select}) WHERE keep OR {failed}")
            con.execute(f"CREATE TABLE {table.name} AS SELECT * EXCLUDE (keep) FROM checked WHERE keep")
            con.execute("DROP TABLE checked")
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"{folder.name} joins={joins} trim={trim}: wall {time.perf_counter() - started:.1f} s, CPU {cpu:.1f} s")
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--no-joins", action="store_true", help="skip the known-patient / encounter checks")
    parser.add_argument("--no-trim", action="store_true", help="take values as the file has them")
    args = parser.parse_args()
    probe(args.folder, joins=not args.no_joins, trim=not args.no_trim)


if __name__ == "__main__":
    main()
