"""An optional table the extract lacks (extract-format.md: "every rule that needs them then reports its
patients as not evaluable, and the run says so"): the run says so in audit.table_counts,
audit.data_quality, data_quality.csv, report.html and `cramp-audit validate`, naming the rules that
could not be fully evaluated."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from cramp_audit.cli import main
from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, RunSummary, run_audit
from cramp_audit.rules_engine import discover_rules
from tests.extract_builder import write_extract

ENCOUNTER = {"encounter_id": "E1", "patient_id": "P1", "start_date": "2025-03-01"}
PROCEDURE = {"patient_id": "P1", "code_system": "CPT", "code": "99213", "performed_date": "2025-03-01"}
RULES_NEEDING_LABS = sorted(r.id for r in discover_rules() if "labs" in r.requires)


def _extract_without_labs(tmp_path: Path) -> Path:
    return write_extract(tmp_path / "extract", encounters=[ENCOUNTER], procedures=[PROCEDURE])


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditRequest, RunSummary]:
    tmp_path = tmp_path_factory.mktemp("no-labs")
    request = AuditRequest(source=str(_extract_without_labs(tmp_path)), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"), source_format="canonical")
    return request, run_audit(request)


def _rows(request: AuditRequest, query: str, params: list[object]) -> list[tuple]:
    con = connect(request.db_path, read_only=True)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def test_table_counts_have_an_all_zero_row_saying_labs_were_not_in_the_extract(audited) -> None:
    request, summary = audited
    rows = _rows(request, "SELECT table_name, source_table, rows_read, rows_loaded, rows_rejected, rows_repaired, "
                          "rows_skipped, skip_reason FROM audit.table_counts WHERE run_id = ? ORDER BY table_name",
                 [summary.run_id])
    assert rows == [("diagnoses", "diagnoses.csv", 1, 1, 0, 0, 0, None),
                    ("encounters", "encounters.csv", 1, 1, 0, 0, 0, None),
                    ("labs", None, 0, 0, 0, 0, 0, "file not in the extract"),
                    ("medications", "medications.csv", 1, 1, 0, 0, 0, None),
                    ("patients", "patients.csv", 1, 1, 0, 0, 0, None),
                    ("procedures", "procedures.csv", 1, 1, 0, 0, 0, None)]


def test_data_quality_has_one_failed_file_check_for_labs_and_no_lab_check_passed_on_nothing(audited) -> None:
    request, summary = audited
    rows = _rows(request, "SELECT check_name, rows_checked, rows_failed, passed FROM audit.data_quality "
                          "WHERE run_id = ? AND table_name = 'labs'", [summary.run_id])
    assert rows == [("table:has_usable_rows", 0, 1, False)]


def test_rules_needing_labs_are_not_evaluable_although_labs_have_a_table_counts_row(audited) -> None:
    request, summary = audited
    assert RULES_NEEDING_LABS  # the rule pack has rules that need labs, or this test proves nothing
    statuses = _rows(request, "SELECT rule_id, status, reason FROM audit.patient_rules "
                              "WHERE run_id = ? AND rule_id IN ('LC-ELECTROLYTES', 'LC-WORKUP-EXCESS') "
                              "ORDER BY rule_id", [summary.run_id])
    electrolytes, workup = statuses
    assert electrolytes == ("LC-ELECTROLYTES", "not_evaluable", "no usable rows in the extract: labs")
    # procedures were in the extract: the rule judged; its one-day extract ends before the 90-day
    # work-up window does, so rules-v2.md makes the patient not evaluable for that, not for a table
    assert not workup[2].startswith("no usable rows in the extract")
    assert "before the 90-day window ended" in workup[2]


def test_data_quality_csv_shows_labs_absent_and_names_the_rules_that_need_labs(audited) -> None:
    request, summary = audited
    with open(Path(summary.reports_dir) / "data_quality.csv", encoding="utf-8-sig", newline="") as handle:
        labs = [row for row in csv.DictReader(handle) if row["table_name"] == "labs"]
    assert [(r["kind"], r["rows_read"], r["skip_reason"], r["check_name"], r["rows_failed"]) for r in labs] == [
        ("counts", "0", "file not in the extract", "", ""), ("check", "", "", "table:has_usable_rows", "1")]
    assert labs[1]["rules_not_evaluable"] == ", ".join(RULES_NEEDING_LABS)
    assert labs[0]["rules_not_evaluable"] == ""


def test_report_html_lists_labs_as_not_in_the_extract_with_the_rules_that_need_them(audited) -> None:
    request, summary = audited
    html = (Path(summary.reports_dir) / "report.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="unusable-tables">(.*?)</table>', html, re.S)
    assert table is not None
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", table[1], re.S)]
    assert cells == ["labs", ", ".join(RULES_NEEDING_LABS)]
    note = re.search(r'<p class="note unusable-table">(.*?)</p>', html, re.S)
    assert note is not None and "labs" in note[1] and all(rule in note[1] for rule in RULES_NEEDING_LABS)


def test_a_report_of_an_extract_with_every_table_has_no_absent_table_section(tmp_path) -> None:
    source = write_extract(tmp_path / "extract", encounters=[ENCOUNTER], procedures=[PROCEDURE],
                           labs=[{"patient_id": "P1", "code_system": "LOINC", "code": "2601-3",
                                  "collected_date": "2025-03-01", "value_numeric": "0.8", "unit": "mmol/L"}])
    request = AuditRequest(source=str(source), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"), source_format="canonical")
    summary = run_audit(request)
    html = (Path(summary.reports_dir) / "report.html").read_text(encoding="utf-8")
    assert 'id="unusable-tables"' not in html and "unusable-table" not in html
    # The check of lab units runs when there are labs to check (skipped, not "passed", without them).
    checks = _rows(request, "SELECT rows_checked, passed FROM audit.data_quality WHERE run_id = ? "
                            "AND check_name = 'magnesium_potassium_unit_known'", [summary.run_id])
    assert checks == [(1, True)]


def test_validate_says_which_optional_tables_are_not_in_the_extract(tmp_path, capsys) -> None:
    assert main(["validate", str(_extract_without_labs(tmp_path))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert ("no usable rows in the extract: labs — rules that need them report their patients as not evaluable") in out


GOOD_LAB = {"patient_id": "P1", "code_system": "LOINC", "code": "2823-3", "collected_date": "2025-03-01",
            "value_numeric": "4.1", "unit": "mmol/L"}


@pytest.mark.parametrize("lab_rows", [[], [{**GOOD_LAB, "collected_date": "01/03/2025"}] * 2],
                         ids=["header-only-file", "every-row-rejected"])
def test_a_labs_file_without_a_usable_row_is_missing_evidence_not_a_deviation(tmp_path, lab_rows) -> None:
    """No lab loaded is not evidence that no electrolytes were checked: the rules that need labs say
    they could not judge, instead of flagging every cohort patient."""
    from cramp_audit.summary import closing_lines

    folder = write_extract(tmp_path / "extract", encounters=[ENCOUNTER], procedures=[PROCEDURE], labs=lab_rows)
    request = AuditRequest(source=str(folder), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"), source_format="canonical")
    summary = run_audit(request)
    statuses = _rows(request, "SELECT status, reason FROM audit.patient_rules WHERE run_id = ? "
                              "AND rule_id = 'LC-ELECTROLYTES'", [summary.run_id])
    assert statuses == [("not_evaluable", "no usable rows in the extract: labs")]
    assert ("no usable rows in the extract: labs — rules that need them report their patients as not evaluable"
            in closing_lines(request, summary))
    # ... and the committee's report says why those rules could not be judged.
    assert _rows(request, "SELECT rows_checked, rows_failed, passed FROM audit.data_quality WHERE run_id = ? "
                          "AND check_name = 'table:has_usable_rows'", [summary.run_id]) == [
        (len(lab_rows), len(lab_rows) or 1, False)]
    html = (Path(summary.reports_dir) / "report.html").read_text(encoding="utf-8")
    note = re.search(r'<p class="note unusable-table">(.*?)</p>', html, re.S)
    assert note and "labs" in note.group(1) and "LC-ELECTROLYTES" in note.group(1)
    # With one usable lab row the rule judges again.
    write_extract(folder, encounters=[ENCOUNTER], procedures=[PROCEDURE], labs=[*lab_rows, GOOD_LAB])
    again = run_audit(request)
    # (rules-v2.md: the one-day extract ends before the 30-day window does, so the reason is the data's end)
    assert _rows(request, "SELECT reason FROM audit.patient_rules WHERE run_id = ? AND rule_id = 'LC-ELECTROLYTES'",
                 [again.run_id])[0][0] != "no usable rows in the extract: labs"
