"""A small hand-made audit database for the report tests, and a reader for the page's rule table.

One run (RUN_ID) with 52 cohort patients at three sites of different sizes plus one patient without a
site, five rules, deviations, data-quality rows and table counts; and an older run (OTHER_RUN_ID)
whose rows must never appear in RUN_ID's reports.

Patients per site and status counts per rule × site (the rest of a site is not_applicable):

    rule                  NORTH (30)               EAST (11)        WEST (10)          (none) (1)
    LC-QUININE            11 deviation, 19 met     1 dev, 10 met    10 met             1 met
    LC-ELECTROLYTES       10 deviation, 20 met     11 met           5 dev, 5 met       1 dev
    LC-MG-DOSE            2 not_eval, 4 dev, 14 met  -              1 dev, 2 met       -
    LC-RLS-CONFUSION      1 excluded, 11 met       -                -                  -
    LC-CIRRHOSIS-DIURETIC -                        -                -                  -
"""

from __future__ import annotations

import json
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl

from cramp_audit.db import initialise

RUN_ID = "run-20240603-0600"
OTHER_RUN_ID = "run-20240527-0600"

SITES: dict[str | None, int] = {"NORTH": 30, "EAST": 11, "WEST": 10, None: 1}

RULES = [
    ("LC-QUININE", "Quinine prescribed", "high", "Avoid quinine despite historical use"),
    ("LC-ELECTROLYTES", "Basic electrolytes not checked", "low",
     "check basic electrolytes (particularly magnesium and potassium)"),
    ("LC-MG-DOSE", "Magnesium oxide dose outside 12-24 mmol/day", "low",
     "magnesium oxide 12-24 mmol daily (approximately 480-960 mg) given at night"),
    ("LC-RLS-CONFUSION", "Dopaminergic treatment without restless legs", "medium",
     "Do not confuse leg cramps with restless leg syndrome, which requires different treatment "
     "(dopaminergic agents)"),
    ("LC-CIRRHOSIS-DIURETIC", "Missed diuretic review in cirrhosis", "medium",
     "Discontinue diuretics if incapacitating muscle cramps develop"),
]
SEVERITY = {rule_id: severity for rule_id, _, severity, _ in RULES}

STATUS_COUNTS: dict[str, dict[str | None, dict[str, int]]] = {
    "LC-QUININE": {"NORTH": {"deviation": 11, "met": 19}, "EAST": {"deviation": 1, "met": 10},
                   "WEST": {"met": 10}, None: {"met": 1}},
    "LC-ELECTROLYTES": {"NORTH": {"deviation": 10, "met": 20}, "EAST": {"met": 11},
                        "WEST": {"deviation": 5, "met": 5}, None: {"deviation": 1}},
    "LC-MG-DOSE": {"NORTH": {"not_evaluable": 2, "deviation": 4, "met": 14},
                   "WEST": {"deviation": 1, "met": 2}},
    "LC-RLS-CONFUSION": {"NORTH": {"excluded": 1, "met": 11}},
    "LC-CIRRHOSIS-DIURETIC": {},
}

# The first deviating patient of LC-QUININE has two quinine orders: two worklist rows, one in the rates.
DEVIATION_ROWS = 12 + 1 + 16 + 5
EXPLANATION = 'quinine sulfate 300 mg "at night", started after the index date — café note'


def patient_ids() -> dict[str | None, list[str]]:
    """Zero-padded numeric ids on purpose: the CSV round trip must keep them as text."""
    ids: dict[str | None, list[str]] = {}
    number = 1
    for site, size in SITES.items():
        ids[site] = [f"{n:06d}" for n in range(number, number + size)]
        number += size
    return ids


def site_statuses(ids: list[str], counts: dict[str, int]) -> list[tuple[str, str]]:
    """The site's patients with the given number of each status; the rest are not_applicable."""
    statuses = [status for status, n in counts.items() for _ in range(n)]
    statuses += ["not_applicable"] * (len(ids) - len(statuses))
    return list(zip(ids, statuses, strict=True))


def build_audit_db(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    initialise(con)
    insert_run(con)
    insert_rules_and_patients(con)
    insert_data_quality(con)
    insert_other_run(con)
    return con


def insert_run(con: duckdb.DuckDBPyConnection) -> None:
    parameters = {"cohort": {"followup_days": 180, "min_age_years": 18},
                  "LC-MG-DOSE": {"mgo_min_mg": 480, "mgo_max_mg": 960}, "reports": {"suppress_below": 11}}
    con.execute(
        "INSERT INTO audit.runs (run_id, started_at, finished_at, status, source_path, source_format,"
        " source_checksum, period_start, period_end, rule_pack_version, value_sets_checksum, parameters,"
        " code_version, rows_read, rows_loaded, rows_quarantined, rows_repaired, rows_skipped, extract_date,"
        " latest_data_date)"
        " VALUES (?, ?, ?, 'succeeded', ?, 'synthea', 'sha256:ab12', ?, ?, '1', 'sha256:cd34', ?, '0.1.0+g1a2b3c',"
        " 10200, 10150, 30, 5, 20, ?, ?)",
        [RUN_ID, datetime(2024, 6, 3, 6, 0, 1), datetime(2024, 6, 3, 6, 2, 45),
         "/data/extracts/north & east <2024-06>", date(2023, 6, 1), date(2024, 5, 31),
         json.dumps(parameters), date(2024, 6, 3), date(2024, 5, 31)],
    )
    con.executemany(
        "INSERT INTO audit.cohort_attrition (run_id, step_number, step, patients) VALUES (?, ?, ?, ?)",
        [(RUN_ID, 1, "in the extract", 1200), (RUN_ID, 2, "with a leg-cramps diagnosis", 400),
         (RUN_ID, 3, "inside the period", 120), (RUN_ID, 4, "aged 18+", 60), (RUN_ID, 5, "alive at index", 52)],
    )


def insert_rules_and_patients(con: duckdb.DuckDBPyConnection) -> None:
    con.executemany("INSERT INTO audit.rules (run_id, rule_id, title, severity, guideline_statement)"
                    " VALUES (?, ?, ?, ?, ?)", [(RUN_ID, *rule) for rule in RULES])
    cohort = [(pid, site) for site, ids in patient_ids().items() for pid in ids]
    statuses = [(rule_id, pid, status) for rule_id, by_site in STATUS_COUNTS.items()
                for site, ids in patient_ids().items() for pid, status in site_statuses(ids, by_site.get(site, {}))]
    # One INSERT per table from a polars frame: row-by-row inserts would make every test slow.
    con.register("cohort_frame", pl.DataFrame(cohort, schema=["patient_id", "site_id"], orient="row"))
    con.register("statuses_frame", pl.DataFrame(statuses, schema=["rule_id", "patient_id", "status"], orient="row"))
    con.execute("INSERT INTO audit.cohort (run_id, patient_id, index_date, age_at_index, sex, site_id)"
                " SELECT ?, patient_id, DATE '2024-01-15', 70, 'F', site_id FROM cohort_frame", [RUN_ID])
    con.execute("INSERT INTO audit.patient_rules (run_id, rule_id, patient_id, status)"
                " SELECT ?, rule_id, patient_id, status FROM statuses_frame", [RUN_ID])
    con.unregister("cohort_frame")
    con.unregister("statuses_frame")
    # Deviation events: one per deviating patient, plus a second event for the first quinine patient.
    con.execute(
        "INSERT INTO audit.deviations (run_id, rule_id, patient_id, event_date, severity, explanation, evidence)"
        " SELECT pr.run_id, pr.rule_id, pr.patient_id, DATE '2024-02-01', r.severity, ?, '{\"order_id\": 1}'"
        " FROM audit.patient_rules pr JOIN audit.rules r USING (run_id, rule_id)"
        " WHERE pr.run_id = ? AND pr.status = 'deviation'",
        [EXPLANATION, RUN_ID],
    )
    con.execute(
        "INSERT INTO audit.deviations (run_id, rule_id, patient_id, event_date, severity, explanation, evidence)"
        " SELECT run_id, rule_id, patient_id, DATE '2024-03-10', severity, 'second quinine order, 2024-03-10',"
        " evidence FROM audit.deviations WHERE run_id = ? AND rule_id = 'LC-QUININE' ORDER BY patient_id LIMIT 1",
        [RUN_ID],
    )
    # Changes against an earlier run: the first quinine patient's deviation persists, the rest are new.
    con.execute(
        "INSERT INTO audit.deviation_changes (run_id, rule_id, patient_id, change, previous_run_id, status,"
        " previous_status)"
        " SELECT run_id, rule_id, patient_id, CASE WHEN rule_id = 'LC-QUININE' AND patient_id = '000001'"
        "  THEN 'persisting' ELSE 'new' END, ?, status, NULL"
        " FROM audit.patient_rules WHERE run_id = ? AND status = 'deviation'",
        [OTHER_RUN_ID, RUN_ID],
    )
    # rule_results as the population decider derives them from patient_rules.
    con.execute(
        "INSERT INTO audit.rule_results (run_id, rule_id, denominator, exclusions, not_evaluable, deviations,"
        " deviation_rate)"
        " SELECT run_id, rule_id,"
        "  count(*) FILTER (WHERE status <> 'not_applicable'),"
        "  count(*) FILTER (WHERE status = 'excluded'),"
        "  count(*) FILTER (WHERE status = 'not_evaluable'),"
        "  count(*) FILTER (WHERE status = 'deviation'),"
        "  count(*) FILTER (WHERE status = 'deviation') / nullif(count(*) FILTER (WHERE status IN"
        "   ('deviation', 'met')), 0)"
        " FROM audit.patient_rules WHERE run_id = ? GROUP BY run_id, rule_id",
        [RUN_ID],
    )
    derive_rule_strata(con)


def derive_rule_strata(con: duckdb.DuckDBPyConnection) -> None:
    """RUN_ID's audit.rule_strata site slice as the decider derives it (decide/strata.sql: every rule x
    every site, from patient_rules); called again by a test that changes the cohort or the statuses."""
    con.execute("DELETE FROM audit.rule_strata WHERE run_id = ?", [RUN_ID])
    con.execute(
        "INSERT INTO audit.rule_strata"
        " WITH sites AS (SELECT patient_id, coalesce(nullif(trim(site_id), ''), '(none)') AS value"
        "                FROM audit.cohort WHERE run_id = $run_id),"
        " cells AS (SELECT r.rule_id, s.value FROM audit.rules r, (SELECT DISTINCT value FROM sites) s"
        "           WHERE r.run_id = $run_id),"
        " counts AS (SELECT rule_id, value,"
        "  count(*) FILTER (WHERE status <> 'not_applicable') AS denominator,"
        "  count(*) FILTER (WHERE status = 'excluded') AS exclusions,"
        "  count(*) FILTER (WHERE status = 'not_evaluable') AS not_evaluable,"
        "  count(*) FILTER (WHERE status = 'deviation') AS deviations"
        "  FROM audit.patient_rules JOIN sites USING (patient_id) WHERE run_id = $run_id GROUP BY ALL)"
        " SELECT $run_id, c.rule_id, 'site', c.value, coalesce(n.denominator, 0), coalesce(n.exclusions, 0),"
        "  coalesce(n.not_evaluable, 0), coalesce(n.deviations, 0),"
        "  coalesce(n.deviations, 0) / nullif(coalesce(n.denominator - n.exclusions - n.not_evaluable, 0), 0)"
        " FROM cells c LEFT JOIN counts n USING (rule_id, value)",
        {"run_id": RUN_ID},
    )


def insert_data_quality(con: duckdb.DuckDBPyConnection) -> None:
    con.executemany(
        "INSERT INTO audit.table_counts (run_id, table_name, source_table, rows_read, rows_loaded, rows_rejected,"
        " rows_repaired, rows_skipped, skip_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(RUN_ID, "patients", "patients.csv", 1200, 1198, 2, 0, 0, None),
         (RUN_ID, "diagnoses", "conditions.csv", 5400, 5380, 6, 3, 14, "not a diagnosis, e.g. 'finding'"),
         (RUN_ID, "medications", "medications.csv", 2800, 2780, 14, 2, 6, "administrations, not orders"),
         (RUN_ID, "labs", "observations.csv", 800, 792, 8, 0, 0, None)],
    )
    con.executemany(
        "INSERT INTO audit.data_quality (run_id, table_name, check_name, rows_checked, rows_failed, passed)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(RUN_ID, "labs", "unit:unknown_unit", 800, 17, False),
         (RUN_ID, "medications", "dose_value:not_positive", 2780, 45, False),
         (RUN_ID, "patients", "birth_date:missing", 1200, 0, True),
         (RUN_ID, "diagnoses", "code_system:unknown", 5380, 0, True)],
    )


def insert_other_run(con: duckdb.DuckDBPyConnection) -> None:
    """An earlier run on the same database: none of this may leak into RUN_ID's reports."""
    rows = {
        "runs (run_id, status)": (OTHER_RUN_ID, "succeeded"),
        "rules (run_id, rule_id, title, severity, guideline_statement)":
            (OTHER_RUN_ID, "LC-QUININE", "Quinine prescribed", "high", "older statement"),
        "cohort (run_id, patient_id, site_id)": (OTHER_RUN_ID, "999999", "SOUTH"),
        "patient_rules (run_id, rule_id, patient_id, status)": (OTHER_RUN_ID, "LC-QUININE", "999999", "deviation"),
        "rule_results (run_id, rule_id, denominator, exclusions, not_evaluable, deviations, deviation_rate)":
            (OTHER_RUN_ID, "LC-QUININE", 99, 0, 0, 99, 1.0),
        "deviations (run_id, rule_id, patient_id, event_date, severity, explanation)":
            (OTHER_RUN_ID, "LC-QUININE", "999999", date(2023, 1, 2), "high", "older run"),
        "table_counts (run_id, table_name, source_table, rows_read, rows_loaded)":
            (OTHER_RUN_ID, "patients", "p.csv", 1, 1),
        "data_quality (run_id, table_name, check_name, rows_checked, rows_failed, passed)":
            (OTHER_RUN_ID, "labs", "older_check", 1, 1, False),
    }
    for table, row in rows.items():
        con.execute(f"INSERT INTO audit.{table} VALUES ({', '.join('?' * len(row))})", list(row))


class RuleTableReader(HTMLParser):
    """Reads the page's rule summary table: {rule_id: {data-column: cell text}}."""

    def __init__(self) -> None:
        super().__init__()
        self.rules: dict[str, dict[str, str]] = {}
        self._rule: str | None = None
        self._column: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and attributes.get("data-rule-id"):
            self._rule = attributes["data-rule-id"]
            self.rules[self._rule] = {}
        elif tag == "td" and self._rule and attributes.get("data-column"):
            self._column = attributes["data-column"]
            self.rules[self._rule][self._column] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._column = None
        elif tag == "tr":
            self._rule = None

    def handle_data(self, data: str) -> None:
        if self._rule and self._column:
            self.rules[self._rule][self._column] += data.strip()


def read_rule_table(html: str) -> dict[str, dict[str, str]]:
    reader = RuleTableReader()
    reader.feed(html)
    return reader.rules
