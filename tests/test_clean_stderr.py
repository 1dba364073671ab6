"""What the commands print on stderr, run as a user runs them (subprocesses): a normal run through
Prefect's local mode, `validate` and `rules` print no ERROR line, no DuckDB leak report and no
traceback; a refused extract reads the same with and without Prefect, and a run stopped by SIGTERM
says so, in one line each, no traceback, no ERROR line."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys

import duckdb
import pytest
from conftest import REPO, SAMPLE, cramp_audit, prefect_env

NOISE = ("ERROR", "leaked", "Traceback")


def _noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(word in line for word in NOISE)]


def test_a_run_through_prefect_in_local_mode_prints_no_error_no_leak_no_traceback(local_flow_run):
    _, done = local_flow_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert _noise(done.stderr) == []
    assert "telemetry" not in done.stderr and "Error logging to API" not in done.stderr


@pytest.mark.parametrize("command", [["validate", str(SAMPLE)], ["rules"]], ids=["validate", "rules"])
def test_validate_and_rules_print_no_error_no_leak_no_traceback(command, tmp_path):
    done = cramp_audit(*command, env=prefect_env(tmp_path / "prefect-home"))
    assert done.returncode == 0, done.stderr
    assert _noise(done.stderr) == [] and done.stdout


def _latin1_in_line_27_of_medications(folder):
    path = folder / "medications.csv"
    lines = path.read_bytes().split(b"\n")
    lines[26] = lines[26].replace(b",", b"\xe9,", 1)  # "é" as latin-1 wrote it
    path.write_bytes(b"\n".join(lines))
    return "medications.csv: line 27 is not valid UTF-8 (column 1, 'order_id'); re-export the file as UTF-8"


def _medications_without_start_date(folder):
    path = folder / "medications.csv"
    header, *rows = path.read_text().splitlines()
    drop = header.split(",").index("start_date")
    path.write_text("\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != drop)
                              for line in [header, *rows]) + "\n")
    return f"{path}: required column 'start_date' missing"


def _refusal_lines(stderr: str) -> list[str]:
    """stderr without the progress lines (the command's own and Prefect's INFO lines)."""
    return [line for line in stderr.splitlines()
            if not (line.startswith("cramp-audit: ") and not line.startswith("cramp-audit: error: "))
            and " | INFO    | " not in line]


@pytest.mark.parametrize("spoil", [_latin1_in_line_27_of_medications, _medications_without_start_date],
                         ids=["latin-1 byte", "missing column"])
def test_a_refused_extract_reads_the_same_with_and_without_prefect(spoil, tmp_path, prefect_server):
    extract = tmp_path / "extract"
    shutil.copytree(SAMPLE, extract)
    message = spoil(extract)
    shown = {}
    for mode, extra in (("plain", ["--no-prefect"]), ("prefect", [])):
        db = tmp_path / f"{mode}.duckdb"
        done = cramp_audit("run", str(extract), "--db", str(db), "--reports", str(tmp_path / "reports"), *extra,
                           env=prefect_env(tmp_path / "prefect-home", api_url=prefect_server))
        assert done.returncode == 2, done.stderr[-3000:]
        assert "Traceback" not in done.stderr and "leaked" not in done.stderr
        shown[mode] = _refusal_lines(done.stderr)
        assert not db.exists()  # refused: the database is untouched (here: never created)
    assert shown["plain"] == shown["prefect"] == [f"cramp-audit: error: {message}"]


def test_a_refused_run_is_still_a_failed_flow_and_task_in_prefect(tmp_path, prefect_server):
    """The refusal stays off the terminal only: the Prefect server has the run's ingest task failed with it."""
    from prefect.client.orchestration import get_client

    extract = tmp_path / "extract"
    shutil.copytree(SAMPLE, extract)
    message = _latin1_in_line_27_of_medications(extract)
    db = str(tmp_path / "cramp_audit.duckdb")
    done = cramp_audit("run", str(extract), "--db", db, env=prefect_env(tmp_path / "home", api_url=prefect_server))
    assert done.returncode == 2

    async def recorded():
        async with get_client() as client:
            [flow_run] = [r for r in await client.read_flow_runs()
                          if r.parameters.get("request", {}).get("db_path") == db]
            return flow_run, [t for t in await client.read_task_runs() if t.flow_run_id == flow_run.id]

    flow_run, task_runs = asyncio.run(recorded())
    assert flow_run.state.is_failed() and message in flow_run.state.message
    [ingest] = task_runs
    assert ingest.name.startswith("ingest-validate-load") and ingest.state.is_failed()
    assert f"ExtractError: {message}" in ingest.state.message


def test_a_run_stopped_by_sigterm_through_prefect_prints_one_line_and_is_crashed_in_prefect(tmp_path, prefect_server):
    """A scheduler's `timeout` or `kill` mid-run: the command's one line says the run was stopped and
    nothing was published; Prefect's own "Crash detected!" ERROR lines stay off the terminal but the
    flow run is still recorded as crashed on the server."""
    from prefect.client.orchestration import get_client

    db = str(tmp_path / "cramp_audit.duckdb")
    run = subprocess.Popen([sys.executable, "-m", "cramp_audit.cli", "run", "--db", db,
                            "--reports", str(tmp_path / "reports")], cwd=REPO, text=True,
                           env=prefect_env(tmp_path / "home", api_url=prefect_server),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    for line in run.stderr:
        seen.append(line)
        if "loaded patients" in line:  # mid-load: five more tables to go
            run.send_signal(signal.SIGTERM)
            break
    seen.append(run.stderr.read())
    run.wait(timeout=120)
    stderr = "".join(seen)
    assert run.returncode == 1, stderr[-3000:]
    assert _noise(stderr) == [], stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == (
        "cramp-audit: terminated; a run that had not published is marked failed and audit.* keeps none of its rows")

    async def recorded():
        async with get_client() as client:
            return [r for r in await client.read_flow_runs()
                    if r.parameters.get("request", {}).get("db_path") == db]

    [flow_run] = asyncio.run(recorded())
    assert flow_run.state.is_crashed() and "termination signal" in flow_run.state.message
    con = duckdb.connect(db, read_only=True)
    try:  # the line's claim: the run is marked failed, and nothing of it was published
        [(status, run_id)] = con.execute("SELECT status, run_id FROM audit.runs").fetchall()
        [(published,)] = con.execute("SELECT count(*) FROM audit.rule_results WHERE run_id = ?", [run_id]).fetchall()
    finally:
        con.close()
    assert (status, published) == ("failed", 0)
