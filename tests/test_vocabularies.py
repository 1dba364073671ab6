"""Severities (schemas/severities.csv: rank, colour) and rule roles (schemas/roles.csv) are data read
once: the worklist's order, the page's badges and chart, the header check and the role contract all
follow the tables."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from cramp_audit.schemas.vocabularies import role_names, severities, severity_colours, severity_names

import cramp_audit.reports as reports
from cramp_audit.rules_engine import SEVERITIES, RuleError, evaluate
from tests.deck import audit_deck, cramps_patient
from tests.report_fixture import RUN_ID, build_audit_db

HEADER = ("-- rule_id: LC-ROLES\n-- title: t\n-- severity: low\n-- guideline: \"g\"\n-- value_sets: QUININE\n"
          "-- parameters: followup_days\n-- reason_codes: ROLE_TEST\n")


def _worklist_severities(tmp_path: Path) -> list[str]:
    tmp_path.mkdir()
    reports.write_reports(build_audit_db(tmp_path / "cramp.duckdb"), RUN_ID, tmp_path / "out", suppress_below=11)
    with (tmp_path / "out" / RUN_ID / "worklist_internal.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(dict.fromkeys(r["severity"] for r in csv.DictReader(handle)))


def test_the_worklist_lists_severities_in_the_tables_rank_order(tmp_path, monkeypatch):
    assert severity_names() == ["high", "medium", "low"]
    assert _worklist_severities(tmp_path / "a") == ["high", "low"]  # the fixture's deviations are high or low
    monkeypatch.setattr(reports, "severity_names", lambda: ["low", "high", "medium"])  # another ranking
    assert _worklist_severities(tmp_path / "b") == ["low", "high"]


def test_the_page_draws_each_severity_in_its_tables_colour(tmp_path):
    reports.write_reports(build_audit_db(tmp_path / "cramp.duckdb"), RUN_ID, tmp_path / "out", suppress_below=11)
    html = (tmp_path / "out" / RUN_ID / "report.html").read_text(encoding="utf-8")
    for severity in severities():
        assert re.search(rf"\.severity-{severity.name} {{ background: {severity.colour}; }}", html), severity
        assert severity.colour in html.split("<svg", 1)[1]  # the rule chart's bars too
    assert reports.SEVERITY_COLOURS == severity_colours() and SEVERITIES == tuple(severity_names())


def test_a_rule_row_with_a_role_not_in_the_roles_table_is_refused(tmp_path):
    deck = audit_deck(cramps_patient("anyone"))
    assert role_names() == ["denominator", "exclusion", "not_evaluable", "deviation"]
    (tmp_path / "LC-ROLES.sql").write_text(
        HEADER + "SELECT patient_id, 'maybe' AS role, index_date AS event_date, 'x' AS explanation, "
                 "'{}' AS evidence, NULL AS reason_code FROM work.cohort")
    with pytest.raises(RuleError, match="unknown role maybe"):
        evaluate(deck.con, "roles", "deck", rules_dir=tmp_path)
