"""A run started through Prefect's local mode while both cores of the machine are busy succeeds: the
local server may be slow to start, and the command waits for it (saying so) instead of failing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from conftest import cramp_audit, prefect_env

from cramp_audit.db import connect

BUSY_LOOP = "while True: pass"


def test_a_run_through_prefect_succeeds_while_two_busy_loops_hold_both_cores(tmp_path, prefect_home):
    loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(max(2, os.cpu_count() or 2))]
    try:
        time.sleep(1)  # the loops have the cores before the run starts
        assert all(loop.poll() is None for loop in loops)
        started = time.monotonic()
        done = cramp_audit("run", "--db", str(tmp_path / "cramp_audit.duckdb"), "--reports", str(tmp_path / "reports"),
                           env=prefect_env(prefect_home(tmp_path / "prefect-home")))
        took = time.monotonic() - started
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert lines[0].startswith("cramp-audit: starting Prefect's local server (no PREFECT_API_URL set); this may "
                               "take up to 240 s")
    [ready] = [line for line in lines if "Prefect's local server is ready" in line]
    print(f"run took {took:.1f} s with both cores busy; {ready}")
    con = connect(tmp_path / "cramp_audit.duckdb", read_only=True)
    try:
        [(status,)] = con.execute("SELECT status FROM audit.runs").fetchall()
    finally:
        con.close()
    assert status == "succeeded"
