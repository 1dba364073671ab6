"""A run's hold on its database, from its ledger row to its commit: the advisory lock, ONE DuckDB
connection and ONE transaction, shared by the run's steps.

The composition opens a session; the steps, plain functions of (request, run_id) that may run as
Prefect tasks (whose parameters Prefect records, so never a connection), find it by run id:

    with open_session(db_path, wait_seconds, record) as session:   # lock, connection, ledger row
        ...steps: session_for(run_id).con ...                    # all inside the run's transaction
        session.commit()                                           # audit.*, staging.*, ledger at once

Holding the connection for the whole run means no other process can open the file between two
steps (a reader's client in a gap used to make the next step fail as busy). Everything the run
writes after its ledger row is one transaction, so a run that fails or is stopped leaves the
database as the previous run left it (staging.* included), plus its own row marked failed. Nothing
stays behind at module level: the registry holds a session only while it is open."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cramp_audit import ledger
from cramp_audit.db import (
    DatabaseWriteError,
    connect_waiting,
    exclusive,
    first_line,
    initialise,
    real_path,
    sql_text,
    write_error,
)
from cramp_audit.transforms.base import ExtractError

_OPEN: dict[str, RunSession] = {}


class NoSessionError(RuntimeError):
    """A step was called for a run that has no open session in this process."""


class RunTerminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM): handled as Ctrl-C is, under its own name."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a service manager, `kill`) stops the command as Ctrl-C does, as RunTerminated: the run
    in progress is rolled back and marked failed ("terminated"), instead of staying 'running' until the
    next run notices. Only the main thread receives signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up that follows must finish
        raise RunTerminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class RunSession:
    run_id: str
    db_path: str
    con: duckdb.DuckDBPyConnection
    record: ledger.RunRecord     # what the steps learn about the run, written when it closes
    started: bool = False        # a step has begun (so a failure before it is a start-up failure)
    committed: bool = False

    def commit(self) -> None:
        """Publishes everything the run wrote since its ledger row (one COMMIT)."""
        self.con.commit()
        self.committed = True


def session_for(run_id: str) -> RunSession:
    try:
        return _OPEN[run_id]
    except KeyError:
        raise NoSessionError(f"run {run_id}: no run session is open in this process (steps run inside "
                             "pipeline.run_session)") from None


def is_open(run_id: str) -> bool:
    return run_id in _OPEN


@contextmanager
def open_session(db_path: str, wait_seconds: float, record: ledger.RunRecord) -> Iterator[RunSession]:
    """Takes the lock (waiting up to wait_seconds, for the lock and then for DuckDB's own file lock),
    opens the connection, marks runs of dead processes failed and commits this run's ledger row as
    'running', then begins the run's transaction. On the way out without a commit: the transaction
    rolled back and the row marked failed with the error and what the run had learnt (an unreadable
    extract instead leaves no row, and no file if this run created it)."""
    database_file = real_path(db_path)
    database_existed = database_file.exists()
    remove_database = failed = False
    with exclusive(Path(db_path), wait_seconds) as deadline:
        con = connect_waiting(db_path, deadline)
        try:
            _raise_write_errors(db_path, _start, con, record)
            session = RunSession(record.run_id, db_path, con, record)
            _OPEN[record.run_id] = session
            try:
                con.begin()
                yield session
                if not session.committed:
                    raise RuntimeError("the run ended before its results were published")
            except BaseException as exc:
                failed = True
                error = _write_failure(db_path, exc)
                if not session.committed:
                    remove_database = _abandon(session, error or exc) and not database_existed
                if error is not None:
                    raise error from exc
                raise
            finally:
                del _OPEN[record.run_id]
        except BaseException:
            failed = True
            raise
        finally:
            _close(con, db_path, quiet=failed)
            if remove_database:
                for path in (database_file, Path(f"{database_file}.wal")):
                    path.unlink(missing_ok=True)


def _write_failure(db_path: str, exc: BaseException) -> DatabaseWriteError | None:
    """The one-line form of a failed database write anywhere in the exception's chain (a rule's
    error wraps DuckDB's, for instance), else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DatabaseWriteError):
            return current
        # Not only IOException: a write failing in a commit comes as a TransactionException.
        if isinstance(current, duckdb.Error) and (error := write_error(db_path, current)) is not None:
            return error
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _close(con: duckdb.DuckDBPyConnection, db_path: str, quiet: bool) -> None:
    """Closes the connection (DuckDB checkpoints then). When the run already failed, a failure here
    (the same full disk) must not hide that error: the WAL keeps what was committed, and the next
    open replays it."""
    try:
        con.close()
    except duckdb.Error as exc:
        if quiet:
            return
        error = _write_failure(db_path, exc)
        if error is None:
            raise
        raise error from exc


def _start(con: duckdb.DuckDBPyConnection, record: ledger.RunRecord) -> None:
    initialise(con)
    ledger.mark_interrupted_runs(con)
    ledger.start_run(con, record)


def _raise_write_errors(db_path: str, action: Callable[..., None], *args: object) -> None:
    try:
        action(*args)
    except duckdb.Error as exc:
        error = write_error(db_path, exc)
        if error is None:
            raise
        raise error from exc


def _abandon(session: RunSession, exc: BaseException) -> bool:
    """Rolls the run's writes back and closes its ledger row; True when the row was forgotten
    instead (an unreadable extract: the database as it was)."""
    con = session.con
    try:
        con.rollback()
    except duckdb.Error:
        pass  # no transaction open (it failed before BEGIN, or DuckDB already aborted it)
    try:
        if isinstance(exc, ExtractError):
            con.execute(sql_text("ledger/forget_run.sql"), {"run_id": session.run_id})
            return True
        ledger.fail_run(con, session.record, failure_text(exc))
    except duckdb.Error:
        pass  # the ledger cannot be written either (a full disk): the next run marks this one failed
    return False


def failure_text(exc: BaseException) -> str:
    """The error a failed run records: one line, the exception's type and message."""
    if isinstance(exc, RunTerminated):
        return "terminated: the process received SIGTERM before the run finished"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted: Ctrl-C before the run finished"
    return f"{type(exc).__name__}: {first_line(str(exc)) or '(no message)'}"
