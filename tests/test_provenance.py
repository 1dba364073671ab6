"""architecture.md: "every run records their checksums": audit.runs holds the rule pack's checksum (rule
files and the shared SQL they run on) and a code version that says when the checkout had uncommitted
changes; a database created before the column existed gains it."""

from __future__ import annotations

import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, run_audit
from cramp_audit.provenance import code_version
from cramp_audit.rules_engine import RULES_DIR, rule_pack_checksum
from tests.extract_builder import write_extract

# audit.runs and audit.rules as the version before rule_pack_checksum / requires created them.
OLD_TABLES = """
CREATE SCHEMA audit;
CREATE TABLE audit.runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
    source_path VARCHAR, source_format VARCHAR, source_checksum VARCHAR,
    period_start DATE, period_end DATE, rule_pack_version VARCHAR, value_sets_checksum VARCHAR,
    parameters JSON, code_version VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, rows_repaired BIGINT, rows_skipped BIGINT,
    extract_date DATE, error VARCHAR);
CREATE TABLE audit.rules (
    run_id VARCHAR, rule_id VARCHAR, title VARCHAR, severity VARCHAR, guideline_statement VARCHAR);
INSERT INTO audit.runs (run_id, status) VALUES ('old-run', 'succeeded');
INSERT INTO audit.rules VALUES ('old-run', 'LC-QUININE', 'Quinine prescribed', 'high', 'Avoid quinine');
"""


def _request(tmp_path: Path) -> AuditRequest:
    return AuditRequest(source=str(write_extract(tmp_path / "extract")), db_path=str(tmp_path / "cramp_audit.duckdb"),
                        reports_dir=str(tmp_path / "reports"), source_format="canonical")


def _rows(db_path: str, query: str) -> list[tuple]:
    con = connect(db_path, read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_every_run_records_the_rule_pack_checksum_the_same_for_the_same_code(tmp_path) -> None:
    request = _request(tmp_path)
    run_audit(request)
    run_audit(request)
    checksums = _rows(request.db_path, "SELECT DISTINCT rule_pack_checksum FROM audit.runs")
    assert checksums == [(rule_pack_checksum(),)]
    assert len(checksums[0][0]) == 64
    html = next((tmp_path / "reports").glob("*/report.html")).read_text(encoding="utf-8")
    assert rule_pack_checksum() in html


def test_the_rule_pack_checksum_changes_when_a_rule_file_changes_or_is_added(tmp_path) -> None:
    rules = shutil.copytree(RULES_DIR, tmp_path / "rules")
    assert rule_pack_checksum(rules) == rule_pack_checksum()
    quinine = rules / "LC-QUININE.sql"
    quinine.write_text(quinine.read_text(encoding="utf-8") + "\n-- a changed comment\n", encoding="utf-8")
    changed = rule_pack_checksum(rules)
    assert changed != rule_pack_checksum()
    (rules / "LC-ZZ-NEW.sql").write_text("SELECT 1", encoding="utf-8")
    assert rule_pack_checksum(rules) not in {changed, rule_pack_checksum()}


def test_a_database_from_before_the_column_gains_it_and_keeps_its_runs(tmp_path) -> None:
    request = _request(tmp_path)
    con = connect(request.db_path)
    try:
        con.execute(OLD_TABLES)
    finally:
        con.close()
    summary = run_audit(request)
    runs = dict(_rows(request.db_path, "SELECT run_id, rule_pack_checksum FROM audit.runs"))
    assert runs == {"old-run": None, summary.run_id: rule_pack_checksum()}
    requires = dict(_rows(request.db_path, "SELECT run_id, requires FROM audit.rules "
                                           "WHERE rule_id = 'LC-ELECTROLYTES' OR run_id = 'old-run'"))
    assert requires == {"old-run": None, summary.run_id: ["labs"]}
    # The latest_* views are rebuilt over the new columns (the old run, of no recorded source, is its own source's).
    assert _rows(request.db_path, "SELECT run_id, rule_pack_checksum IS NOT NULL FROM audit.latest_runs "
                                  "WHERE source_path IS NOT NULL") == [(summary.run_id, True)]


def _git(checkout: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args], cwd=checkout,
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_code_version_says_dirty_when_the_code_a_run_executes_differs_from_the_commit(tmp_path) -> None:
    version = metadata.version("cramp-audit")
    assert code_version(tmp_path) == version  # not a git checkout: the package version alone
    _git(tmp_path, "init", "-q")
    (tmp_path / "sql" / "rules").mkdir(parents=True)
    (tmp_path / "sql" / "rules" / "LC-ONE.sql").write_text("SELECT 1\n")
    _git(tmp_path, "add", "sql")
    _git(tmp_path, "commit", "-q", "-m", "first")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert code_version(tmp_path) == f"{version}+{commit}"
    (tmp_path / "notes.txt").write_text("outside the code a run executes\n")
    assert code_version(tmp_path) == f"{version}+{commit}"
    local_rule = tmp_path / "sql" / "rules" / "LC-LOCAL.sql"  # untracked, but the engine would run it
    local_rule.write_text("SELECT 2\n")
    assert code_version(tmp_path) == f"{version}+{commit}-dirty"
    local_rule.unlink()
    (tmp_path / "sql" / "rules" / "LC-ONE.sql").write_text("SELECT 2\n")
    assert code_version(tmp_path) == f"{version}+{commit}-dirty"
