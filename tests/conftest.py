"""Prefect for the tests that need it, started as few times as the tests allow: one local server for
the whole session for flows run in this process, and one `cramp-audit run` in Prefect's local mode
(a subprocess, its own server) whose outcome several tests read."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data_samples" / "sample"


def prefect_env(prefect_home: Path, api_url: str | None = None) -> dict[str, str]:
    """The environment of a command run in a subprocess: none of the developer's PREFECT_* settings,
    Prefect's state in `prefect_home`, and PREFECT_API_URL only when given (else: local mode). Its
    temporary files (a local server's log, which a killed command cannot remove) go there too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    prefect_home.mkdir(parents=True, exist_ok=True)
    env["PREFECT_HOME"] = env["TMPDIR"] = str(prefect_home)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def cramp_audit(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`cramp-audit ARGS` in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "cramp_audit.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One Prefect server for the session (started as `cramp-audit run` starts its local one): flows run
    in this process use it, and so do subprocesses given its URL. Yields the API URL."""
    import prefect.context
    from cramp_audit.flows import local_server

    home = tmp_path_factory.mktemp("prefect-server-home")
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("PREFECT_")]:
            patch.delenv(name)
        patch.setenv("PREFECT_HOME", str(home))
        prefect.context.refresh_global_settings_context()  # Prefect read its settings at import
        with local_server.for_runs(lambda line: None):
            yield os.environ["PREFECT_API_URL"]
    prefect.context.refresh_global_settings_context()


@pytest.fixture(scope="session")
def prefect_home(prefect_server):
    """A function that makes a PREFECT_HOME for a subprocess's own local server, holding a copy of the
    session server's database: as on a user's machine after the first run, the server does not have
    to create its tables first (7-10 s of each start on an idle machine)."""
    import sqlite3

    from prefect.settings import PREFECT_HOME

    template = Path(PREFECT_HOME.value()) / "prefect.db"

    def make(home: Path) -> Path:
        home.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(home / "prefect.db")) as copy:
            source.backup(copy)  # consistent while the session server writes to it
        return home
    return make


@pytest.fixture(scope="session")
def local_flow_run(tmp_path_factory, prefect_home):
    """`cramp-audit run` on the bundled sample, with Prefect in local mode (its own server and state in
    tmp): (work folder, the finished process)."""
    work = tmp_path_factory.mktemp("flow")
    done = cramp_audit("run", "--db", str(work / "cramp_audit.duckdb"), "--reports", str(work / "reports"),
                       env=prefect_env(prefect_home(work / "prefect-home")))
    return work, done
