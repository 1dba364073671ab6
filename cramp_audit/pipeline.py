"""The audit's steps as plain functions (tests and benchmarks call them directly) and the one
composition of them that both the command line's plain mode and the Prefect flow use. Steps take
and return only paths, ids and small summaries, never frames or connections, so each can be a
Prefect task: a step finds the run's database connection through its run id, in the run session
(cramp_audit/session.py) that the composition opens around the steps."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from cramp_audit import ledger
from cramp_audit.db import SQL_DIR, NoDatabaseError, connect, initialise, sql_text
from cramp_audit.load import StagingLoader, insert_frame, load_checks, load_unusable_tables
from cramp_audit.rules_engine import RULE_PACK_VERSION, rule_pack_checksum
from cramp_audit.session import RunSession, is_open, open_session, session_for
from cramp_audit.stages import run_stage, statement
from cramp_audit.valuesets import load_value_sets
from schemas.checks import REJECTED
from schemas.spec import ABSENT_TABLE_REASON, SOURCE_FILE, TABLES, TABLES_BY_NAME, absent_tables, unusable_tables
from schemas.validate import KnownKeys, TableValidation, TableValidator
from transforms.base import ExtractError, SourceExtract
from transforms.canonical import BatchedExtract
from transforms.registry import read_batched_extract, resolve_format

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

    def __post_init__(self) -> None:
        # Dates arrive as text when Prefect passes the request through JSON (a served deployment).
        for name in ("period_start", "period_end"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, date.fromisoformat(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QuarantineReason:
    """One distinct reason a table's rows were quarantined, and on how many rows."""

    action: str  # rejected / repaired
    field: str
    reason: str
    rows: int


@dataclass
class TableCounts:
    table_name: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_repaired: int
    rows_skipped: int
    reasons: list[QuarantineReason] = field(default_factory=list)  # rejected first, then commonest


# A run's summary (kept in its Prefect result) names only the commonest reasons per table;
# `cramp-audit validate` prints every one.
RUN_SUMMARY_REASONS = 3


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- ingest + validate (no database)

def validate_extract(extract: SourceExtract | BatchedExtract, extract_date: date,
                     keep_rows: bool = True) -> list[TableValidation]:
    """Validates an extract without loading it, through the same batch loop the load uses. With
    keep_rows each validation also holds its loaded rows (for small extracts and tests)."""
    batched = extract if isinstance(extract, BatchedExtract) else BatchedExtract.of(extract)
    validations: list[TableValidation] = []
    rows: dict[str, list[pl.DataFrame]] = {}
    for table_name, loaded in validated_batches(batched, extract_date, validations):
        if keep_rows:
            rows.setdefault(table_name, []).append(loaded)
    for validation in validations:
        if keep_rows:
            validation.loaded = pl.concat(rows[validation.table_name])
    return validations


TABLE_COUNTS_SCHEMA = {"table_name": pl.String, "source_table": pl.String, "rows_read": pl.Int64,
                       "rows_loaded": pl.Int64, "rows_rejected": pl.Int64, "rows_repaired": pl.Int64,
                       "rows_skipped": pl.Int64, "skip_reason": pl.String}


def table_counts(extract: SourceExtract | BatchedExtract, validations: list[TableValidation]) -> pl.DataFrame:
    """Per table and source file: read = loaded + rejected + skipped (skips get their own rows), and an
    all-zero row for each optional table the extract lacks, so the run's counts say it was absent."""
    frames = []
    for v in validations:
        frames.append(v.file_counts.select(
            pl.lit(v.table_name).alias("table_name"), pl.col(SOURCE_FILE).alias("source_table"),
            *[pl.col(c).cast(pl.Int64) for c in ("rows_read", "rows_loaded", "rows_rejected", "rows_repaired")],
            pl.lit(0, pl.Int64).alias("rows_skipped"), pl.lit(None, pl.String).alias("skip_reason")))
    for skip in extract.skipped:
        frames.append(pl.DataFrame({
            "table_name": [skip.table_name], "source_table": [skip.source_table], "rows_read": [skip.rows],
            "rows_loaded": [0], "rows_rejected": [0], "rows_repaired": [0], "rows_skipped": [skip.rows],
            "skip_reason": [skip.reason]}, schema=TABLE_COUNTS_SCHEMA))
    frames.append(pl.DataFrame({
        "table_name": absent_tables(extract.tables), "source_table": None, "rows_read": 0, "rows_loaded": 0,
        "rows_rejected": 0, "rows_repaired": 0, "rows_skipped": 0, "skip_reason": ABSENT_TABLE_REASON},
        schema=TABLE_COUNTS_SCHEMA))
    return pl.concat(frames)


def rows_loaded(validations: list[TableValidation]) -> dict[str, int]:
    return {v.table_name: v.rows_loaded for v in validations}


def empty_required_tables(validations: list[TableValidation]) -> list[TableValidation]:
    """Required tables of which no row could be loaded (an empty file, or every row rejected)."""
    return [v for v in validations if TABLES_BY_NAME[v.table_name].required_file and v.rows_loaded == 0]


def refuse_empty_required_tables(validations: list[TableValidation]) -> None:
    """An audit without patients, diagnoses or medications would still "succeed", with reassuring
    rates (no quinine, no analgesics): refused like an unreadable extract instead."""
    empty = empty_required_tables(validations)
    if empty:
        v = empty[0]
        raise ExtractError(f"{v.table_name}: no usable rows ({v.rows_read:,} read, {v.rows_rejected:,} rejected); "
                           "a required table cannot be empty (`cramp-audit validate` shows why rows were rejected)")


def summarise(extract: SourceExtract | BatchedExtract, validations: list[TableValidation],
              top: int | None = None) -> list[TableCounts]:
    """Per canonical table: the counts `cramp-audit validate` prints, with every distinct (action,
    field, reason) of its quarantined rows, rejected first then commonest (only the first `top` of
    them when given)."""
    summaries = []
    for v in validations:
        skipped = sum(s.rows for s in extract.skipped if s.table_name == v.table_name)
        reasons = (v.quarantine.group_by("action", "field", "reason").len()
                   .sort(pl.col("action") != REJECTED, "len", "field", "reason",
                         descending=[False, True, False, False]))
        summaries.append(TableCounts(
            v.table_name, v.rows_read + skipped, v.rows_loaded, v.rows_rejected, v.rows_repaired, skipped,
            [QuarantineReason(r["action"], r["field"], r["reason"], r["len"])
             for r in reasons.iter_rows(named=True)][:top]))
    return summaries


def source_checksum(extract: SourceExtract | BatchedExtract) -> str:
    digest = hashlib.sha256()
    for name in sorted(extract.files):
        path = Path(name)
        digest.update(path.name.encode())
        if path.is_file():
            with open(path, "rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


# What a run executes from the checkout; a change elsewhere (README, tests) does not alter a run.
CODE_PATHS = ("cramp_audit", "flows", "schemas", "sql", "transforms")


def code_version(checkout: Path = SQL_DIR.parent) -> str:
    """The package version, plus the commit of its git checkout when it runs from one, marked -dirty
    when the code a run executes differs from that commit (a changed file, or a new one, such as a
    local rule file the engine would pick up), or -unknown-state when git cannot say."""
    version = metadata.version("cramp-audit")
    found, commit = _git(checkout, "rev-parse", "--short", "HEAD")
    if not found or not commit:
        return version
    answered, changes = _git(checkout, "status", "--porcelain", "--", *CODE_PATHS)
    suffix = "" if answered and not changes else "-dirty" if answered else "-unknown-state"
    return f"{version}+{commit}{suffix}"


def _git(checkout: Path, *args: str) -> tuple[bool, str]:
    """(whether the git command succeeded, its output) in `checkout`."""
    try:
        done = subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False, ""
    return done.returncode == 0, done.stdout.strip()


# ---------------------------------------------------------------- steps that write the database

def load_source(con: duckdb.DuckDBPyConnection, extract: BatchedExtract, extract_date: date, run_id: str,
                progress: Progress = _quiet) -> tuple[str, list[TableValidation]]:
    """Replaces staging.* with the validated extract and fills this run's work.quarantine,
    work.data_quality and work.table_counts, then the value sets, in the
    caller's transaction (a run's: staging is replaced when the run is published, not before).
    Returns the value sets' checksum and the validations."""
    initialise(con)
    con.execute(statement("staging_load_settings"))
    try:
        return _load_source(con, extract, extract_date, run_id, progress)
    finally:
        con.execute(statement("staging_load_finished"))


def _load_source(con: duckdb.DuckDBPyConnection, extract: BatchedExtract, extract_date: date, run_id: str,
                 progress: Progress) -> tuple[str, list[TableValidation]]:
    run_stage(con, "load")
    validations = stream_extract(con, extract, extract_date, run_id, progress)
    refuse_empty_required_tables(validations)
    insert_frame(con, "work_insert", "table_counts", table_counts(extract, validations), run_id)
    unusable = unusable_tables(rows_loaded(validations))
    rows_read = {v.table_name: v.rows_read for v in validations}
    load_unusable_tables(con, {name: rows_read.get(name, 0) for name in unusable}, run_id)
    return load_value_sets(con), validations


def validated_batches(extract: BatchedExtract, extract_date: date, validations: list[TableValidation],
                      on_table: Callable[[TableValidation], None] = lambda v: None,
                      ) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each table's batches validated, patients first (the others must refer to them), as
    (table name, rows to load); each finished table's validation is appended to `validations`.
    Memory holds one batch plus the patient and encounter ids later tables are checked against."""
    known: dict[str, KnownKeys] = {}
    for table in TABLES:
        batches = extract.tables.get(table.name)
        if batches is None:
            continue
        validator = TableValidator(table.name, extract_date, known.get("patients"), known.get("encounters"))
        loaded_keys: list[pl.Series] = []
        for batch in batches():
            loaded = validator.validate(batch)
            yield table.name, loaded
            if table.name in ("patients", "encounters"):
                loaded_keys.append(loaded[table.key])
        if loaded_keys:
            known[table.name] = KnownKeys(pl.concat(loaded_keys))
        validations.append(validator.result())
        on_table(validations[-1])


def stream_extract(con: duckdb.DuckDBPyConnection, extract: BatchedExtract, extract_date: date, run_id: str,
                   progress: Progress = _quiet) -> list[TableValidation]:
    """Validates and loads the extract batch by batch: a batch's rows go to staging as soon as they
    are validated, while the next batch is read."""
    validations: list[TableValidation] = []
    with StagingLoader(con) as loader:
        for table_name, loaded in validated_batches(extract, extract_date, validations,
                                                    lambda v: _report_loaded(progress, v)):
            loader.append(table_name, loaded)
        # Not per table: the last insert of one table runs while the next one is read.
        loader.wait()
        for validation in validations:
            load_checks(con, validation, run_id)
    return validations


def check_extract(source: Path, requested_format: str | None = None) -> tuple[BatchedExtract, list[TableValidation]]:
    """Reads and validates an extract a batch at a time, writing nothing (`cramp-audit validate`)."""
    extract = read_batched_extract(source, requested_format)
    return extract, validate_extract(extract, extract.extract_date or date.today(), keep_rows=False)


def _report_loaded(progress: Progress, v: TableValidation) -> None:
    progress(f"loaded {v.table_name}: {v.rows_read:,} read, {v.rows_loaded:,} loaded, "
             f"{v.rows_rejected:,} rejected, {v.rows_repaired:,} repaired")


def ingest(request: AuditRequest, run_id: str, progress: Progress = _quiet) -> dict[str, Any]:
    """Reads, validates and loads the extract into staging, inside the run's transaction. An
    unreadable extract raises ExtractError: refused before anything is written when its files or
    headers show it, else (a bad line deep in a file) the run session rolls the load back and
    removes the run's ledger row."""
    session = session_for(run_id)
    session.started = True
    con = session.con
    extract = read_batched_extract(Path(request.source), request.source_format)
    extract_date = extract.extract_date or date.today()
    progress(f"reading {extract.format} extract: {', '.join(extract.tables)}")
    run = ledger.RunRecord(run_id, str(Path(request.source).resolve()), extract.format, extract_date=extract_date)
    # The checksum reads every file again: on its own thread, while the load keeps the cores busy.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-checksum") as worker:
        checksum = worker.submit(source_checksum, extract)
        run.value_sets_checksum, validations = load_source(con, extract, extract_date, run_id, progress)
        run.source_checksum = checksum.result()
    run.rule_pack_version, run.rule_pack_checksum = RULE_PACK_VERSION, rule_pack_checksum()
    ledger.update_run(con, run)
    return {"run_id": run_id, "format": extract.format,
            "tables": [asdict(s) for s in summarise(extract, validations, RUN_SUMMARY_REASONS)],
            "unusable": unusable_tables(rows_loaded(validations))}


def evaluate(request: AuditRequest, run_id: str, progress: Progress = _quiet) -> dict[str, Any]:
    """Cohort and rules into work.*; records the parameters and period in force on the run."""
    from cramp_audit.config import load_parameters, set_parameters
    from cramp_audit.rules_engine import evaluate as evaluate_rules

    params = load_parameters(Path(request.config_path) if request.config_path else None)
    con = session_for(run_id).con
    period_start, period_end = set_parameters(con, params, request.period_start, request.period_end)
    con.execute(sql_text("ledger/record_parameters.sql"), {
        "run_id": run_id, "period_start": period_start, "period_end": period_end, "parameters": _json(params)})
    # fetchall, not fetchone: the run's connection goes on, and DuckDB refuses a relation query while
    # an execute() result is unfinished.
    [(source_path,)] = con.execute(sql_text("ledger/run_source.sql"), {"run_id": run_id}).fetchall()
    evaluate_rules(con, run_id, source_path)
    [(cohort,)] = con.execute(sql_text("summary/cohort_size.sql")).fetchall()
    progress(f"cohort {cohort:,} patients; rules evaluated for {period_start} .. {period_end}")
    return {"cohort": cohort, "period_start": str(period_start), "period_end": str(period_end)}


def publish(request: AuditRequest, run_id: str, progress: Progress = _quiet) -> dict[str, Any]:
    """The run's outcome, all or nothing: its audit.* rows and its ledger row closed as succeeded
    (still inside the run's transaction), its reports rendered from those rows into a temporary
    folder, then one commit (audit.*, staging.* and the ledger at once) and the folder moved into
    place. A failure before the commit, rendering the reports included, publishes nothing."""
    session = session_for(run_id)
    con = session.con
    run_stage(con, "publish")
    con.execute(sql_text("ledger/succeed_run.sql"), {"run_id": run_id})
    rules = [dict(zip(RULE_LINE_FIELDS, row, strict=True)) for row in
             con.execute(sql_text("summary/rule_deviations.sql"), {"run_id": run_id}).fetchall()]
    with _rendered_reports(con, run_id, Path(request.reports_dir)) as place:
        session.commit()
        try:
            out_dir = place()
        except OSError as exc:
            raise OSError(f"run {run_id} is published, but its reports could not be moved into place ({exc}); "
                          f"`cramp-audit report {run_id}` writes them again") from exc
    progress(f"results published; reports written to {out_dir}")
    return {"reports_dir": str(out_dir), "rules": rules}


# What the closing lines print per rule (sql/summary/rule_deviations.sql's columns).
RULE_LINE_FIELDS = ("rule_id", "deviations", "evaluated", "denominator", "deviation_rate")


def rebuild_reports(db_path: str, run_id: str, reports_dir: str, progress: Progress = _quiet) -> str:
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
    """Renders the run's reports (as its audit.* rows read on `con`) into a hidden folder beside
    their place, and yields a function that moves them into place (replacing an earlier copy).
    Leaving the block by an error, or without placing them, removes the rendered folder."""
    from cramp_audit.reports import report_dir, write_reports

    status, suppress_below = _recorded_run(con, run_id)
    final = report_dir(reports_dir, run_id)
    staging_dir = reports_dir / f".{run_id}.partial"
    shutil.rmtree(staging_dir, ignore_errors=True)  # left by a process that was killed while rendering
    try:
        write_reports(con, run_id, staging_dir, suppress_below)

        def place() -> Path:
            _replace_folder(staging_dir / run_id, final)
            return final

        yield place
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)


def _recorded_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[str, int]:
    """The run's status and the suppress_below it ran with (audit.runs.parameters), not today's config."""
    rows = con.execute(sql_text("ledger/run_suppress_below.sql"), {"run_id": run_id}).fetchall()
    if not rows:
        raise ledger.UnreportableRunError(f"run {run_id}: no such run in the database")
    [(status, suppress_below)] = rows
    if status != "succeeded":
        raise ledger.UnreportableRunError(f"run {run_id} is {status}: only a succeeded run has results to report")
    if suppress_below is None:
        raise ledger.UnreportableRunError(f"run {run_id}: its recorded parameters have no suppress_below")
    return status, int(suppress_below)


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


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


# ---------------------------------------------------------------- the one composition

StepRunner = Callable[..., Any]


def _call(step: Callable[..., Any], *args: Any) -> Any:
    return step(*args)


@dataclass
class RunSummary:
    run_id: str
    status: str
    ingest: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    reports_dir: str = ""
    error: str = ""
    rules: list[dict[str, Any]] = field(default_factory=list)  # RULE_LINE_FIELDS per rule, for the closing lines


@contextmanager
def run_session(request: AuditRequest, run_id: str) -> Iterator[RunSession]:
    """The run's session (lock, connection, transaction, ledger row): the one open in this process
    for run_id (the command line opens it before Prefect starts, so the flow joins it), else a new
    one, closed on the way out (a run that did not publish is marked failed)."""
    if is_open(run_id):
        yield session_for(run_id)
        return
    record = ledger.RunRecord(run_id, str(Path(request.source).resolve()),
                              resolve_format(Path(request.source), request.source_format),
                              code_version=code_version())
    with open_session(request.db_path, request.lock_wait_seconds, record) as session:
        yield session


def run_audit(request: AuditRequest, progress: Progress = _quiet, run_step: StepRunner = _call,
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
    summary.reports_dir, summary.rules = published["reports_dir"], published["rules"]
    return summary
