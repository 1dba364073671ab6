"""`cramp-audit schedule ARGS` with a clock that skips the waits before its first `RUNS` runs (then
waits in real time, until stopped): the real command, server and runs, without waiting for cron times.
Run as a script by tests/test_schedule.py: python tests/fast_clock_schedule.py RUNS ARGS..."""

from __future__ import annotations

import functools
import sys
import time
from datetime import datetime, timedelta

from cramp_audit import cli, schedule


def main(runs: int, argv: list[str]) -> int:
    skipped = timedelta()
    started: list[datetime] = []
    real_run = cli._scheduled_run

    def now() -> datetime:
        return datetime.now() + skipped

    def sleep(seconds: float) -> None:
        nonlocal skipped
        if len(started) < runs:
            skipped += timedelta(seconds=seconds)
        else:
            time.sleep(seconds)

    def counted_run(*args, **kwargs):
        started.append(now())
        return real_run(*args, **kwargs)

    cli._scheduled_run = counted_run
    schedule.run_on_schedule = functools.partial(schedule.run_on_schedule, now=now, sleep=sleep)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2:]))
