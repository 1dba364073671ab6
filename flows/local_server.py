"""Prefect's local server: the Prefect API that flow runs report to when no Prefect server is
configured (no PREFECT_API_URL in the environment or the Prefect profile).

Prefect's own ephemeral start is not used, because on a busy machine it loses runs: it waits 20 s
(counted in sleeps, not on a clock), picks a random port in 8000-8999 that another process can take
before the server binds it (two servers on one machine: "address already in use", or a health answer
from the other one), prints the server's own log lines on the terminal, and starts a new server for
each run. Here instead:

- this process binds the socket (the port chosen by the system) and listens before the server starts,
  and hands it to the server: no other process can take the port, an answer on it can only come from
  our server, and a server started again keeps the same address;
- the wait is measured on a clock, generous by default (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS
  when the user set it), shown on the terminal, and the start is tried once more if it fails; then
  PrefectStartError, whose one line names the ways round it;
- the server's output goes to a log file (kept, and named, only when the start fails), its analytics
  are off (a hospital machine is usually offline: each run logged "Failed to send telemetry");
- `for_runs` holds one server for a block: one `cramp-audit run`, or a whole `cramp-audit schedule`;
  the server stops when the block ends, and dies with this process if it is killed.

This file is also the server process's entry point (`python flows/local_server.py FD PARENT_PID`): that
part imports only the standard library, uvicorn and Prefect's server.
"""

from __future__ import annotations

import atexit
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Say = Callable[[str], None]

# How long a start may take before it is given up and tried again. Measured on a 2-core machine shared
# with other work (load about 4): the server answers in 4-5 s; 20-32 s with two busy loops holding both
# cores (23 s the first time, creating its database, at load 3). With more jobs (load 6-11) Prefect's
# 20 s lost 5 runs in 6, while 240 s let all of them start. A run is worth more than a few minutes.
DEFAULT_STARTUP_TIMEOUT_SECONDS = 240
START_ATTEMPTS = 2
STILL_WAITING_EVERY_SECONDS = 30.0
STOP_GRACE_SECONDS = 10.0
HEALTH_REQUEST_SECONDS = 5.0

# Set for the server process as Prefect sets them for its own temporary server (no UI; services of an
# ephemeral server; last app of the process), plus analytics off unless the user asked for them.
SERVER_ENVIRONMENT = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
SERVER_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
STARTUP_FAILURE = 3  # the exit code of a uvicorn server whose start-up failed

NO_PREFECT_HINT = "run with --no-prefect, or set PREFECT_API_URL to a running Prefect server"


class PrefectStartError(RuntimeError):
    """Prefect's local server could not be started; the message is one line and names --no-prefect."""


def uses_server() -> bool:
    """True when runs go to a Prefect server: PREFECT_API_URL in the environment or the Prefect profile.
    Otherwise runs need Prefect's local server, which runs flows but cannot schedule them."""
    from prefect.settings import PREFECT_API_URL

    return bool(os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value())


def startup_timeout() -> int:
    """Prefect's PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS when the user set it (environment or
    profile), else DEFAULT_STARTUP_TIMEOUT_SECONDS (Prefect's own default, 20 s, is too short here)."""
    from prefect.settings import get_current_settings

    ephemeral = get_current_settings().server.ephemeral
    if "startup_timeout_seconds" in ephemeral.model_fields_set:
        return ephemeral.startup_timeout_seconds
    return DEFAULT_STARTUP_TIMEOUT_SECONDS


class LocalServer:
    """One Prefect API server process on a socket this process holds (see the module's docstring)."""

    def __init__(self, say: Say, timeout: float) -> None:
        self.say, self.timeout = say, timeout
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._environment = {**SERVER_DEFAULTS, **os.environ, **SERVER_ENVIRONMENT}
        self._process: subprocess.Popen[bytes] | None = None
        self._start_failed = False
        handle, log = tempfile.mkstemp(prefix="cramp-audit-prefect-server-", suffix=".log")
        os.close(handle)
        self.log_path = Path(log)
        atexit.register(self.stop)  # whatever happens to the block that started it

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Starts the server and waits until it answers; tries once more if it does not."""
        self.say(f"starting Prefect's local server (no PREFECT_API_URL set); this may take up to "
                 f"{self.timeout:g} s on a busy machine")
        for attempt in range(1, START_ATTEMPTS + 1):
            began = time.monotonic()
            failure = self._start_once()
            if failure is None:
                self.say(f"Prefect's local server is ready on {self.api_url} ({time.monotonic() - began:.1f} s)")
                return
            # A server still starting handles SIGTERM only once it has started: not worth waiting for.
            self._terminate(grace=1.0)
            if attempt < START_ATTEMPTS:
                self.say(f"Prefect's local server {failure}; starting it once more")
        raise PrefectStartError(f"Prefect's local server did not start (tried twice; it {failure}; its log: "
                                f"{self.log_path}); {NO_PREFECT_HINT}")

    def ensure_running(self) -> None:
        """Starts the server again (same address) if its process has ended since it started."""
        if self._process is not None and self._process.poll() is None:
            return
        code = self._process.returncode if self._process else None
        self.say(f"Prefect's local server had stopped (exit code {code}); starting it again")
        self.start()

    def stop(self) -> None:
        """Stops the server (politely, then not) and releases its socket; the log goes unless a start
        failed (PrefectStartError names it)."""
        self._terminate()
        self._listener.close()
        if self.log_path.exists() and not self._start_failed:
            self.log_path.unlink()

    def _start_once(self) -> str | None:
        """None once the server answers its health check, else why not (one phrase)."""
        log_start = self.log_path.stat().st_size
        with open(self.log_path, "ab") as log:
            # Its own process group: Ctrl-C in the terminal reaches this process, which stops the server
            # after the run has recorded the interruption, instead of killing it under the run.
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), str(self._listener.fileno()), str(os.getpid())],
                pass_fds=(self._listener.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self._environment, process_group=0)
        began = time.monotonic()
        deadline, next_note = began + self.timeout, began + STILL_WAITING_EVERY_SECONDS
        health = f"{self.api_url}/health"
        while True:
            if self._process.poll() is not None:
                self._start_failed = True
                return f"exited with code {self._process.returncode}{_cause(self.log_path, log_start)}"
            now = time.monotonic()
            if now >= deadline:
                self._start_failed = True
                return f"did not answer within {self.timeout:g} s"
            if now >= next_note:
                self.say(f"still waiting for Prefect's local server ({now - began:.0f} s)")
                next_note += STILL_WAITING_EVERY_SECONDS
            # The socket listens already: the request waits in its queue until the server serves.
            if _answers(health, min(HEALTH_REQUEST_SECONDS, deadline - now)):
                self._start_failed = False
                return None
            time.sleep(0.2)

    def _terminate(self, grace: float = STOP_GRACE_SECONDS) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            process.wait()


# Straight to 127.0.0.1: an HTTP proxy set for the hospital's network must not see this request.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str, timeout: float) -> bool:
    try:
        with _DIRECT.open(url, timeout=max(timeout, 0.1)) as response:
            return response.status == 200
    except (OSError, http.client.HTTPException):
        return False


# The line of a Python traceback that names the exception: "sqlite3.OperationalError: unable to open …"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _cause(log: Path, start: int) -> str:
    """What the server's own output (from `start` on) says went wrong: its last exception line, else its
    last line; short, for a one-line message."""
    with open(log, "rb") as handle:
        handle.seek(start)
        lines = [line.strip() for line in handle.read().decode(errors="replace").splitlines() if line.strip()]
    exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
    cause = (exceptions or lines or [""])[-1]
    return f" ({cause[:200]})" if cause else ""


_serving: LocalServer | None = None  # the server of the block `for_runs` holds in this process


@contextmanager
def for_runs(say: Say) -> Iterator[None]:
    """Flow runs inside the block reach a Prefect API: the server PREFECT_API_URL names, else Prefect's
    local server, started here (PrefectStartError if it cannot be) unless an outer block already holds
    one (then started again if it has stopped), and stopped when the block that started it ends."""
    global _serving
    if _serving is not None:
        _serving.ensure_running()
        yield
        return
    if uses_server():
        yield
        return
    server = LocalServer(say, startup_timeout())
    try:
        server.start()
        with _prefect_api_url(server.api_url):
            _serving = server
            try:
                yield
            finally:
                _serving = None
                _send_what_prefect_holds()
    finally:
        server.stop()


def _send_what_prefect_holds() -> None:
    """Prefect sends log lines and events from background queues: they reach the server before it stops
    (else Prefect prints "Error logging to API" when the process exits)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=STOP_GRACE_SECONDS)
    EventsWorker.drain_all(timeout=STOP_GRACE_SECONDS)


@contextmanager
def _prefect_api_url(url: str) -> Iterator[None]:
    """Prefect reads its settings once, at import: set PREFECT_API_URL and have it read them again. The
    server serves no UI, so no "View at <url>" line points at one (PREFECT_UI_URL empty, unless set)."""
    import prefect.context

    settings = {"PREFECT_API_URL": url, "PREFECT_UI_URL": os.environ.get("PREFECT_UI_URL", "")}
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    prefect.context.refresh_global_settings_context()
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        prefect.context.refresh_global_settings_context()


# ---------------------------------------------------------------- the server process

def _die_with_parent(parent_pid: int) -> None:
    """Linux: SIGTERM when the process that started us ends (even by SIGKILL), so no server outlives
    its command. (PR_SET_PDEATHSIG follows the starting thread: the commands start it on the main one.)"""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # it ended before the line above
        sys.exit(0)


def _serve(fd: int, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    import uvicorn

    listener = socket.socket(fileno=fd)
    config = uvicorn.Config("prefect.server.api.server:create_app", factory=True, lifespan="on",
                            log_level="error")
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
