"""DuckDB access: the SQL files of sql/, the database file's tables, and one writer at a time."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from cramp_audit.stages import SQL_DIR, run_stage, statement


class DatabaseBusyError(Exception):
    """Another cramp-audit run holds the database."""


class NotADatabaseError(Exception):
    """The database path names a file (or folder) that is not a DuckDB database: bad usage, not a failed run."""


class NoDatabaseError(Exception):
    """A command that reads the database was given a path where there is none: bad usage."""


class DatabaseWriteError(Exception):
    """DuckDB could not write the database file (a full disk, say): one line naming file and cause."""


def sql_text(name: str) -> str:
    """The text of a file under sql/ (e.g. "reports/rule_summary.sql"); pipeline steps are run as
    stages (cramp_audit.stages.run_stage), plumbing statements by name (stages.statement)."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def set_variable(con: duckdb.DuckDBPyConnection, name: str, value: object, sql_type: str) -> None:
    """SET VARIABLE `name` (an identifier, so placed in the statement) to `value` (bound) as `sql_type`;
    the SQL reads it as getvariable('name')."""
    con.execute(statement("set_variable").format(name=name, type=sql_type), {"value": value})


def initialise(con: duckdb.DuckDBPyConnection) -> None:
    """Creates every schema and table a run needs (the schema stage; idempotent: earlier runs stay intact)."""
    run_stage(con, "schema")


# DuckDB 2.0 writes storage version 69 by default, which the DuckDB 1.x clients analysts have
# installed (command line, DBeaver's driver, Python 1.x) refuse to open. v1.5.0 is the newest storage
# version DuckDB 1.5 reads, and it holds everything the audit stores (VARCHAR[], JSON, views).
STORAGE_VERSION = "v1.5.0"
# Names DuckDB gives a database opened directly from a file with this stem, which then clash with
# the audit's schemas: in `audit.duckdb`, `audit.runs` is ambiguous between catalog and schema.
SCHEMA_NAMES = ("audit", "staging", "work", "ref")
POLL_SECONDS = 0.25


def real_path(db_path: Path | str) -> Path:
    """The database file itself, symbolic links resolved: one file, one lock, however it is named."""
    return Path(db_path).resolve()


def ambiguous_name_warning(db_path: Path | str) -> str | None:
    """A one-line warning when the file's stem is one of the audit's schema names, else None."""
    stem = Path(db_path).stem
    if stem.lower() not in SCHEMA_NAMES:
        return None
    return (f"{db_path}: a DuckDB client that opens this file names the database {stem!r}, like the schema "
            f"{stem.lower()}.*, so a plain `SELECT * FROM {stem.lower()}.runs` there is ambiguous; prefer a name such "
            "as cramp_audit.duckdb")


@contextmanager
def exclusive(db_path: Path, wait_seconds: float = 0.0) -> Iterator[float]:
    """Holds an advisory lock beside the database file (its real path, so a symlinked --db shares
    it) for a whole run, so a second run on the same file is refused (or waits) instead of
    interleaving with the first. Yields the deadline (time.monotonic()) of the caller's wait, which
    opening the file then keeps to. The OS drops the lock if the process dies, so a killed run never
    blocks the next one."""
    deadline = time.monotonic() + wait_seconds
    lock_path = Path(f"{real_path(db_path)}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
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
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield deadline
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


# DuckDB names a database after its file, so `audit.duckdb` opened directly is a catalog "audit" that
# holds a schema "audit", and `audit.runs` is ambiguous. Attaching the file under another name keeps
# every query as the spec writes it (audit.runs, staging.labs) whatever the file is called; views in
# the file use names without a schema, so they work however the file is opened.
CATALOG = "cramp"


def connect(db_path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the database file in which `audit.*`, `staging.*` ... resolve as documented.
    A new file is created in STORAGE_VERSION; an existing one is opened in the version it has. A
    symbolic link is followed first, so the write-ahead log (`<file>.wal`) lies beside the file itself
    whichever name opened it."""
    path = real_path(db_path)
    con = duckdb.connect()
    try:
        if read_only or path.exists():
            con.execute(statement("attach_database").format(catalog=CATALOG),
                        {"path": str(path), "read_only": read_only})
        else:
            con.execute(statement("create_database").format(catalog=CATALOG),
                        {"path": str(path), "storage_version": STORAGE_VERSION})
        # Large joins spill beside the database rather than failing for want of memory.
        con.execute(statement("use_database").format(catalog=CATALOG), {"temp_directory": f"{path}.tmp"})
        return con
    except duckdb.IOException as exc:
        con.close()
        message = str(exc)
        if "lock" in message.lower():
            raise DatabaseBusyError(f"{db_path}: the database is open in another process (a DuckDB client "
                                    "or another run); close it and try again") from exc
        # A file that does not exist yet is created above; one that exists but is not DuckDB's is refused.
        if "not a valid DuckDB database" in message or Path(db_path).is_dir():
            raise NotADatabaseError(f"{db_path}: not a DuckDB database ({first_line(message)})") from exc
        if read_only and not Path(db_path).exists():
            raise NoDatabaseError(f"{db_path}: no such database file") from exc
        raise
    except BaseException:
        con.close()
        raise


def connect_waiting(db_path: Path | str, deadline: float) -> duckdb.DuckDBPyConnection:
    """connect(), retried while another process has the file open, until `deadline`
    (time.monotonic()): a reader's client holding the file is waited for like another run."""
    while True:
        try:
            return connect(db_path)
        except DatabaseBusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(POLL_SECONDS)


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


# DuckDB's text for a failed write names the file, then the operating system's reason, e.g.
# `IO Error: Could not write file "x.duckdb": No space left on device`.
_WRITE_FAILURE = re.compile(
    r'(?i)(?:write|writing|extend|truncate|allocate)[^"]*"(?P<file>[^"]+)"[^:]*: (?P<cause>[^.\n]+)')
_WRITE_CAUSES = ("no space left", "file too large", "disk full", "quota exceeded", "read-only file system")


def write_error(db_path: Path | str, exc: duckdb.Error) -> DatabaseWriteError | None:
    """DuckDB's multi-line text of a failed write (a full disk, a file-size limit) as one line naming
    the database file and the operating system's cause; None when `exc` is not a failed write."""
    text = str(exc)
    match = _WRITE_FAILURE.search(text)
    if match is None and not any(cause in text.lower() for cause in _WRITE_CAUSES):
        return None
    if match is None:
        return DatabaseWriteError(f"{db_path}: could not write the database ({first_line(text)})")
    written = Path(match["file"])
    where = "" if written.resolve() == Path(db_path).resolve() else f" (writing {written})"
    return DatabaseWriteError(f"{db_path}: could not write the database{where}: {match['cause'].strip()}")
