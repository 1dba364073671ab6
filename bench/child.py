"""One audit measurement, run by bench/run.py in a fresh process so that its peak memory is its own.

    python -m bench.child plain|flow SOURCE WORKDIR RESULT_JSON [--format FORMAT]

`plain` runs cramp_audit.pipeline.run_audit with the steps as plain functions and times each step;
`flow` runs the same through the Prefect flow (flows.audit.run_flow), against the server that
PREFECT_API_URL names or, without it, in Prefect's local mode. The database and reports go to
WORKDIR; the timings go to RESULT_JSON. FORMAT is the audit's source format (AuditRequest.source_format,
as `cramp-audit run --format`: canonical, fhir, omop ...); without it the audit detects it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROCESS_STARTED = time.perf_counter()


def _request(source: str, workdir: Path, source_format: str | None) -> Any:
    from cramp_audit.pipeline import AuditRequest

    return AuditRequest(source=source, db_path=str(workdir / "cramp_audit.duckdb"),
                        reports_dir=str(workdir / "reports"), source_format=source_format)


def _progress(message: str) -> None:
    # Into the measurement's log (bench/cache/logs/), to see how far a run got.
    print(f"{time.perf_counter() - PROCESS_STARTED:8.1f} s  {message}", file=sys.stderr, flush=True)


def run_plain(source: str, workdir: Path, source_format: str | None) -> dict[str, Any]:
    from cramp_audit import pipeline

    imported = time.perf_counter()
    steps: dict[str, float] = {}

    def timed_step(step: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args)
        finally:
            steps[step.__name__] = time.perf_counter() - started
            _progress(f"{step.__name__} took {steps[step.__name__]:.1f} s")

    summary = pipeline.run_audit(_request(source, workdir, source_format), progress=_progress, run_step=timed_step)
    finished = time.perf_counter()
    return {"import_s": imported - PROCESS_STARTED, "run_s": finished - imported, "steps": steps,
            "run_id": summary.run_id, "status": summary.status,
            "rows_read": sum(t.rows_read for t in summary.ingest.tables)}


def run_flow(source: str, workdir: Path, source_format: str | None) -> dict[str, Any]:
    from cramp_audit.flows.audit import run_flow as run_audit_flow

    imported = time.perf_counter()
    summary = run_audit_flow(_request(source, workdir, source_format))
    finished = time.perf_counter()
    return {"import_s": imported - PROCESS_STARTED, "run_s": finished - imported, "steps": {},
            "run_id": summary.run_id, "status": summary.status,
            "rows_read": sum(t.rows_read for t in summary.ingest.tables)}


MODES = {"plain": run_plain, "flow": run_flow}


def main(argv: list[str]) -> int:
    source_format = None
    if len(argv) == 6 and argv[4] == "--format":
        source_format, argv = argv[5], argv[:4]
    if len(argv) != 4 or argv[0] not in MODES:
        sys.exit("usage: python -m bench.child plain|flow SOURCE WORKDIR RESULT_JSON [--format FORMAT]")
    mode, source, workdir, result_path = argv
    result = MODES[mode](source, Path(workdir), source_format)
    result["process_s"] = time.perf_counter() - PROCESS_STARTED
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
