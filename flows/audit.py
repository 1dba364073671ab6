"""The audit as one Prefect flow: each step of cramp_audit.pipeline is a task; the flow adds
nothing but orchestration (names, retries where they help, logging, the run-summary artifact)."""

from __future__ import annotations

from typing import Any

from cramp_audit.flows import local_server, quiet
from cramp_audit.flows.local_server import uses_server  # noqa: F401 - where the command line asks it
from cramp_audit.transforms.base import ExtractError
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from cramp_audit import ledger, pipeline
from cramp_audit.db import first_line
from cramp_audit.pipeline import AuditRequest, RunSummary


def _is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Only an I/O error (a network share that hiccups) is worth retrying; a bad extract is not."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, OSError) and not isinstance(error, ExtractError)


# Reading files on a network share can fail transiently: ingest retries; the rest is deterministic.
ingest_task = task(pipeline.ingest, name="ingest-validate-load", retries=2, retry_delay_seconds=10,
                   retry_condition_fn=_is_transient)
evaluate_task = task(pipeline.evaluate, name="cohort-and-rules")
publish_task = task(pipeline.publish, name="publish-results-and-reports")
TASKS = {pipeline.ingest: ingest_task, pipeline.evaluate: evaluate_task, pipeline.publish: publish_task}


def _log(message: str) -> None:
    # Prefect's logger shows each step on the terminal (and in the UI), so nothing else prints it.
    get_run_logger().info(message)


@flow(name="cramp-audit", log_prints=False, persist_result=False)
def audit_flow(request: dict[str, Any], run_id: str | None = None) -> dict[str, Any]:
    audit_request = AuditRequest(**request)

    def run_step(step: Any, *args: Any) -> Any:
        # Tasks take the request as a dict: plain values that Prefect can hash and show.
        return TASKS[step].with_options(cache_policy=None)(*args)

    summary = pipeline.run_audit(audit_request, progress=_log, run_step=run_step, run_id=run_id)
    create_table_artifact(key="cramp-audit-run-summary", table=_summary_rows(summary),
                          description=f"cramp-audit run {summary.run_id}")
    return summary.as_dict()


def _summary_rows(summary: RunSummary) -> list[dict[str, Any]]:
    rows = [{"item": "run_id", "value": summary.run_id}, {"item": "status", "value": summary.status},
            {"item": "cohort", "value": summary.evaluation.cohort},
            {"item": "reports", "value": summary.reports_dir}]
    for table in summary.ingest.tables:
        rows.append({"item": f"{table.table_name} read/loaded/rejected",
                     "value": f"{table.rows_read}/{table.rows_loaded}/{table.rows_rejected}"})
    return rows


class PrefectNotStartedError(RuntimeError):
    """The flow never got going (Prefect's server or engine failed to start): the run is marked failed."""


def run_flow(request: AuditRequest, progress: pipeline.Progress | None = None) -> RunSummary:
    """Runs the flow in this process, against the server PREFECT_API_URL names or else Prefect's local
    server (flows/local_server.py: started for this run, or the one an outer block holds). The run's
    session (lock, ledger row) is opened first and the flow joins it, so a Prefect that fails to start
    leaves the run in audit.runs, failed with the reason, instead of no trace."""
    quiet.no_analytics()
    quiet.refusals_off_the_console()
    run_id = ledger.new_run_id()
    with pipeline.run_session(request, run_id) as session:
        try:
            with local_server.for_runs(progress or _quiet):
                return RunSummary.from_dict(audit_flow(request.as_dict(), run_id=run_id))
        except Exception as exc:
            quiet.release_frames(exc)
            if session.started:
                raise
            raise PrefectNotStartedError(_not_started_text(exc)) from exc
        except BaseException as exc:
            quiet.release_frames(exc)
            raise


def _not_started_text(exc: Exception) -> str:
    text = first_line(str(exc)) or type(exc).__name__
    if "--no-prefect" in text:  # flows/local_server.PrefectStartError says what to do itself
        return text
    return f"Prefect did not start ({type(exc).__name__}: {text}); `cramp-audit run --no-prefect` runs without it"


def _quiet(_: str) -> None:
    pass


def serve_on_schedule(request: AuditRequest, cron: str, name: str) -> None:
    """Serves the flow on a cron schedule through the Prefect server (PREFECT_API_URL) until stopped.
    Stopping does not pause the schedule, and one run at a time: a slow run and the next scheduled one
    never overlap. Without a server, cramp_audit.schedule keeps the schedule instead."""
    quiet.no_analytics()
    quiet.refusals_off_the_console()
    audit_flow.serve(name=name, cron=cron, parameters={"request": _json_safe(request.as_dict())},
                     pause_on_shutdown=False, limit=1, global_limit=1)


def _json_safe(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}
