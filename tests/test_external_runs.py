"""The whole audit on each real public extract in shared/data/external: it succeeds, its counts
reconcile, and an empty cohort is said plainly rather than treated as a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, run_audit
from cramp_audit.summary import closing_lines

EXTERNAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "external"
SAMPLES = {"synthea_csv_v3_0_0": "synthea", "omop_synthea27nj_5_4": "omop", "mimic_iv_demo_2_2": "mimic",
           "fhir_r4_bulk_synthea_10pt": "fhir"}


@pytest.mark.skipif(not EXTERNAL.is_dir(), reason=f"{EXTERNAL} not present")
@pytest.mark.parametrize("folder", sorted(SAMPLES))
def test_run_on_each_real_extract_succeeds_and_reconciles(folder, tmp_path):
    request = AuditRequest(source=str(EXTERNAL / folder), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"))  # format detected from the file names
    summary = run_audit(request)
    con = connect(request.db_path, read_only=True)
    try:
        fmt, status, read, loaded, rejected, skipped = con.execute(
            "SELECT source_format, status, rows_read, rows_loaded, rows_quarantined, rows_skipped "
            "FROM audit.runs WHERE run_id = ?", [summary.run_id]).fetchone()
        unbalanced = con.execute("SELECT count(*) FROM audit.table_counts WHERE run_id = ? AND "
                                 "rows_read <> rows_loaded + rows_rejected + rows_skipped", [summary.run_id]).fetchone()
        rules = con.execute("SELECT count(*) FROM audit.rule_results WHERE run_id = ?", [summary.run_id]).fetchone()
        staged = con.execute("SELECT count(*) FROM staging.patients").fetchone()[0]
        attrition = dict(con.execute("SELECT step_number, patients FROM audit.cohort_attrition WHERE run_id = ?",
                                     [summary.run_id]).fetchall())
        patients_loaded = con.execute("SELECT sum(rows_loaded) FROM audit.table_counts WHERE run_id = ? "
                                      "AND table_name = 'patients'", [summary.run_id]).fetchone()[0]
    finally:
        con.close()
    assert (fmt, status) == (SAMPLES[folder], "succeeded")
    assert read == loaded + rejected + skipped and read > 0
    # staging keeps the candidate patients only (those with a leg-cramps diagnosis); the attrition
    # still starts from every patient of the extract
    assert staged == attrition[2] and attrition[1] == patients_loaded > 0
    assert unbalanced == (0,) and rules == (14,)
    lines = closing_lines(request, summary)
    if summary.evaluation.cohort == 0:
        assert "cohort: 0 patients (no patient with a leg-cramps diagnosis in the period)" in lines
    assert (Path(summary.reports_dir) / "report.html").is_file()
