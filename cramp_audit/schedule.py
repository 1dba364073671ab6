"""The schedule loop of `cramp-audit schedule` in local mode (no Prefect server): Prefect's temporary
local server cannot schedule runs, so this process keeps the clock. Cron times are the machine's
local wall-clock time. One run at a time: the loop is sequential, so runs never overlap."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from cronsim import CronSim, CronSimError

from cramp_audit.session import sigterm_interrupts

Clock = Callable[[], datetime]  # naive local time, like datetime.now
Sleep = Callable[[float], None]
Run = Callable[[], str]  # one audit run; returns how it ended ("run … succeeded …"), raises if it failed
Say = Callable[[str], None]

# Sleep in short steps and read the clock again: a suspended machine or a clock change must not
# delay a run by the whole wait (time.sleep does not count time spent suspended).
CHECK_EVERY_SECONDS = 60.0
SHOWN = "%a %Y-%m-%d %H:%M"


class CronError(ValueError):
    """The --cron expression is not one this schedule can keep."""


def check_cron(expression: str) -> str:
    """The expression if cronsim accepts it as a five-field cron expression, else CronError (one line)."""
    # Five fields only: cronsim reads a sixth field as seconds first, Prefect's server as seconds last.
    if len(expression.split()) != 5:
        raise CronError(f"not a cron expression: {expression!r} (expected five fields: minute hour "
                        "day-of-month month day-of-week)")
    try:
        CronSim(expression, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise CronError(f"not a cron expression: {expression!r} ({exc})") from None
    return expression


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time strictly after `after` that the expression matches."""
    return next(CronSim(expression, after))


def run_on_schedule(expression: str, run: Run, now: Clock | None = None, sleep: Sleep | None = None,
                    say: Say | None = None) -> None:
    """Runs `run` at each fire time of the cron expression until Ctrl-C or SIGTERM, printing one line
    per run. A failed run is reported and the schedule goes on."""
    now = now or datetime.now
    sleep = sleep or time.sleep
    say = say or _print
    fire = next_fire(expression, now())
    say(f"schedule {expression!r} in local time; first run at {fire:{SHOWN}} (Ctrl-C stops)")
    running = False
    try:
        with sigterm_interrupts():
            while True:
                _sleep_until(fire, now, sleep)
                started = now()
                running = True
                try:
                    outcome = run()
                except Exception as exc:  # noqa: BLE001 - a failed run is reported; the schedule goes on
                    outcome = f"run failed: {type(exc).__name__}: {_first_line(exc)}"
                running = False
                # Runs never overlap: a run that overran one or more fire times does not catch up; the
                # next run is the first fire time after this one finished.
                fire = next_fire(expression, now())
                say(f"{started:%Y-%m-%d %H:%M:%S} {outcome}; next run at {fire:{SHOWN}}")
    except KeyboardInterrupt:
        say("schedule stopped" + ("; the run in progress was interrupted" if running else ""))


def _sleep_until(when: datetime, now: Clock, sleep: Sleep) -> None:
    # Timestamps, not naive differences, so a daylight-saving change in between is counted right.
    while (left := when.timestamp() - now().timestamp()) > 0:
        sleep(min(left, CHECK_EVERY_SECONDS))




def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _print(line: str) -> None:
    print(line, flush=True)
