"""The sharded run beside the single one (issue 15): `cramp-audit run --shards N` on the local Dask
cluster against `--shards 1`, on the same cached extract, against one Prefect server.

    python -m bench.sharded [--patients 1000000] [--shards 4]

Per run: wall time, the peak resident memory of the command's own process (partition results, merge,
reports) and the largest peak of any other process under it (a Dask worker, or the local server). The
row is appended to bench/results.md with PASS/FAIL for the issue's targets: sharded wall time within
1.5x of single, peak memory per worker at most 1/N of single + 1 GiB; and, for the sharded run, the
same per phase (partition, validate, evaluate, merge and publish), told by its progress lines, so
the row says where the time and the memory go."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.extracts import BENCH_DIR, CACHE, ensure_extract, warm_page_cache
from bench.prefect_server import prefect_env, prefect_server
from bench.results import GIB

RESULTS_MD = BENCH_DIR / "results.md"


STARTING = "start"  # the command's start-up and the local cluster's, before the first progress line


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    main_peak: int
    worker_peak: int


@dataclass(frozen=True)
class Measured:
    shards: int
    wall_s: float
    main_peak: int        # bytes, the command's own process
    worker_peak: int      # bytes, the largest of its descendants (0 for a single run)
    phases: tuple[Phase, ...] = ()


class _PeakPerProcess:
    """Samples every process under `pid` and keeps each one's peak resident memory, per phase."""

    def __init__(self, pid: int, interval_s: float = 0.2) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.phase = STARTING
        self.peaks: dict[tuple[str, int], int] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(self.interval_s):
            try:
                root = psutil.Process(self.pid)
                for process in [root, *root.children(recursive=True)]:
                    key = (self.phase, process.pid)
                    self.peaks[key] = max(self.peaks.get(key, 0), process.memory_info().rss)
            except psutil.Error:
                continue

    def peak(self, main: bool, phase: str | None = None) -> int:
        return max((rss for (p, pid), rss in self.peaks.items()
                    if (pid == self.pid) == main and phase in (None, p)), default=0)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def next_phase(line: str, shards: int, current: str) -> str:
    """The phase a progress line of flows/sharded.py puts the run in (validate and evaluate begin when
    the phase before them ends: no line says that their first task started)."""
    if "partitioning " in line:
        return "partition"
    if re.search(r"split: (\d+)/\1 tables done", line):
        return "validate"
    if f"validated: {shards}/{shards} " in line:
        return "evaluate"
    if "merging " in line:
        return "merge and publish"
    return current


def measure(source: Path, shards: int, env: dict[str, str], work: Path) -> Measured:
    command = [sys.executable, "-m", "cramp_audit.cli", "run", str(source), "--db", str(work / f"s{shards}.duckdb"),
               "--reports", str(work / f"reports-{shards}"), "--shards", str(shards)]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watch = _PeakPerProcess(process.pid)
    entered: list[tuple[str, float]] = [(STARTING, started)]
    lines = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        phase = next_phase(line, shards, watch.phase)
        if phase != watch.phase:
            watch.phase = phase
            entered.append((phase, time.monotonic()))
    process.wait()
    watch.stop()
    wall = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"--shards {shards} failed: {''.join(lines)[-2000:]}")
    ends = [at for _, at in entered[1:]] + [started + wall]
    phases = tuple(Phase(name, end - at, watch.peak(True, name), watch.peak(False, name))
                   for (name, at), end in zip(entered, ends, strict=True)) if shards > 1 else ()
    return Measured(shards, wall, watch.peak(True), watch.peak(False), phases)


def row_lines(patients: int, single: Measured, sharded: Measured) -> list[str]:
    ratio = sharded.wall_s / single.wall_s
    single_peak = max(single.main_peak, single.worker_peak)
    memory_target = single_peak / sharded.shards + GIB
    return [
        f"### Sharded run ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {patients:,} patients, CSV)",
        "",
        "| shards | wall s | peak memory, command | peak memory, largest worker |",
        "|---:|---:|---:|---:|",
        f"| 1 | {single.wall_s:.1f} | {single.main_peak / GIB:.2f} GiB | - |",
        f"| {sharded.shards} (local cluster) | {sharded.wall_s:.1f} | {sharded.main_peak / GIB:.2f} GiB | "
        f"{sharded.worker_peak / GIB:.2f} GiB |",
        "",
        f"- {'PASS' if ratio <= 1.5 else 'FAIL'} sharded wall time within 1.5x of single: {ratio:.2f}x",
        f"- {'PASS' if sharded.worker_peak <= memory_target else 'FAIL'} peak memory per worker <= 1/N of "
        f"single + 1 GiB: {sharded.worker_peak / GIB:.2f} GiB against {memory_target / GIB:.2f} GiB",
        "",
        f"Where the {sharded.shards}-shard run's time and memory go (phases told by its progress lines; "
        f"{STARTING}: the command's start-up and the local cluster's):",
        "",
        "| phase | s | peak memory, command | peak memory, largest worker |",
        "|---|---:|---:|---:|",
        *(f"| {p.name} | {p.seconds:.1f} | {p.main_peak / GIB:.2f} GiB | {p.worker_peak / GIB:.2f} GiB |"
          for p in sharded.phases),
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sharded", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args(argv)
    def log(message: str) -> None:
        print(message, flush=True)

    source = ensure_extract(args.patients, "csv", log)
    warm_page_cache(source)
    with prefect_server(log) as api_url, tempfile.TemporaryDirectory(prefix="cramp-sharded-") as tmp:
        env = prefect_env(CACHE / "prefect" / "sharded", api_url)
        single = measure(source, 1, env, Path(tmp))
        sharded = measure(source, args.shards, env, Path(tmp))
    lines = row_lines(args.patients, single, sharded)
    print("\n".join(lines))
    with open(RESULTS_MD, "a", encoding="utf-8") as handle:
        handle.write("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
