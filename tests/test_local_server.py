"""Prefect's local server as the commands start it (flows/local_server.py): how long they wait for it,
what they say when it cannot start, and that no server outlives the command that started it."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest
from conftest import REPO, SAMPLE, cramp_audit, prefect_env
from cramp_audit.flows import local_server


def _processes_with_home(home) -> list[psutil.Process]:
    """Processes whose environment says PREFECT_HOME=home: a server started for that home, wherever it is."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("PREFECT_HOME") == str(home):
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


@pytest.mark.parametrize("user_set", [None, "75"])
def test_the_start_up_wait_is_generous_unless_the_user_set_prefects_own_setting(monkeypatch, user_set):
    import prefect.context

    if user_set:
        monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", user_set)
    else:
        monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    prefect.context.refresh_global_settings_context()
    try:
        assert local_server.startup_timeout() == (int(user_set) if user_set else 240)
    finally:
        monkeypatch.undo()
        prefect.context.refresh_global_settings_context()


def test_a_run_whose_server_does_not_answer_in_time_tries_once_more_then_names_no_prefect(tmp_path):
    home = tmp_path / "prefect-home"
    env = prefect_env(home) | {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"}
    done = cramp_audit("run", str(SAMPLE), "--db", str(tmp_path / "cramp_audit.duckdb"), env=env)
    lines = done.stderr.splitlines()
    assert done.returncode == 1, done.stderr
    assert lines[:2] == [
        "cramp-audit: starting Prefect's local server (no PREFECT_API_URL set); this may take up to 1 s on a busy "
        "machine",
        "cramp-audit: Prefect's local server did not answer within 1 s; starting it once more"]
    assert lines[-1].startswith("cramp-audit: error: ")
    assert "Prefect's local server did not start (tried twice" in lines[-1]
    assert "run with --no-prefect, or set PREFECT_API_URL" in lines[-1]
    assert "Traceback" not in done.stderr
    assert _processes_with_home(home) == []  # both attempts' servers are gone


def test_a_server_that_fails_to_start_says_why_and_keeps_its_log(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{tmp_path}/missing/prefect.db")
    said: list[str] = []
    server = local_server.LocalServer(said.append, timeout=120)
    with pytest.raises(local_server.PrefectStartError) as refused:
        server.start()
    server.stop()
    cause = ("exited with code 3 (sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unable to open "
             "database file)")
    assert said[1] == f"Prefect's local server {cause}; starting it once more"
    [message] = str(refused.value).splitlines()
    assert message == (f"Prefect's local server did not start (tried twice; it {cause}; its log: {server.log_path}); "
                       "run with --no-prefect, or set PREFECT_API_URL to a running Prefect server")
    assert "unable to open database file" in server.log_path.read_text()
    server.log_path.unlink()


# The command's side: one server for the block, started again (same address) if it has stopped.
HOLDER = """
import time
from cramp_audit.flows import local_server
with local_server.for_runs(lambda line: None):
    server = local_server._serving
    print(server.pid, server.api_url, flush=True)
    server._process.wait()  # until the test has killed it
    server.ensure_running()
    print(server.pid, server.api_url, flush=True)
    time.sleep(600)
"""


def test_a_stopped_server_is_started_again_on_its_address_and_none_outlives_a_killed_command(tmp_path):
    home = tmp_path / "prefect-home"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=REPO, env=prefect_env(home), text=True,
                              stdout=subprocess.PIPE)
    try:
        first_pid, url = holder.stdout.readline().split()
        psutil.Process(int(first_pid)).kill()
        second_pid, second_url = holder.stdout.readline().split()
        assert second_url == url and second_pid != first_pid
        server = psutil.Process(int(second_pid))
        holder.kill()  # SIGKILL: nothing in the command can stop its server
        holder.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
    gone, alive = psutil.wait_procs([server], timeout=20)
    assert alive == []
    time.sleep(0.5)
    assert _processes_with_home(home) == []
