"""The database as analysts open it: any DuckDB client, with the default file name, answers
`SELECT * FROM audit.runs` as written; the DuckDB 1.x command line reads the file; and
`cramp-audit sql` serves those without a client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cramp_audit.cli import main
from cramp_audit.db import ambiguous_name_warning
from cramp_audit.pipeline import AuditRequest, run_audit

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data_samples" / "sample"
DUCKDB_CLI = Path(sys.executable).parent / "duckdb"  # the duckdb-cli package (dev dependency), DuckDB 1.5


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> tuple[Path, str]:
    """A database one run wrote with the command's defaults, in a folder of its own."""
    work = tmp_path_factory.mktemp("defaults")
    done = subprocess.run([sys.executable, "-m", "cramp_audit.cli", "run", str(SAMPLE), "--no-prefect"],
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "warning" not in done.stderr
    [run_id] = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("run ")]
    return work / "cramp_audit.duckdb", run_id


def test_the_default_database_answers_the_analysts_plain_queries_when_opened_directly(audited):
    db, run_id = audited
    con = duckdb.connect(str(db), read_only=True)  # not cramp_audit.db.connect: no ATTACH, no USE
    try:
        assert con.execute("SELECT run_id, status FROM audit.runs").fetchall() == [(run_id, "succeeded")]
        assert con.execute("SELECT count(*) FROM audit.latest_rule_results").fetchall() == [(14,)]
        assert con.execute("SELECT DISTINCT run_id FROM audit.latest_deviations").fetchall() == [(run_id,)]
        assert con.execute("SELECT count(*) > 0 FROM staging.patients").fetchall() == [(True,)]
    finally:
        con.close()


def test_the_duckdb_1_x_command_line_reads_a_database_a_run_wrote(audited):
    db, run_id = audited
    assert DUCKDB_CLI.exists(), "duckdb-cli (dev dependency) is not installed"
    version = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("v1.5.")
    queries = ("SELECT count(*) FROM audit.runs; "
               "SELECT count(*), count(DISTINCT source_path) FROM audit.latest_rule_results; "
               "SELECT requires FROM audit.latest_rules WHERE rule_id = 'LC-ELECTROLYTES'; "  # VARCHAR[]
               "SELECT json_type(evidence) FROM audit.latest_deviations LIMIT 1;")  # JSON
    done = subprocess.run([str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(db), "-c", queries],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.splitlines() == ["1", "14,1", "[labs]", "OBJECT"]


def test_a_database_file_in_duckdb_2_storage_keeps_working(tmp_path):
    db = tmp_path / "cramp_audit.duckdb"
    duckdb.connect(str(db)).close()  # created by DuckDB 2.0's defaults (storage version 69)
    request = AuditRequest(source=str(SAMPLE), db_path=str(db), reports_dir=str(tmp_path / "reports"))
    run_audit(request)
    run_audit(request)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT status FROM audit.runs").fetchall() == [("succeeded",), ("succeeded",)]
    finally:
        con.close()


# ---------------------------------------------------------------- file names that clash with a schema

@pytest.mark.parametrize("name", ["audit.duckdb", "staging.duckdb", "work.duckdb", "data/Audit.db"])
def test_a_db_named_like_a_schema_gets_a_warning_naming_the_problem(name):
    warning = ambiguous_name_warning(name)
    stem = Path(name).stem.lower()
    assert warning is not None and "ambiguous" in warning and f"{stem}.runs" in warning and name in warning


@pytest.mark.parametrize("name", ["cramp_audit.duckdb", "audits.duckdb", "/data/audit/results.duckdb"])
def test_other_db_names_get_no_warning(name):
    assert ambiguous_name_warning(name) is None


def test_an_existing_audit_duckdb_keeps_working_with_one_warning_line(tmp_path, capsys):
    db = tmp_path / "audit.duckdb"
    argv = ["run", str(SAMPLE), "--no-prefect", "--db", str(db), "--reports", str(tmp_path / "reports")]
    assert main(argv) == 0 and main(argv) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 2 and warnings[0].startswith(f"cramp-audit: warning: {db}: ")
    con = duckdb.connect(str(db), read_only=True)
    try:  # opened directly the name is ambiguous, as warned; spelled out in full it works
        assert con.execute("SELECT count(*) FROM audit.audit.runs").fetchall() == [(2,)]
    finally:
        con.close()


# ---------------------------------------------------------------- cramp-audit sql

def test_sql_c_prints_one_query_as_a_table(audited, capsys):
    db, run_id = audited
    assert main(["sql", "--db", str(db), "-c", "SELECT run_id, status FROM audit.latest_runs"]) == 0
    out = capsys.readouterr().out
    assert "run_id" in out and run_id in out and "succeeded" in out and "│" in out


def test_sql_refuses_bad_sql_and_writes_in_one_line_with_exit_2(audited, capsys):
    db, _ = audited
    assert main(["sql", "--db", str(db), "-c", "SELEC 1"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("cramp-audit: error: Parser Error: syntax error")
    assert main(["sql", "--db", str(db), "-c", "DELETE FROM audit.runs"]) == 2  # read-only
    assert "read-only" in capsys.readouterr().err
    assert main(["sql", "--db", str(db), "-c", "SELECT count(*) AS n FROM audit.runs"]) == 0
    assert [cell.strip() for cell in capsys.readouterr().out.splitlines()[4].split("│")] == ["", "1", ""]
    assert main(["sql", "--db", str(db.parent / "missing.duckdb"), "-c", "SELECT 1"]) == 2
    assert "no such database file" in capsys.readouterr().err


def test_sql_reads_statements_from_standard_input_and_goes_on_after_an_error(audited):
    db, _ = audited
    script = ("SELECT 41 + 1 AS answer;\n"
              "SELECT rule_id\n  FROM audit.latest_rule_results\n  ORDER BY rule_id LIMIT 1;\n"
              "SELEC nonsense;\n"
              "SELECT 'after the error' AS still_running;\n")
    done = subprocess.run([sys.executable, "-m", "cramp_audit.cli", "sql", "--db", str(db)], input=script,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2  # one statement failed
    for expected in ("answer", "42", "LC-BACLOFEN-TITRATION", "still_running", "after the error"):
        assert expected in done.stdout, expected
    [error] = done.stderr.splitlines()
    assert error.startswith("error: Parser Error: syntax error")
