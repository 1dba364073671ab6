"""`cramp-audit schedule` without a Prefect server: the loop that keeps the cron schedule in this
process, driven by a fake clock and a fake run (nothing here starts Prefect), and the command's
refusals; plus `run --db` on a file that is not a DuckDB database."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cramp_audit import schedule
from cramp_audit.cli import main
from cramp_audit.db import DatabaseBusyError, NotADatabaseError, connect
from cramp_audit.pipeline import EvaluateResult, RunSummary

SAMPLE = Path(__file__).resolve().parent.parent / "data_samples" / "sample"
SUNDAY_23H = datetime(2025, 1, 5, 23, 0)
MONDAY_6H = datetime(2025, 1, 6, 6, 0)


class FakeClock:
    """now() and sleep() for the loop: sleeping moves the clock; after `stop_after` runs the next sleep
    is interrupted the way Ctrl-C interrupts it."""

    def __init__(self, start: datetime, stop_after: int) -> None:
        self.time, self.stop_after, self.runs = start, stop_after, []

    def now(self) -> datetime:
        return self.time

    def sleep(self, seconds: float) -> None:
        if len(self.runs) >= self.stop_after:
            raise KeyboardInterrupt
        self.time += timedelta(seconds=seconds)

    def run(self, *outcomes, takes: timedelta = timedelta(minutes=5)):
        """A run function that records when it started, takes `takes`, and returns (or raises) the next outcome."""
        pending = list(outcomes)

        def run() -> str:
            self.runs.append(self.time)
            self.time += takes
            outcome = pending.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return run


def _loop(cron: str, clock: FakeClock, run) -> list[str]:
    lines: list[str] = []
    schedule.run_on_schedule(cron, run, now=clock.now, sleep=clock.sleep, say=lines.append)
    return lines


def test_first_run_is_at_the_next_fire_time_and_the_line_names_the_one_after():
    clock = FakeClock(SUNDAY_23H, stop_after=1)
    lines = _loop("0 6 * * 1", clock, clock.run("run r1 succeeded"))
    assert clock.runs == [MONDAY_6H]
    assert lines == ["schedule '0 6 * * 1' in local time; first run at Mon 2025-01-06 06:00 (Ctrl-C stops)",
                     "2025-01-06 06:00:00 run r1 succeeded; next run at Mon 2025-01-13 06:00",
                     "schedule stopped"]


def test_a_failed_run_is_reported_in_one_line_and_the_schedule_goes_on():
    clock = FakeClock(SUNDAY_23H, stop_after=3)
    busy = DatabaseBusyError("audit.duckdb: another cramp-audit run (pid 7) is writing this database")
    run = clock.run(busy, RuntimeError("boom\nwith a second line"), "run r3 succeeded")
    lines = _loop("0 6 * * 1", clock, run)
    assert clock.runs == [MONDAY_6H, MONDAY_6H + timedelta(days=7), MONDAY_6H + timedelta(days=14)]
    assert lines[1] == ("2025-01-06 06:00:00 run failed: DatabaseBusyError: audit.duckdb: another cramp-audit run "
                        "(pid 7) is writing this database; next run at Mon 2025-01-13 06:00")
    assert lines[2] == "2025-01-13 06:00:00 run failed: RuntimeError: boom; next run at Mon 2025-01-20 06:00"
    assert lines[3].startswith("2025-01-20 06:00:00 run r3 succeeded")
    assert lines[-1] == "schedule stopped"


def test_a_run_that_overruns_fire_times_is_not_overlapped_nor_caught_up():
    clock = FakeClock(MONDAY_6H - timedelta(minutes=30), stop_after=2)
    lines = _loop("0 * * * *", clock, clock.run("run r1 succeeded", "run r2 succeeded", takes=timedelta(hours=2.5)))
    # 06:00 runs until 08:30: 07:00 and 08:00 pass during it; the next run is 09:00.
    assert clock.runs == [MONDAY_6H, MONDAY_6H + timedelta(hours=3)]
    assert lines[1] == "2025-01-06 06:00:00 run r1 succeeded; next run at Mon 2025-01-06 09:00"


def test_an_interrupt_during_a_run_stops_the_schedule_and_says_so():
    clock = FakeClock(SUNDAY_23H, stop_after=1)
    lines = _loop("0 6 * * 1", clock, clock.run(KeyboardInterrupt()))
    assert lines[-1] == "schedule stopped; the run in progress was interrupted"


def test_sigterm_stops_the_schedule_like_ctrl_c_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)

    def terminated(seconds: float) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    lines: list[str] = []
    schedule.run_on_schedule("0 6 * * 1", lambda: "not reached", now=lambda: SUNDAY_23H, sleep=terminated,
                             say=lines.append)
    assert lines[-1] == "schedule stopped"
    assert signal.getsignal(signal.SIGTERM) is before


# ---------------------------------------------------------------- the command, without a Prefect server

@pytest.fixture
def local_mode(monkeypatch):
    """`schedule` with no PREFECT_API_URL: runs recorded instead of started, serving refused, no local server
    started, the loop on a fake clock that stops after one run."""
    from cramp_audit.flows import audit, local_server

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(local_server, "for_runs", lambda say: contextlib.nullcontext())
    monkeypatch.setattr(audit, "uses_server", lambda: False)  # whatever the developer's Prefect profile says
    monkeypatch.setattr(audit.audit_flow, "serve", lambda **kwargs: pytest.fail("served without a server"))
    requests = []

    def fake_run_flow(request, progress=None):
        requests.append(request)
        return RunSummary(run_id="r1", status="succeeded", evaluation=EvaluateResult(1234, "2024-01-01", "2024-12-31"),
                          reports_dir="reports/r1")

    monkeypatch.setattr(audit, "run_flow", fake_run_flow)
    clock = FakeClock(SUNDAY_23H, stop_after=1)
    clock.runs = requests  # the clock stops after the first run_flow call
    monkeypatch.setattr(schedule, "run_on_schedule",
                        functools.partial(schedule.run_on_schedule, now=clock.now, sleep=clock.sleep))
    return requests


def test_schedule_without_a_server_runs_the_flow_itself_until_stopped(local_mode, tmp_path, capsys):
    argv = ["schedule", "--cron", "0 6 * * 1", str(SAMPLE), "--db", str(tmp_path / "cramp_audit.duckdb"),
            "--wait", "30"]
    assert main(argv) == 0
    [request] = local_mode
    assert request.lock_wait_seconds == 30 and request.db_path == str(tmp_path / "cramp_audit.duckdb")
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == ("2025-01-06 06:00:00 run r1 succeeded: cohort 1,234 patients; reports: reports/r1; "
                        "next run at Mon 2025-01-13 06:00")
    assert lines[-1] == "schedule stopped"


def test_schedule_with_no_prefect_runs_plain_functions_and_starts_no_server(local_mode, monkeypatch, tmp_path, capsys):
    from cramp_audit.flows import audit, local_server

    from cramp_audit import pipeline

    monkeypatch.setattr(local_server, "for_runs", lambda say: pytest.fail("started a Prefect server"))
    monkeypatch.setattr(audit, "run_flow", lambda *args, **kwargs: pytest.fail("ran through Prefect"))

    def plain_run(request, progress=None):
        local_mode.append(request)  # the fake clock stops after one run
        return RunSummary(run_id="r1", status="succeeded", evaluation=EvaluateResult(7, "2024-01-01", "2024-12-31"),
                          reports_dir="reports/r1")

    monkeypatch.setattr(pipeline, "run_audit", plain_run)
    argv = ["schedule", "--cron", "0 6 * * 1", str(SAMPLE), "--db", str(tmp_path / "a.duckdb"), "--no-prefect"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("2025-01-06 06:00:00 run r1 succeeded: cohort 7 patients")


@pytest.mark.parametrize("server", [False, True], ids=["local", "server"])
@pytest.mark.parametrize("cron", ["bogus", "61 6 * * 1", "0 0 6 * * 1"])
def test_schedule_refuses_a_bad_cron_expression_in_one_line_and_starts_nothing(local_mode, monkeypatch, capsys,
                                                                               cron, server):
    from cramp_audit.flows import audit

    served: list[dict] = []
    monkeypatch.setattr(audit, "uses_server", lambda: server)
    monkeypatch.setattr(audit.audit_flow, "serve", lambda **kwargs: served.append(kwargs))
    assert main(["schedule", "--cron", cron, str(SAMPLE)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("cramp-audit: error: argument --cron: not a cron expression")
    assert repr(cron) in err[0]
    assert local_mode == [] and served == []  # neither the local loop nor the Prefect server got it


def test_schedule_refuses_a_missing_extract_folder_in_one_line_and_starts_nothing(local_mode, tmp_path, capsys):
    missing = tmp_path / "no-such-extract"
    assert main(["schedule", "--cron", "0 6 * * 1", str(missing)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"cramp-audit: error: {missing}: no such folder"]
    assert local_mode == []


# ---------------------------------------------------------------- --db that is not a DuckDB database

@pytest.mark.parametrize("kind", ["text", "sqlite"])
def test_run_refuses_a_db_that_is_not_a_duckdb_database_before_anything_starts(local_mode, tmp_path, capsys, kind):
    import sqlite3

    other = tmp_path / f"other.{kind}"
    if kind == "text":
        other.write_text("not a database\n")
    else:  # DuckDB would open it through its sqlite extension (and write audit.* into it) if allowed
        with sqlite3.connect(other) as sqlite:
            sqlite.execute("CREATE TABLE t (a)")
    before = other.read_bytes()
    assert main(["run", str(SAMPLE), "--db", str(other), "--reports", str(tmp_path / "reports")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"cramp-audit: error: {other}: not a DuckDB database (") and "not a valid DuckDB" in line
    assert local_mode == [] and other.read_bytes() == before


def test_connect_names_a_foreign_file_or_folder_and_still_creates_a_new_database(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    for path in (text, tmp_path):
        with pytest.raises(NotADatabaseError, match=f"^{re.escape(str(path))}: not a DuckDB database"):
            connect(path)
    fresh = tmp_path / "new" / "cramp_audit.duckdb"
    fresh.parent.mkdir()
    connect(fresh).close()
    assert fresh.is_file()


# ---------------------------------------------------------------- the real command, Prefect in local mode

def test_schedule_in_local_mode_keeps_one_server_for_its_runs_and_sigterm_leaves_no_process(tmp_path, prefect_home):
    """Two scheduled runs (the clock skips the waits: tests/fast_clock_schedule.py) through Prefect's local
    mode use one local server, started once; SIGTERM then stops the schedule and the server with it."""
    import subprocess
    import sys
    import time

    import psutil
    from conftest import REPO, prefect_env

    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    command = [sys.executable, str(REPO / "tests" / "fast_clock_schedule.py"), "2", "schedule", "--cron", "0 6 * * *",
               str(SAMPLE), "--db", str(tmp_path / "cramp_audit.duckdb"), "--reports", str(tmp_path / "reports")]
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen(command, cwd=REPO, env=prefect_env(prefect_home(tmp_path / "prefect-home")),
                                   stdout=stdout, stderr=stderr, text=True)
    try:
        deadline = time.monotonic() + 480
        while out.read_text().count(" succeeded: cohort ") < 2 and process.poll() is None:
            assert time.monotonic() < deadline, err.read_text()[-3000:]
            time.sleep(0.5)
        assert process.poll() is None, err.read_text()[-3000:]
        descendants = psutil.Process(process.pid).children(recursive=True)
        assert [p.cmdline()[1] for p in descendants] == [str(REPO / "flows" / "local_server.py")]
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert alive == []
    lines, log = out.read_text().splitlines(), err.read_text()
    assert [line.split()[4] for line in lines[1:3]] == ["succeeded:", "succeeded:"] and lines[-1] == "schedule stopped"
    assert log.count("cramp-audit: starting Prefect's local server") == 1
    assert log.count("Prefect's local server is ready") == 1 and log.count("Beginning flow run") == 2
    assert "Traceback" not in log and "address already in use" not in log
