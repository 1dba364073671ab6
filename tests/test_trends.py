"""Two runs on one source whose extract changed between them (issue 13, trends): each deviation is
new, persisting or resolved against the previous run, audit.rule_trend follows each rule's rate over
the runs, the worklist says which deviations are new, and the run records the data's latest date."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, run_audit
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract

QUININE = {**DEFAULT_MEDICATION, "code": "9071", "description": "quinine sulfate 300 MG Oral Tablet"}


def _patients(*ids: str) -> list[dict]:
    return [{**DEFAULT_PATIENT, "patient_id": p} for p in ids]


def _diagnoses(*ids: str) -> list[dict]:
    return [{**DEFAULT_DIAGNOSIS, "patient_id": p} for p in ids]


def _quinine(patient_id: str, start: str = "2025-03-02") -> dict:
    return {**QUININE, "order_id": f"Q-{patient_id}", "patient_id": patient_id, "start_date": start}


def _rows(db_path: str, query: str, params: list | None = None) -> list[tuple]:
    con = connect(db_path, read_only=True)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def _two_runs(tmp_path: Path) -> tuple[AuditRequest, str, str]:
    """Run 1: P1 and P2 take quinine, P3 does not. Run 2, on the same folder: P1 still does, P2's order
    is gone (resolved), P3 started quinine (new), and P4 is a new patient without quinine."""
    folder = tmp_path / "extract"
    write_extract(folder, patients=_patients("P1", "P2", "P3"), diagnoses=_diagnoses("P1", "P2", "P3"),
                  medications=[_quinine("P1"), _quinine("P2")])
    request = AuditRequest(source=str(folder), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"), source_format="canonical")
    first = run_audit(request).run_id
    write_extract(folder, patients=_patients("P1", "P2", "P3", "P4"), diagnoses=_diagnoses("P1", "P2", "P3", "P4"),
                  medications=[_quinine("P1"), _quinine("P3", "2025-03-20")])
    second = run_audit(request).run_id
    return request, first, second


def test_deviations_are_new_persisting_or_resolved_against_the_previous_run(tmp_path: Path) -> None:
    request, first, second = _two_runs(tmp_path)
    changes = "SELECT patient_id, change, previous_run_id, status, previous_status FROM audit.deviation_changes " \
              "WHERE run_id = ? AND rule_id = 'LC-QUININE' ORDER BY patient_id"

    assert _rows(request.db_path, changes, [first]) == [
        ("P1", "new", None, "deviation", None), ("P2", "new", None, "deviation", None)]
    assert _rows(request.db_path, changes, [second]) == [
        ("P1", "persisting", first, "deviation", "deviation"),
        ("P2", "resolved", first, "met", "deviation"),
        ("P3", "new", first, "deviation", "met")]


def test_rule_trend_follows_each_rule_over_the_runs_of_the_source(tmp_path: Path) -> None:
    request, first, second = _two_runs(tmp_path)
    trend = _rows(request.db_path,
                  "SELECT run_number, run_id, latest_data_date, evaluated, deviations, deviation_rate, "
                  "previous_run_id, previous_deviation_rate, rate_change, new_deviations, persisting_deviations, "
                  "resolved_deviations FROM audit.rule_trend WHERE rule_id = 'LC-QUININE' ORDER BY run_number")

    assert trend == [
        (1, first, date(2025, 3, 2), 3, 2, 2 / 3, None, None, None, 2, 0, 0),
        (2, second, date(2025, 3, 20), 4, 2, 0.5, first, 2 / 3, 0.5 - 2 / 3, 1, 1, 1)]
    rules = _rows(request.db_path, "SELECT count(DISTINCT rule_id), count(*) FROM audit.rule_trend")
    [(rule_count,)] = _rows(request.db_path, "SELECT count(*) FROM audit.rules WHERE run_id = ?", [second])
    assert rules == [(rule_count, 2 * rule_count)]  # every rule, once per run


def test_worklist_marks_each_deviation_new_or_persisting(tmp_path: Path) -> None:
    request, _, second = _two_runs(tmp_path)
    with open(Path(request.reports_dir) / second / "worklist_internal.csv", encoding="utf-8-sig", newline="") as handle:
        quinine = [(r["patient_id"], r["change"]) for r in csv.DictReader(handle) if r["rule_id"] == "LC-QUININE"]

    assert quinine == [("P1", "persisting"), ("P3", "new")]


def test_the_run_records_the_datas_latest_date_apart_from_the_extract_date(tmp_path: Path) -> None:
    request, _, second = _two_runs(tmp_path)
    [(latest, extract_date, period_end)] = _rows(
        request.db_path, "SELECT latest_data_date, extract_date, period_end FROM audit.runs WHERE run_id = ?",
        [second])

    assert latest == period_end == date(2025, 3, 20)  # P3's quinine start, the newest event
    assert extract_date == date.today()  # a canonical extract states no date: the run's own
    html = (Path(request.reports_dir) / second / "report.html").read_text(encoding="utf-8")
    assert "2025-03-20" in html


def test_a_runs_trend_report_shows_its_source_up_to_that_run(tmp_path: Path) -> None:
    from cramp_audit.reports import query_report

    request, first, second = _two_runs(tmp_path)
    con = connect(request.db_path, read_only=True)
    try:
        earlier = query_report(con, "rule_trend", run_id=first).filter(rule_id="LC-QUININE")
        latest = query_report(con, "rule_trend", run_id=second).filter(rule_id="LC-QUININE")
    finally:
        con.close()

    assert earlier["run_id"].to_list() == [first]  # rebuilt later, an old run's report shows no later run
    assert latest["run_id"].to_list() == [first, second]  # oldest first, up to and including the run
