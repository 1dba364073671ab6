"""The audit sharded by patient (`cramp-audit run --shards N`), as one Prefect flow whose shard tasks run
on a Dask cluster through prefect-dask's DaskTaskRunner: one task per shard per phase (partition, load,
evaluate), paths and small values as their inputs (never frames: Prefect hashes and ships arguments).
The merge and the publish run in the flow's own process, on the run session's connection, so the
run's database is written by one process in one transaction (cramp_audit/shards.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.futures import PrefectFuture, as_completed

from cramp_audit import pipeline, shards
from cramp_audit.pipeline import AuditRequest, EvaluateResult, IngestResult, RunSummary
from cramp_audit.session import session_for

# Dask re-runs a lost worker's task elsewhere; Prefect's own retries cover a share that hiccups.
split_task = task(shards.split_table, name="split-table", retries=1, retry_delay_seconds=5, cache_policy=None)
checksum_task = task(shards.extract_checksum, name="extract-checksum", retries=1, retry_delay_seconds=5,
                     cache_policy=None)
load_task = task(shards.load_shard, name="load-shard", retries=1, retry_delay_seconds=5, cache_policy=None)
evaluate_task = task(shards.evaluate_shard, name="evaluate-shard", retries=1, retry_delay_seconds=5,
                     cache_policy=None)

LOCAL = "local"


def work_dir(request: AuditRequest, run_id: str) -> Path:
    """Where the shards live: CRAMP_AUDIT_WORK (a folder every worker reads, for a real cluster), else
    beside the database (a local cluster's workers share this machine's disk)."""
    base = os.environ.get("CRAMP_AUDIT_WORK") or str(Path(request.db_path).resolve().parent / ".cramp-audit-work")
    return Path(base) / run_id


def task_runner(request: AuditRequest) -> Any:
    from prefect_dask import DaskTaskRunner

    if request.dask_address:
        return DaskTaskRunner(address=request.dask_address)
    # Processes, one thread each: DuckDB and polars use the cores themselves; two workers on 2 cores.
    workers = max(1, min(request.shards, os.cpu_count() or 1))
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None, "silence_logs": logging.WARNING})


def _done(futures: Iterable[PrefectFuture], what: str, total: int, already: int = 0,
          unit: str = "shards") -> list[Any]:
    """The futures' results in submission order, saying "what k/total unit done" as each finishes (any
    failure fails the run: nothing is merged)."""
    logger = get_run_logger()
    futures = list(futures)
    for count, future in enumerate(as_completed(futures), start=already + 1):
        future.result()  # raises the shard's error
        logger.info(f"{what}: {count}/{total} {unit} done")
    return [future.result() for future in futures]


def _partition(source: str, source_format: str, n: int, folder: str) -> shards.ShardPlan:
    """shards.partition as tasks: the checksum beside the splits, each wave's tables at once."""
    waves = shards.begin_partition(source, source_format, folder)
    checksum = checksum_task.submit(source, source_format)
    total = sum(len(wave) for wave in waves)
    splits: list[shards.TableSplit] = []
    for wave in waves:
        splits += _done([split_task.submit(source, source_format, n, folder, t) for t in wave],
                        "split", total, already=len(splits), unit="tables")
    return shards.finish_partition(source, source_format, n, folder, date.today().isoformat(), splits,
                                   checksum.result())


@flow(name="cramp-audit-sharded", log_prints=False, persist_result=False)
def sharded_flow(request: dict[str, Any], run_id: str) -> dict[str, Any]:
    from datetime import timedelta

    from cramp_audit.schemas.spec import unusable_tables

    from cramp_audit.config import DEFAULT_PERIOD_DAYS, ConfigError, set_parameters
    from cramp_audit.valuesets import load_value_sets

    req = AuditRequest(**request)
    logger = get_run_logger()
    session = session_for(run_id)
    session.started = True
    run, con = session.record, session.con
    n = req.shards
    folder = work_dir(req, run_id)
    logger.info(f"partitioning {req.source} into {n} shards in {folder}")
    plan = _partition(req.source, run.source_format, n, str(folder))
    run.extract_date = date.fromisoformat(plan.extract_date)
    run.source_checksum = plan.source_checksum
    loads: list[shards.ShardLoad] = _done([load_task.submit(plan, k, run_id) for k in range(n)], "validated", n)
    shards.refuse_empty_required(loads)
    read = {t: sum(s.rows_read.get(t, 0) for s in loads) for t in plan.tables}
    loaded = {t: sum(s.rows_loaded.get(t, 0) for s in loads) for t in plan.tables}
    unusable = unusable_tables(loaded)
    latest = [date.fromisoformat(s.latest_date) for s in loads if s.latest_date]
    data_end = max(latest) if latest else None
    if req.period_end is None and data_end is None:
        raise ConfigError("the extract holds no dates, so the audit period cannot be derived; "
                          "give --period-start and --period-end")
    run.period_end = req.period_end or data_end
    run.period_start = req.period_start or run.period_end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if run.period_start > run.period_end:
        raise ConfigError(f"the audit period starts ({run.period_start}) after it ends ({run.period_end})")
    run.latest_data_date = data_end or run.period_end
    cohorts = _done([evaluate_task.submit(plan, k, run_id, run.source_path, run.parameters,
                                          run.period_start.isoformat(), run.period_end.isoformat(),
                                          run.latest_data_date.isoformat(), unusable)
                     for k in range(n)], "evaluated", n)
    logger.info(f"merging {n} shards into {req.db_path}")
    run.value_sets_checksum = load_value_sets(con)
    set_parameters(con, run.parameters, run.period_start, run.period_end, data_end=run.latest_data_date)
    shards.merge(con, plan, run_id, run.source_path, unusable, read)
    table_summary = shards.table_summary(con)
    published = pipeline.publish(req, run_id, logger.info)
    shards.detach(con, plan)
    summary = RunSummary(run_id, "succeeded",
                         ingest=IngestResult(run_id, plan.source_format, table_summary, unusable),
                         evaluation=EvaluateResult(sum(cohorts), str(run.period_start), str(run.period_end)),
                         reports_dir=published.reports_dir, rules=published.rules)
    return summary.as_dict()


def refuse_without_server(request: AuditRequest) -> None:
    """A real cluster's workers must report to one Prefect server: without PREFECT_API_URL each worker
    would start a temporary server of its own, and its logs would never reach this terminal."""
    from cramp_audit.flows.local_server import uses_server

    if request.dask_address and not uses_server():
        raise shards.ClusterUsageError(f"--dask {request.dask_address} needs PREFECT_API_URL set to a Prefect server "
                                "that this machine and every worker reach (`prefect server start`)")


def run_sharded(request: AuditRequest, progress: pipeline.Progress) -> RunSummary:
    """As flows.audit.run_flow, with the sharded flow on the Dask cluster; the work folder is removed
    after the run (the shards' databases are only a means to the merged one)."""
    import shutil

    from cramp_audit.flows import local_server, quiet

    from cramp_audit import ledger

    refuse_without_server(request)
    # The local cluster's scheduler runs in this process and its workers write to this terminal: Dask's
    # INFO lines (workers joining and leaving) would bury the run's own progress lines. Dask reads this
    # when distributed is first imported (here, in task_runner) and in each worker process it starts.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.getLogger("prefect.task_runner.dask").setLevel(logging.WARNING)
    quiet.no_analytics()
    quiet.refusals_off_the_console()
    run_id = ledger.new_run_id()
    try:
        with pipeline.run_session(request, run_id):
            # The local server's URL is in the environment from here on, so a local cluster's worker
            # processes (started by the flow's task runner) report to it too.
            with local_server.for_runs(progress):
                flow_fn = sharded_flow.with_options(task_runner=task_runner(request))
                return RunSummary.from_dict(flow_fn(request.as_dict(), run_id=run_id))
    finally:
        shutil.rmtree(work_dir(request, run_id), ignore_errors=True)
