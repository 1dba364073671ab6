"""`cramp-audit export RUN_ID --measure-report`: the FHIR MeasureReport bundle of a stored run.

Writes reports/<RUN_ID>/measure_reports.json from the run's audit.* rows, with the suppress_below
and min_denominator_for_rate the run recorded (as `cramp-audit report` does), for runs made before
every run wrote the file, or to send one on again. Opens the database read-only; other report files
are left as they are.
"""

from __future__ import annotations

from pathlib import Path

from cramp_audit import ledger
from cramp_audit.db import NoDatabaseError, connect
from cramp_audit.reports import write_measure_report_file


def export_measure_report(db_path: str, run_id: str, reports_dir: str) -> Path:
    if not Path(db_path).is_file():
        raise NoDatabaseError(f"{db_path}: no such database file")
    con = connect(db_path, read_only=True)
    try:
        return write_measure_report_file(con, run_id, Path(reports_dir), ledger.recorded_suppress_below(con, run_id))
    finally:
        con.close()
