"""audit.runs: one row per invocation. A run is 'running' until it ends as 'succeeded' or 'failed';
a run whose process died is marked failed by the next run (which holds the database lock, so
nothing else can still be running).

Each fact of a run has one writer: what is known before the run reads anything is written with its
row by start_run (committed before the run's transaction opens); what it learns as it runs is kept
on its RunRecord and written by record_facts when it closes, succeeded or failed, so a failed run's
row keeps its checksums, period and parameters."""

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
    # Known when the run starts (start_run).
    run_id: str
    source_path: str
    source_format: str
    code_version: str = ""
    rule_pack_version: str = ""
    rule_pack_checksum: str = ""
    parameters: dict = field(default_factory=dict)
    shards: int = 1
    cluster: str | None = None       # the Dask scheduler's address, "local" for a cluster of this machine
    # Learnt while it runs (record_facts, when it closes).
    source_checksum: str = ""
    value_sets_checksum: str = ""
    extract_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    latest_data_date: date | None = None  # the data's latest event date (where the default period ends)


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_text("ledger/mark_interrupted.sql"))


def start_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    con.execute(sql_text("ledger/start_run.sql"), {
        "run_id": run.run_id, "source_path": run.source_path, "source_format": run.source_format,
        "code_version": run.code_version, "rule_pack_version": run.rule_pack_version,
        "rule_pack_checksum": run.rule_pack_checksum, "parameters": json.dumps(run.parameters, sort_keys=True),
        "shards": run.shards, "cluster": run.cluster})


def record_facts(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Writes what the run learnt about itself (checksums, extract date, period)."""
    con.execute(sql_text("ledger/record_facts.sql"), {
        "run_id": run.run_id, "source_checksum": run.source_checksum,
        "value_sets_checksum": run.value_sets_checksum, "extract_date": run.extract_date,
        "period_start": run.period_start, "period_end": run.period_end,
        "latest_data_date": run.latest_data_date})


def succeed_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Closes the row as succeeded, with the counts of work.table_counts (inside the publish transaction)."""
    record_facts(con, run)
    con.execute(sql_text("ledger/succeed_run.sql"), {"run_id": run.run_id})


def fail_run(con: duckdb.DuckDBPyConnection, run: RunRecord, error: str) -> None:
    """Closes the row as failed with the error (after the run's transaction was rolled back)."""
    record_facts(con, run)
    con.execute(sql_text("ledger/fail_run.sql"), {"run_id": run.run_id, "error": error})


def recorded_suppress_below(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """The suppress_below a succeeded run ran with (its audit.runs.parameters, not today's config);
    UnreportableRunError for a run that is not there, did not succeed or recorded none."""
    rows = con.execute(sql_text("ledger/run_suppress_below.sql"), {"run_id": run_id}).fetchall()
    if not rows:
        raise UnreportableRunError(f"run {run_id}: no such run in the database")
    [(status, suppress_below)] = rows
    if status != "succeeded":
        raise UnreportableRunError(f"run {run_id} is {status}: only a succeeded run has results to report")
    if suppress_below is None:
        raise UnreportableRunError(f"run {run_id}: its recorded parameters have no suppress_below")
    return int(suppress_below)
