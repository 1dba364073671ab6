"""Every result row a run publishes, for the bundled sample and the four shared real extracts, as a
snapshot the tests compare with: a refactor must leave them identical, and a change of behaviour
shows as a reviewed diff of these files.

    python -m tests.results_snapshot --update    # rewrite tests/snapshots/ after an intended change

A snapshot holds, per audit table, its rows without run_id (which differs per run), in a fixed order,
as CSV text; volatile columns (timestamps) are left out, and so is the run's extract date where a
quarantine reason names it (the sample has no date of its own, so its extract date is the run's day)."""

from __future__ import annotations

import argparse
import gzip
import tempfile
from pathlib import Path

from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, run_audit

REPO = Path(__file__).resolve().parent.parent
EXTERNAL = REPO.parent / "shared" / "data" / "external"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
SOURCES = {
    "sample": REPO / "data_samples" / "sample",
    "synthea": EXTERNAL / "synthea_csv_v3_0_0",
    "omop": EXTERNAL / "omop_synthea27nj_5_4",
    "mimic": EXTERNAL / "mimic_iv_demo_2_2",
    "fhir": EXTERNAL / "fhir_r4_bulk_synthea_10pt",
}
# The audit tables a run publishes, each with the columns that identify a row (the sort order).
TABLES = {
    "cohort": "patient_id",
    "cohort_attrition": "step_number",
    "patient_rules": "rule_id, patient_id",
    "rule_results": "rule_id",
    "rule_strata": "rule_id, stratum, value",
    "deviations": "rule_id, patient_id, event_date, explanation, evidence::VARCHAR",
    "deviation_changes": "rule_id, patient_id",
    "quarantine": "table_name, source_file, source_row, check_name, field",
    "data_quality": "table_name, check_name",
    "table_counts": "table_name, source_table, skip_reason",
}


def snapshot_text(db_path: Path, run_id: str) -> str:
    """The run's rows of every table in TABLES, as one CSV text per table under a `## table` line."""
    con = connect(db_path, read_only=True)
    try:
        [(extract_date,)] = con.execute("SELECT extract_date FROM audit.runs WHERE run_id = $run_id",
                                        {"run_id": run_id}).fetchall()
        parts = []
        for table, order in TABLES.items():
            frame = con.sql(f"SELECT * EXCLUDE (run_id) FROM audit.{table} WHERE run_id = $run_id "  # noqa: S608
                            f"ORDER BY {order}", params={"run_id": run_id}).pl()
            parts.append(f"## {table}\n{frame.write_csv()}")
        return "".join(parts).replace(f"extract date {extract_date}", "extract date <the run's extract date>")
    finally:
        con.close()


def audit_snapshot(name: str, work: Path) -> str:
    request = AuditRequest(source=str(SOURCES[name]), db_path=str(work / "cramp_audit.duckdb"),
                           reports_dir=str(work / "reports"))
    summary = run_audit(request)
    return snapshot_text(Path(request.db_path), summary.run_id)


def snapshot_path(name: str) -> Path:
    return SNAPSHOTS / f"{name}.csv.gz"


def stored_snapshot(name: str) -> str:
    return gzip.decompress(snapshot_path(name).read_bytes()).decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite tests/snapshots/ from the current code")
    parser.add_argument("names", nargs="*", default=sorted(SOURCES), help="which sources (default: all)")
    args = parser.parse_args(argv)
    if not args.update:
        parser.error("nothing to do: pass --update")
    SNAPSHOTS.mkdir(exist_ok=True)
    for name in args.names:
        with tempfile.TemporaryDirectory(prefix=f"snapshot-{name}-") as tmp:
            text = audit_snapshot(name, Path(tmp))
        # mtime=0: the same rows give the same bytes, so an unchanged snapshot shows no git diff.
        snapshot_path(name).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
        print(f"wrote {snapshot_path(name)} ({text.count(chr(10)):,} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
