"""The whole audit through the command line as one Prefect flow run in local mode, the flow against a
Prefect server (the session's), and the deployment definitions the README documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
REPORT_FILES = {"rule_summary.csv", "rule_by_stratum.csv", "rule_by_site.csv", "cohort_attrition.csv",
                "worklist_internal.csv", "data_quality.csv", "measure_reports.json", "report.html"}


def test_run_through_prefect_audits_the_bundled_sample(local_flow_run):
    work, done = local_flow_run
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    from cramp_audit.db import connect

    con = connect(work / "cramp_audit.duckdb", read_only=True)
    try:
        run_id, status, source = con.execute("SELECT run_id, status, source_path FROM audit.runs").fetchone()
        cohort = con.execute("SELECT count(*) FROM audit.cohort WHERE run_id = ?", [run_id]).fetchone()[0]
        rules = con.execute("SELECT rule_id, deviations FROM audit.rule_results WHERE run_id = ? ORDER BY 1",
                            [run_id]).fetchall()
    finally:
        con.close()
    assert status == "succeeded" and source.endswith("data_samples/sample")
    assert lines[0] == f"run {run_id} succeeded"
    assert f"cohort: {cohort:,} patients" in lines and cohort > 0
    for rule_id, deviations in rules:
        assert any(line.split()[:2] == [rule_id, f"{deviations:,}"] for line in lines), rule_id
    assert len(rules) == 14  # rule pack v2: rules.md's twelve + rules-v2.md's two
    assert {p.name for p in (work / "reports" / run_id).iterdir()} >= REPORT_FILES
    assert f"reports: {work / 'reports' / run_id}" in lines
    assert "ingest-validate-load" in done.stderr  # Prefect's task log lines show the steps


def test_the_flow_against_a_prefect_server_is_recorded_there(prefect_server, tmp_path):
    """With PREFECT_API_URL set (here: the session's server) the flow runs against that server, which
    then holds the completed flow run, its four task runs and the run-summary artifact."""
    import asyncio

    from cramp_audit.flows import local_server
    from cramp_audit.flows.audit import run_flow
    from prefect.client.orchestration import get_client

    from cramp_audit.pipeline import AuditRequest

    assert local_server.uses_server()
    request = AuditRequest(source=str(REPO / "data_samples" / "sample"), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"))
    summary = run_flow(request)
    assert summary.status == "succeeded" and summary.evaluation.cohort > 0

    async def recorded():
        async with get_client() as client:
            artifact = await client.read_latest_artifacts()
            [flow_run] = [r for r in await client.read_flow_runs() if r.parameters.get("request", {}).get(
                "db_path") == request.db_path]
            tasks = await client.read_task_runs()
            return flow_run, [t for t in tasks if t.flow_run_id == flow_run.id], artifact

    flow_run, task_runs, artifacts = asyncio.run(recorded())
    assert flow_run.state.is_completed()
    assert sorted(t.name.rsplit("-", 1)[0] for t in task_runs if t.state.is_completed()) == [
        "cohort-and-rules", "ingest-validate-load", "publish-results-and-reports"]
    assert any(a.key == "cramp-audit-run-summary" and a.description.endswith(summary.run_id) for a in artifacts)


def test_prefect_yaml_defines_the_scheduled_deployment_one_run_at_a_time():
    from prefect.cli.deploy._models import PrefectYamlModel

    config = PrefectYamlModel.model_validate(yaml.safe_load((REPO / "prefect.yaml").read_text()))
    deployment = config.deployments[0]
    assert deployment.entrypoint == "flows/audit.py:audit_flow"
    assert deployment.concurrency_limit.limit == 1
    assert [s["cron"] if isinstance(s, dict) else s.cron for s in deployment.schedules] == ["0 6 * * 1"]
    module_path, flow_name = deployment.entrypoint.split(":")
    assert hasattr(__import__(module_path[:-3].replace("/", "."), fromlist=[flow_name]), flow_name)


def test_schedule_with_a_server_serves_unpaused_on_shutdown_with_one_run_at_a_time(monkeypatch, tmp_path):
    """With PREFECT_API_URL the server keeps the schedule (without it, see test_schedule.py)."""
    from cramp_audit.flows import audit

    from cramp_audit.cli import main

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    served = {}
    monkeypatch.setattr(audit.audit_flow, "serve", lambda **kwargs: served.update(kwargs))
    monkeypatch.setattr(audit, "run_flow", lambda *args, **kwargs: pytest.fail("ran without the server"))
    assert main(["schedule", "--cron", "0 6 * * 1", str(REPO / "data_samples" / "sample"),
                 "--db", str(tmp_path / "cramp_audit.duckdb"), "--wait", "30"]) == 0
    assert served["cron"] == "0 6 * * 1" and served["pause_on_shutdown"] is False
    assert served["limit"] == 1 and served["parameters"]["request"]["source"].endswith("sample")
    assert served["parameters"]["request"]["lock_wait_seconds"] == 30
