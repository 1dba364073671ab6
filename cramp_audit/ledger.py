"""audit.runs: one row per invocation. A run is 'running' until it ends as 'succeeded' or 'failed';
a run whose process died is marked failed by the next run (which holds the database lock, so
nothing else can still be running)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from cramp_audit.db import sql_text


class UnreportableRunError(Exception):
    """A run id with no results to report (not in audit.runs, or not succeeded): bad usage."""


def new_run_id() -> str:
    """Sortable by start time, unique across processes."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass
class RunRecord:
    run_id: str
    source_path: str
    source_format: str
    source_checksum: str = ""
    period_start: date | None = None
    period_end: date | None = None
    rule_pack_version: str = ""
    rule_pack_checksum: str = ""
    value_sets_checksum: str = ""
    parameters: dict = field(default_factory=dict)
    code_version: str = ""
    extract_date: date | None = None


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_text("ledger/mark_interrupted.sql"))


def start_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    con.execute(sql_text("ledger/start_run.sql"), {
        "run_id": run.run_id, "source_path": run.source_path, "source_format": run.source_format,
        "code_version": run.code_version})


def update_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Records what the run has learnt about itself (checksums, period, parameters)."""
    con.execute(sql_text("ledger/update_run.sql"), {
        "run_id": run.run_id, "source_format": run.source_format, "source_checksum": run.source_checksum,
        "period_start": run.period_start, "period_end": run.period_end,
        "rule_pack_version": run.rule_pack_version, "rule_pack_checksum": run.rule_pack_checksum,
        "value_sets_checksum": run.value_sets_checksum,
        "parameters": json.dumps(run.parameters, sort_keys=True), "extract_date": run.extract_date})


def fail_run(con: duckdb.DuckDBPyConnection, run_id: str, error: str) -> None:
    con.execute(sql_text("ledger/fail_run.sql"), {"run_id": run_id, "error": error})
