"""The audit's steps as plain functions (tests and benchmarks call them directly) and the one
composition of them that both the command line's plain mode and the Prefect flow use. Steps take
and return only paths, ids and small summaries (dataclasses of plain values), never frames or
connections, so each can be a Prefect task: a step finds the run's database connection and its
ledger record through its run id, in the run session (cramp_audit/session.py) that the composition
opens around the steps.

Where the rest lives: the streaming load in cramp_audit/load.py, the validation summary in
cramp_audit/validation_summary.py, checksums and code version in cramp_audit/provenance.py, the
run's ledger row in cramp_audit/ledger.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from cramp_audit import ledger
from cramp_audit.db import NoDatabaseError, connect, sql_text
from cramp_audit.load import Progress, load_source, no_progress
from cramp_audit.provenance import code_version, source_checksum
from cramp_audit.rules_engine import RULE_PACK_VERSION, rule_pack_checksum
from cramp_audit.schemas.spec import unusable_tables
from cramp_audit.session import RunSession, is_open, open_session, session_for
from cramp_audit.stages import run_stage, statement
from cramp_audit.transforms.registry import BY_FORMAT, preflight
from cramp_audit.validation_summary import (
    RUN_SUMMARY_REASONS,
    QuarantineReason,
    TableCounts,
    rows_loaded,
    summarise,
)

DEFAULT_DB = "cramp_audit.duckdb"  # outputs.md; a client opening it directly reads audit.runs as written


@dataclass(frozen=True)
class AuditRequest:
    """Everything a run needs, as plain values (so Prefect can show and hash it)."""

    source: str
    db_path: str = DEFAULT_DB
    reports_dir: str = "reports"
    source_format: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    config_path: str | None = None
    lock_wait_seconds: float = 0.0
    shards: int = 1                  # > 1: sharded by patient on a Dask cluster (cramp_audit/shards.py)
    dask_address: str | None = None  # the cluster's scheduler; None: a local cluster of this machine

    def __post_init__(self) -> None:
        # Dates arrive as text when Prefect passes the request through JSON (a served deployment).
        for name in ("period_start", "period_end"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, date.fromisoformat(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- what the steps return

@dataclass(frozen=True)
class IngestResult:
    run_id: str
    format: str
    tables: list[TableCounts]   # the commonest RUN_SUMMARY_REASONS reasons per table only
    unusable: list[str]         # optional tables without a usable row


@dataclass(frozen=True)
class EvaluateResult:
    cohort: int
    period_start: str           # ISO dates, as Prefect shows them
    period_end: str


@dataclass(frozen=True)
class RuleLine:
    """What the closing lines print per rule (sql/summary/rule_deviations.sql's columns)."""

    rule_id: str
    deviations: int
    evaluated: int              # the rate's base: denominator - exclusions - not evaluable
    denominator: int
    deviation_rate: float | None


@dataclass(frozen=True)
class PublishResult:
    reports_dir: str
    rules: list[RuleLine]


# ---------------------------------------------------------------- the steps

def ingest(request: AuditRequest, run_id: str, progress: Progress = no_progress) -> IngestResult:
    """Reads, validates and loads the extract into staging, inside the run's transaction, with the
    adapter the run session resolved (the format is detected and the headers checked once, when the
    session opens). An extract found unreadable here (a bad line deep in a file) raises ExtractError:
    the run session rolls the load back and removes the run's ledger row."""
    session = session_for(run_id)
    session.started = True
    run = session.record
    extract = BY_FORMAT[run.source_format].read(Path(request.source))
    extract_date = extract.extract_date or date.today()
    progress(f"reading {extract.format} extract: {', '.join(extract.tables)}")
    run.extract_date = extract_date
    # The checksum reads every file again: on its own thread, while the load keeps the cores busy.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-checksum") as worker:
        checksum = worker.submit(source_checksum, extract)
        run.value_sets_checksum, validations = load_source(session.con, extract, extract_date, run_id, progress)
        run.source_checksum = checksum.result()
    return IngestResult(run_id, extract.format, summarise(extract, validations, RUN_SUMMARY_REASONS),
                        unusable_tables(rows_loaded(validations)))


def evaluate(request: AuditRequest, run_id: str, progress: Progress = no_progress) -> EvaluateResult:
    """Cohort and rules into work.*, with the parameters the run recorded when it started and the
    period (given, else derived from the extract) it records when it closes."""
    from cramp_audit.config import set_parameters
    from cramp_audit.rules_engine import evaluate as evaluate_rules

    session = session_for(run_id)
    run, con = session.record, session.con
    run.period_start, run.period_end = set_parameters(con, run.parameters, request.period_start, request.period_end)
    # The data's latest date (where windows end), which reports show as the extract's date.
    [(run.latest_data_date,)] = con.execute(statement("variable_value"), {"name": "data_end"}).fetchall()
    evaluate_rules(con, run_id, run.source_path)
    [(cohort,)] = con.execute(sql_text("summary/cohort_size.sql")).fetchall()
    progress(f"cohort {cohort:,} patients; rules evaluated for {run.period_start} .. {run.period_end}")
    return EvaluateResult(cohort, str(run.period_start), str(run.period_end))


def publish(request: AuditRequest, run_id: str, progress: Progress = no_progress) -> PublishResult:
    """The run's outcome, all or nothing: its audit.* rows and its ledger row closed as succeeded
    (still inside the run's transaction), its reports rendered from those rows into a temporary
    folder, then one commit (audit.*, staging.* and the ledger at once) and the folder moved into
    place. A failure before the commit, rendering the reports included, publishes nothing."""
    session = session_for(run_id)
    con = session.con
    run_stage(con, "publish")
    ledger.succeed_run(con, session.record)
    # fetchall, not fetchone: the run's connection goes on, and DuckDB refuses a relation query while
    # an execute() result is unfinished.
    rules = [RuleLine(*row) for row in
             con.execute(sql_text("summary/rule_deviations.sql"), {"run_id": run_id}).fetchall()]
    with _rendered_reports(con, run_id, Path(request.reports_dir)) as place:
        session.commit()
        try:
            out_dir = place()
        except OSError as exc:
            raise OSError(f"run {run_id} is published, but its reports could not be moved into place ({exc}); "
                          f"`cramp-audit report {run_id}` writes them again") from exc
    progress(f"results published; reports written to {out_dir}")
    return PublishResult(str(out_dir), rules)


def rebuild_reports(db_path: str, run_id: str, reports_dir: str, progress: Progress = no_progress) -> str:
    """Writes a stored succeeded run's reports again (`cramp-audit report`), from its audit.* rows and
    the suppress_below recorded with it, rendered aside and then put in place of any earlier copy."""
    if not Path(db_path).is_file():
        raise NoDatabaseError(f"{db_path}: no such database file")
    con = connect(db_path, read_only=True)
    try:
        with _rendered_reports(con, run_id, Path(reports_dir)) as place:
            out_dir = place()
    finally:
        con.close()
    progress(f"reports of run {run_id} written to {out_dir}")
    return str(out_dir)


@contextmanager
def _rendered_reports(con: duckdb.DuckDBPyConnection, run_id: str,
                      reports_dir: Path) -> Iterator[Callable[[], Path]]:
    """Renders the run's reports (as its audit.* rows read on `con`, with the suppress_below its
    ledger row recorded) into a hidden folder beside their place, and yields a function that moves
    them into place (replacing an earlier copy). Leaving the block by an error, or without placing
    them, removes the rendered folder."""
    from cramp_audit.reports import report_dir, write_reports

    suppress_below = ledger.recorded_suppress_below(con, run_id)
    final = report_dir(reports_dir, run_id)
    staging_dir = reports_dir / f".{run_id}.partial"
    shutil.rmtree(staging_dir, ignore_errors=True)  # left by a process that was killed while rendering
    try:
        write_reports(con, run_id, staging_dir, suppress_below=suppress_below)

        def place() -> Path:
            _replace_folder(staging_dir / run_id, final)
            return final

        yield place
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)


def _replace_folder(new: Path, final: Path) -> None:
    """Moves `new` to `final`; an existing `final` is moved aside first and removed after, so the
    folder is never missing a file (at worst, after a crash, the earlier copy sits beside it)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if not final.exists():
        os.replace(new, final)
        return
    previous = final.with_name(f".{final.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    os.replace(final, previous)
    os.replace(new, final)
    shutil.rmtree(previous, ignore_errors=True)


# ---------------------------------------------------------------- the one composition

StepRunner = Callable[..., Any]


def _call(step: Callable[..., Any], *args: Any) -> Any:
    return step(*args)


@dataclass
class RunSummary:
    run_id: str
    status: str
    ingest: IngestResult | None = None
    evaluation: EvaluateResult | None = None
    reports_dir: str = ""
    error: str = ""
    rules: list[RuleLine] = field(default_factory=list)  # for the closing lines

    def as_dict(self) -> dict[str, Any]:
        """Plain values only (what the Prefect flow returns)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSummary:
        ingest, evaluation = values.get("ingest"), values.get("evaluation")
        return cls(
            values["run_id"], values["status"],
            ingest=None if ingest is None else IngestResult(
                ingest["run_id"], ingest["format"],
                [TableCounts(**{**t, "reasons": [QuarantineReason(**r) for r in t["reasons"]]})
                 for t in ingest["tables"]],
                list(ingest["unusable"])),
            evaluation=None if evaluation is None else EvaluateResult(**evaluation),
            reports_dir=values.get("reports_dir", ""), error=values.get("error", ""),
            rules=[RuleLine(**r) for r in values.get("rules", [])])


def new_run_record(request: AuditRequest, run_id: str) -> ledger.RunRecord:
    """The run's ledger row as it starts: the extract refused now if unreadable (its format detected
    and its headers checked, once for the run, before the database or Prefect is touched), the
    parameters in force read, the code and rule pack identified."""
    from cramp_audit.config import load_parameters

    source = Path(request.source)
    source_format = preflight(source, request.source_format)
    parameters = load_parameters(Path(request.config_path) if request.config_path else None)
    return ledger.RunRecord(run_id, str(source.resolve()), source_format, code_version=code_version(),
                            rule_pack_version=RULE_PACK_VERSION, rule_pack_checksum=rule_pack_checksum(),
                            parameters=parameters, shards=request.shards,
                            cluster=None if request.shards == 1 else (request.dask_address or "local"))


@contextmanager
def run_session(request: AuditRequest, run_id: str) -> Iterator[RunSession]:
    """The run's session (lock, connection, transaction, ledger row): the one open in this process
    for run_id (the command line opens it before Prefect starts, so the flow joins it), else a new
    one, closed on the way out (a run that did not publish is marked failed)."""
    if is_open(run_id):
        yield session_for(run_id)
        return
    with open_session(request.db_path, request.lock_wait_seconds, new_run_record(request, run_id)) as session:
        yield session


def run_audit(request: AuditRequest, progress: Progress = no_progress, run_step: StepRunner = _call,
              run_id: str | None = None) -> RunSummary:
    """ingest → evaluate → publish (with the reports), in one run session. Any failure before the
    commit marks the run failed (audit.* and staging.* keep none of its rows) and re-raises."""
    run_id = run_id or ledger.new_run_id()
    summary = RunSummary(run_id, "running")
    with run_session(request, run_id):
        summary.ingest = run_step(ingest, request, run_id, progress)
        summary.evaluation = run_step(evaluate, request, run_id, progress)
        published = run_step(publish, request, run_id, progress)
    summary.status = "succeeded"
    summary.reports_dir, summary.rules = published.reports_dir, published.rules
    return summary
