"""What Prefect would print or send that a user of the commands must not get: a traceback on the
terminal for a refusal the command already reports in one line, analytics from an offline hospital
machine, and (through the exceptions it keeps) DuckDB's leak report when the process exits."""

from __future__ import annotations

import logging
import os
import traceback

from cramp_audit.transforms.base import ExtractError

from cramp_audit.config import ConfigError
from cramp_audit.db import DatabaseBusyError, NotADatabaseError

# The errors `cramp-audit` reports as one line (exit 2, or 3 for a busy database), with or without Prefect.
REFUSALS: tuple[type[Exception], ...] = (ExtractError, ConfigError, NotADatabaseError, DatabaseBusyError)

# Prefect's client sends usage events unless DO_NOT_TRACK is set (its server side is switched off in
# flows/local_server.py); a user who wants them sets DO_NOT_TRACK=0.
CLIENT_DEFAULTS = {"DO_NOT_TRACK": "1"}


def no_analytics() -> None:
    for name, value in CLIENT_DEFAULTS.items():
        os.environ.setdefault(name, value)


# How Prefect's records of a run stopped by Ctrl-C or SIGTERM begin ("Crash detected! Execution was
# aborted by a termination signal.", "Finished in state Crashed('Execution was aborted by an interrupt
# signal.')"): the command says once, in one line, that the run was stopped and what was kept.
STOPPED = ("Execution was aborted by an interrupt signal", "Execution was aborted by a termination signal")


class RefusalsOffTheConsole(logging.Filter):
    """Keeps Prefect's records of a refused or stopped run off the terminal (the command prints the
    refusal, or that it was stopped, once, in one line, as it does without Prefect); the API handler
    still sends them, so the task and the flow run show as failed or crashed, with the reason, in
    Prefect's UI."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], REFUSALS):
            return False  # "Encountered exception during execution" / "Task run failed with exception", with traceback
        message = record.getMessage()
        if message.startswith(("Crash detected! ", "Finished in state Crashed(")) and any(
                stop in message for stop in STOPPED):
            return False
        # "Finished in state Failed('Task run encountered an exception ExtractError: …')" (state messages
        # name the exception's class, the record carries no exception)
        return not (message.startswith("Finished in state Failed(")
                    and any(f"{refusal.__name__}: " in message for refusal in REFUSALS))


def refusals_off_the_console() -> None:
    """Adds the filter to Prefect's console handler (Prefect configures logging when it is imported)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, RefusalsOffTheConsole) for f in handler.filters):
            handler.addFilter(RefusalsOffTheConsole())


def release_frames(error: BaseException | None, seen: set[int] | None = None) -> None:
    """Prefect keeps a failed run's exception (in the run's state, reachable from its background threads)
    until the process exits; its traceback's frames would keep every DuckDB connection and relation the
    failed steps held, and DuckDB then reports them as leaked at exit ("nanobind: leaked instance").
    Clearing the finished frames' variables keeps the traceback printable and lets them go."""
    seen = set() if seen is None else seen
    if error is None or id(error) in seen:
        return
    seen.add(id(error))
    traceback.clear_frames(error.__traceback__)
    release_frames(error.__cause__, seen)
    release_frames(error.__context__, seen)
