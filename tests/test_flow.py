"""The whole audit through the command line as one Prefect flow run (the one test that pays for
Prefect's start-up), and the deployment definitions the README documents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
REPORT_FILES = {"rule_summary.csv", "rule_by_site.csv", "worklist.csv", "data_quality.csv", "report.html"}


@pytest.fixture(scope="session")
def flow_run(tmp_path_factory):
    """`cramp-audit run` on the bundled sample, with Prefect in local mode (its own state in tmp)."""
    work = tmp_path_factory.mktemp("flow")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(work / "prefect-home")
    command = [sys.executable, "-m", "cramp_audit.cli", "run", "--db", str(work / "audit.duckdb"),
               "--reports", str(work / "reports")]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return work, done


def test_run_through_prefect_audits_the_bundled_sample(flow_run):
    work, done = flow_run
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    from cramp_audit.db import connect

    con = connect(work / "audit.duckdb", read_only=True)
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
    assert len(rules) == 12
    assert {p.name for p in (work / "reports" / run_id).iterdir()} >= REPORT_FILES
    assert f"reports: {work / 'reports' / run_id}" in lines
    assert "ingest-validate-load" in done.stderr  # Prefect's task log lines show the steps


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
    from cramp_audit.cli import main
    from flows import audit

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    served = {}
    monkeypatch.setattr(audit.audit_flow, "serve", lambda **kwargs: served.update(kwargs))
    monkeypatch.setattr(audit, "run_flow", lambda *args, **kwargs: pytest.fail("ran without the server"))
    assert main(["schedule", "--cron", "0 6 * * 1", str(REPO / "data_samples" / "sample"),
                 "--db", str(tmp_path / "audit.duckdb"), "--wait", "30"]) == 0
    assert served["cron"] == "0 6 * * 1" and served["pause_on_shutdown"] is False
    assert served["limit"] == 1 and served["parameters"]["request"]["source"].endswith("sample")
    assert served["parameters"]["request"]["lock_wait_seconds"] == 30
