"""Running one audit measurement in a child process: its wall time, and its peak resident memory
from the kernel (wait4's rusage of that child alone, so earlier, bigger runs do not leak into it).
A sampler also watches the child's memory and stops it above a cap, so that a run that would exhaust
the machine fails as a measurement instead of bringing the machine down."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.extracts import REPO


class MeasurementFailed(Exception):
    """The child exited with an error or was stopped at the memory cap; the message says which."""


@dataclass
class ChildRun:
    mode: str
    wall_s: float                 # spawn to exit, as a user waits for it
    run_s: float                  # run_audit / run_flow alone (after imports)
    peak_rss_bytes: int
    steps: dict[str, float] = field(default_factory=dict)
    rows_read: int = 0
    run_id: str = ""
    workdir: Path | None = None


class _RssWatch:
    """Samples the child's resident memory (with its own children) and stops it above the cap."""

    def __init__(self, pid: int, cap_bytes: int, interval_s: float = 0.2) -> None:
        self.pid, self.cap_bytes, self.interval_s = pid, cap_bytes, interval_s
        self.exceeded = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _rss(self) -> int:
        process = psutil.Process(self.pid)
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])

    def _watch(self) -> None:
        while not self._done.wait(self.interval_s):
            try:
                if self._rss() > self.cap_bytes:
                    self.exceeded = True
                    os.kill(self.pid, signal.SIGKILL)
                    return
            except psutil.Error:
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def run_child(mode: str, source: Path, workdir: Path, env: dict[str, str], log_path: Path,
              memory_cap_bytes: int, source_format: str | None = None) -> ChildRun:
    """One audit of SOURCE into a fresh WORKDIR in a fresh process (bench/child.py), of SOURCE_FORMAT
    when given (the audit's --format), else of the format the audit detects."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    result_path = workdir / "result.json"
    command = [sys.executable, "-m", "bench.child", mode, str(source), str(workdir), str(result_path)]
    if source_format:
        command += ["--format", source_format]
    with open(log_path, "w") as log:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        watch = _RssWatch(child.pid, memory_cap_bytes)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        watch.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
    if watch.exceeded:
        raise MeasurementFailed(f"{mode} audit of {source.name} stopped above the memory cap "
                                f"({memory_cap_bytes / 2**30:.0f} GiB); see {log_path}")
    if child.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-5:]
        raise MeasurementFailed(f"{mode} audit of {source.name} exited {child.returncode}: " + " | ".join(tail))
    result: dict[str, Any] = json.loads(result_path.read_text())
    # ru_maxrss is in KiB on Linux.
    return ChildRun(mode, wall, result["run_s"], usage.ru_maxrss * 1024, result["steps"], result["rows_read"],
                    result["run_id"], workdir)
