"""The audit's steps as plain functions on a database file: counts reconcile, identifiers never
reach DuckDB, runs are atomic and repeatable, and two runs never interleave."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cramp_audit.db import DatabaseBusyError, connect, exclusive
from cramp_audit.pipeline import AuditRequest, run_audit
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract

REPO = Path(__file__).resolve().parent.parent
AUDIT_TABLES = ("rules", "cohort", "cohort_attrition", "patient_rules", "rule_results", "deviations",
                "quarantine", "data_quality", "table_counts", "deviation_changes")


def _extract(tmp_path, **tables):
    patients = [DEFAULT_PATIENT, {**DEFAULT_PATIENT, "patient_id": "P2", "birth_date": "1990-01-01"},
                {**DEFAULT_PATIENT, "patient_id": "P3", "birth_date": "not a date"}]
    diagnoses = [DEFAULT_DIAGNOSIS, {**DEFAULT_DIAGNOSIS, "patient_id": "P2", "code": "G47.62"},
                 {**DEFAULT_DIAGNOSIS, "patient_id": "GHOST"}]
    medications = [DEFAULT_MEDICATION, {**DEFAULT_MEDICATION, "order_id": "O2", "code": "9071",
                                        "description": "quinine", "dose_value": "-1"}]
    return write_extract(tmp_path / "extract", patients=patients, diagnoses=diagnoses, medications=medications,
                         **tables)


def _request(tmp_path, source) -> AuditRequest:
    return AuditRequest(source=str(source), db_path=str(tmp_path / "cramp_audit.duckdb"),
                        reports_dir=str(tmp_path / "reports"), source_format="canonical")


def _rows(db_path, query: str, params=None) -> list[tuple]:
    con = connect(db_path, read_only=True)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def test_counts_reconcile_per_table_and_on_the_run(tmp_path):
    request = _request(tmp_path, _extract(tmp_path))
    summary = run_audit(request)
    counts = _rows(request.db_path, "SELECT table_name, rows_read, rows_loaded, rows_rejected, rows_skipped "
                                    "FROM audit.table_counts WHERE run_id = ? ORDER BY table_name", [summary.run_id])
    absent = (0, 0, 0, 0)  # an optional table the extract lacks: a row of zeros that says so
    assert counts == [("diagnoses", 3, 2, 1, 0), ("encounters", *absent), ("labs", *absent),
                      ("medications", 2, 2, 0, 0), ("patients", 3, 2, 1, 0), ("procedures", *absent)]
    run = _rows(request.db_path, "SELECT status, rows_read, rows_loaded, rows_quarantined, rows_repaired "
                                 "FROM audit.runs WHERE run_id = ?", [summary.run_id])
    assert run == [("succeeded", 8, 6, 2, 1)]
    staged = _rows(request.db_path, "SELECT count(*) FROM staging.patients")
    assert staged == [(2,)]


def test_identifiers_in_the_source_never_reach_duckdb(tmp_path):
    marker = "ZZSECRET"
    patients = [{**DEFAULT_PATIENT, "first_name": f"{marker}Ann", "ssn": f"{marker}123", "address": f"{marker} St",
                 "phone": f"{marker}555", "mrn": f"{marker}MRN"},
                {**DEFAULT_PATIENT, "patient_id": "P9", "birth_date": "", "first_name": f"{marker}Bad"}]
    folder = write_extract(tmp_path / "extract", patients=[])
    from tests.extract_builder import write_table

    write_table(folder, "patients", patients, extra_columns=("first_name", "ssn", "address", "phone", "mrn"))
    request = _request(tmp_path, folder)
    run_audit(request)
    con = connect(request.db_path, read_only=True)
    try:
        text_columns = con.execute(
            "SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
            "USING (database_name, schema_name, table_name) "
            "WHERE c.database_name = 'cramp' AND c.data_type IN ('VARCHAR', 'JSON')").fetchall()
        for schema, table, column in text_columns:
            hits = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::VARCHAR LIKE ?',
                               [f"%{marker}%"]).fetchone()[0]
            assert hits == 0, f"{schema}.{table}.{column} holds an identifier"
        columns = {c for _, _, c in text_columns}
        assert not columns & {"first_name", "ssn", "address", "phone", "mrn"}
        # The bad row is quarantined, its record without the identifier columns.
        assert con.execute("SELECT count(*) FROM audit.quarantine WHERE action = 'rejected'").fetchone()[0] == 1
    finally:
        con.close()


def test_second_run_keeps_earlier_runs_and_gives_identical_results(tmp_path):
    request = _request(tmp_path, _extract(tmp_path))
    first, second = run_audit(request), run_audit(request)
    runs = _rows(request.db_path, "SELECT run_id, status FROM audit.runs ORDER BY started_at")
    assert runs == [(first.run_id, "succeeded"), (second.run_id, "succeeded")]
    for table in AUDIT_TABLES:
        per_run = _rows(request.db_path, f"SELECT run_id, count(*) FROM audit.{table} GROUP BY run_id ORDER BY 1")
        assert len({n for _, n in per_run}) <= 1, f"audit.{table}: runs differ in size {per_run}"
    query = ("SELECT rule_id, patient_id, event_date, explanation, evidence::VARCHAR FROM audit.deviations "
             "WHERE run_id = ? ORDER BY ALL")
    assert _rows(request.db_path, query, [first.run_id]) == _rows(request.db_path, query, [second.run_id])
    cohort = "SELECT patient_id, index_date FROM audit.cohort WHERE run_id = ? ORDER BY ALL"
    assert _rows(request.db_path, cohort, [first.run_id]) == _rows(request.db_path, cohort, [second.run_id])
    duplicates = _rows(request.db_path, "SELECT count(*) FROM (SELECT run_id, rule_id, patient_id FROM "
                                        "audit.patient_rules GROUP BY ALL HAVING count(*) > 1)")
    assert duplicates == [(0,)]


def test_latest_views_show_each_audit_table_for_the_newest_succeeded_run_only(tmp_path, monkeypatch):
    import cramp_audit.rules_engine as engine

    request = _request(tmp_path, _extract(tmp_path))
    run_audit(request)
    newest = run_audit(request).run_id
    monkeypatch.setattr(engine, "evaluate", lambda *args: (_ for _ in ()).throw(RuntimeError("injected")))
    with pytest.raises(RuntimeError):
        run_audit(request, run_id="failed-after-newest")
    assert _rows(request.db_path, "SELECT run_id FROM audit.latest_runs") == [(newest,)]
    for table in AUDIT_TABLES:
        shown = _rows(request.db_path, f"SELECT * EXCLUDE (source_path) FROM audit.latest_{table} ORDER BY ALL")
        stored = _rows(request.db_path, f"SELECT * FROM audit.{table} WHERE run_id = ? ORDER BY ALL", [newest])
        assert shown == stored and shown, table
        sources = _rows(request.db_path, f"SELECT DISTINCT source_path FROM audit.latest_{table}")
        assert sources == [(str(Path(request.source).resolve()),)], table


def test_failure_in_the_rules_step_leaves_only_the_failed_ledger_row(tmp_path, monkeypatch):
    import cramp_audit.rules_engine as engine

    request = _request(tmp_path, _extract(tmp_path))
    real_evaluate = engine.evaluate

    def evaluate_then_crash(con, run_id, source_path):
        real_evaluate(con, run_id, source_path)  # work.* is full: the crash comes after the rules ran
        raise RuntimeError("injected failure in the rules step")

    monkeypatch.setattr(engine, "evaluate", evaluate_then_crash)
    with pytest.raises(RuntimeError, match="injected"):
        run_audit(request, run_id="run-that-fails")
    monkeypatch.setattr(engine, "evaluate", real_evaluate)

    assert _rows(request.db_path, "SELECT status, error FROM audit.runs") == [
        ("failed", "RuntimeError: injected failure in the rules step")]
    for table in AUDIT_TABLES:
        assert _rows(request.db_path, f"SELECT count(*) FROM audit.{table}") == [(0,)], table
    rerun = run_audit(request)
    assert _rows(request.db_path, "SELECT status FROM audit.runs WHERE run_id = ?", [rerun.run_id]) == [
        ("succeeded",)]
    assert _rows(request.db_path, "SELECT count(DISTINCT run_id) FROM audit.rule_results") == [(1,)]


def test_a_run_killed_midway_is_marked_failed_by_the_next(tmp_path):
    request = _request(tmp_path, _extract(tmp_path))
    # A process that dies after its ingest: no evaluate, no publish, no clean-up (os._exit).
    script = ("import os, sys; from cramp_audit import pipeline; from cramp_audit.pipeline import AuditRequest; "
              "request = AuditRequest(source=sys.argv[1], db_path=sys.argv[2], source_format='canonical'); "
              "session = pipeline.run_session(request, 'killed-run'); session.__enter__(); "
              "pipeline.ingest(request, 'killed-run'); os._exit(9)")
    died = subprocess.run([sys.executable, "-c", script, request.source, request.db_path], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr[-2000:]
    later = run_audit(request)
    statuses = dict(_rows(request.db_path, "SELECT run_id, status FROM audit.runs"))
    assert statuses == {"killed-run": "failed", later.run_id: "succeeded"}
    assert _rows(request.db_path, "SELECT count(*) FROM audit.cohort WHERE run_id = 'killed-run'") == [(0,)]


def test_a_second_run_on_a_busy_database_is_refused(tmp_path):
    request = _request(tmp_path, _extract(tmp_path))
    with exclusive(tmp_path / "cramp_audit.duckdb"), pytest.raises(DatabaseBusyError, match="another cramp-audit run"):
        run_audit(request)


def test_a_run_without_optional_files_says_so_and_reports_not_evaluable(tmp_path):
    from cramp_audit.summary import closing_lines

    request = _request(tmp_path, _extract(tmp_path))  # patients, diagnoses and medications only
    summary = run_audit(request)
    lines = closing_lines(request, summary)
    assert ("no usable rows in the extract: encounters, labs, procedures — rules that need them report their patients "
            "as not evaluable") in lines
    statuses = dict(_rows(request.db_path, "SELECT rule_id, any_value(status) FROM audit.patient_rules "
                                           "WHERE rule_id IN ('LC-ELECTROLYTES', 'LC-WORKUP-EXCESS') GROUP BY 1"))
    assert statuses == {"LC-ELECTROLYTES": "not_evaluable", "LC-WORKUP-EXCESS": "not_evaluable"}


def test_closing_lines_give_each_rate_with_the_patients_it_is_a_rate_of(tmp_path):
    from cramp_audit.summary import closing_lines

    sample = Path(__file__).resolve().parent.parent / "data_samples" / "sample"
    request = AuditRequest(source=str(sample), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"))
    lines = closing_lines(request, run_audit(request))
    results = _rows(request.db_path, "SELECT rule_id, deviations, denominator - exclusions - not_evaluable, "
                                     "denominator, deviation_rate FROM audit.rule_results")
    assert any(evaluated != denominator for _, _, evaluated, denominator, _ in results)  # the case that matters
    for rule_id, deviations, evaluated, denominator, rate in results:
        line = next(line.split() for line in lines if line.split()[:1] == [rule_id])
        assert line[1:5] == [f"{deviations:,}", "deviations", "of", f"{evaluated:,}"]
        assert line[6] == f"({rate:.1%});" and line[-1] == f"{denominator:,}"
