"""DuckDB access: the SQL files of sql/, the database file's tables, and one writer at a time."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

import sql

SQL_DIR = Path(sql.__file__).parent


class DatabaseBusyError(Exception):
    """Another cramp-audit run holds the database."""


class NotADatabaseError(Exception):
    """The database path names a file (or folder) that is not a DuckDB database: bad usage, not a failed run."""


def sql_text(name: str) -> str:
    """The text of a file under sql/ (e.g. "staging.sql", "reports/rule_summary.sql")."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def run_sql_file(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(sql_text(name))


def set_variable(con: duckdb.DuckDBPyConnection, name: str, value: object, sql_type: str) -> None:
    """SET VARIABLE `name` (an identifier, so placed in the statement) to `value` (bound) as `sql_type`;
    the SQL reads it as getvariable('name')."""
    con.execute(sql_text("set_variable.sql").format(name=name, type=sql_type), {"value": value})


def initialise(con: duckdb.DuckDBPyConnection) -> None:
    """Creates every schema and table a run needs (idempotent: earlier runs stay intact)."""
    for name in ("staging.sql", "audit_tables.sql", "latest_views.sql", "run_schemas.sql"):
        run_sql_file(con, name)


@contextmanager
def exclusive(db_path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Holds an advisory lock beside the database for a whole run, so a second run on the same file
    is refused (or waits) instead of interleaving with the first. The OS drops the lock if the
    process dies, so a killed run never blocks the next one."""
    import time

    lock_path = Path(f"{db_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise DatabaseBusyError(
                        f"{db_path}: another cramp-audit run ({holder}) is writing this database; "
                        "try again when it has finished") from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


# DuckDB names a database after its file, so `audit.duckdb` opened directly is a catalog "audit" that
# holds a schema "audit", and `audit.runs` is ambiguous. Attaching the file under another name keeps
# every query as the spec writes it (audit.runs, staging.labs); views in the file use names without
# a schema, so they work however the file is opened.
CATALOG = "cramp"


def connect(db_path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the database file in which `audit.*`, `staging.*` ... resolve as documented."""
    con = duckdb.connect()
    try:
        con.execute(sql_text("attach_database.sql").format(catalog=CATALOG),
                    {"path": str(db_path), "read_only": read_only})
        # Large joins spill beside the database rather than failing for want of memory.
        con.execute(sql_text("use_database.sql").format(catalog=CATALOG), {"temp_directory": f"{db_path}.tmp"})
        return con
    except duckdb.IOException as exc:
        con.close()
        message = str(exc)
        if "lock" in message.lower():
            raise DatabaseBusyError(f"{db_path}: the database is open in another process (a DuckDB client "
                                    "or another run); close it and try again") from exc
        # A file that does not exist yet is created above; one that exists but is not DuckDB's is refused.
        if "not a valid DuckDB database" in message or Path(db_path).is_dir():
            first_line = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
            raise NotADatabaseError(f"{db_path}: not a DuckDB database ({first_line})") from exc
        raise
