"""A Prefect server for the flow measurements: started in the background from .venv with its own
PREFECT_HOME under bench/cache, waited for until it answers, and stopped at the end (its process
group only: the server and the workers it spawned)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.extracts import CACHE, REPO, Log

PREFECT = Path(sys.executable).with_name("prefect")
STARTUP_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_env(home: Path, api_url: str | None) -> dict[str, str]:
    """This environment without any PREFECT_* the caller had, with its own home (and server, if any)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    home.mkdir(parents=True, exist_ok=True)
    env["PREFECT_HOME"] = str(home)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _answers(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def prefect_server(log: Log) -> Iterator[str]:
    """Yields the API URL of a running server; stops the server on exit."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(CACHE / "prefect" / "server", None)
    log_path = CACHE / "logs" / "prefect-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log_path, "w") as server_log:
        server = subprocess.Popen([str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-ui", "--analytics-off"], cwd=REPO, env=env, stdout=server_log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while not _answers(api_url):
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited {server.returncode}; see {log_path}")
            if time.perf_counter() - started > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"prefect server did not answer within {STARTUP_TIMEOUT_S:.0f} s; see {log_path}")
            time.sleep(0.5)
        log(f"prefect server answering at {api_url} after {time.perf_counter() - started:.1f} s")
        yield api_url
    finally:
        _stop(server)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
