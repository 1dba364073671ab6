"""The rules engine: discovers sql/rules/*.sql (a rule is a file), runs value-set matching, the
cohort and every rule into work.*, then the one population decider (sql/decide.sql). It never
writes audit.*: the run publishes work.* in one transaction.

    evaluate(con, run_id, source_path)   after load_value_sets, derive_labs.sql and set_parameters

A rule file starts with a comment header (`-- key: value`, continuation lines indented) naming
rule_id, title, severity, guideline, value_sets, parameters, optionally requires (optional extract
tables it needs) and denominator, and `choices` (what the file decided where rules.md is silent);
reason_codes (the fixed codes its deviation rows carry); then ONE SELECT returning (patient_id, role,
event_date, explanation, evidence, reason_code) with role in denominator / exclusion / not_evaluable /
deviation.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from cramp_audit.db import SQL_DIR, run_sql_file, set_variable, sql_text
from cramp_audit.valuesets import REF_TABLES, VALUESETS_DIR, load_value_sets
from schemas.spec import OPTIONAL_TABLES
from schemas.vocabularies import role_names, severity_names

RULES_DIR = SQL_DIR / "rules"
RULE_PACK_VERSION = "2"  # shared/spec/rules-v2.md (rules.md is version 1)

ROLE_COLUMNS = ("patient_id", "role", "event_date", "explanation", "evidence", "reason_code")
SEVERITIES = tuple(severity_names())  # schemas/severities.csv
REQUIRED_HEADER_KEYS = ("rule_id", "title", "severity", "guideline", "value_sets", "parameters", "reason_codes")
_REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Variables cohort.sql and the matching step read besides the rules' own parameters.
ENGINE_PARAMETERS = ("period_start", "period_end", "data_end", "min_age_years", "followup_days", "mg_low_mmol",
                     "k_low_mmol", "closed_order_days", "open_order_max_days", "incident_lookback_days")
# Steps before the rules, in order (each a file of sql/): diagnoses are matched for everyone (the
# cohort comes from them); orders, labs and procedures only for cohort patients.
MATCHING_STEPS = ("macros.sql", "match_diagnoses.sql", "cohort.sql", "cohort_context.sql", "match_medications.sql",
                  "match_records.sql", "magnesium_starts.sql")
# The SQL besides the rule files that decides what a rule reports (the lab values it reads, the
# matching and cohort, how its rows are gathered and decided): with the rule files, the rule pack's
# checksum. Parameters and value sets have their own records in audit.runs.
RULE_PACK_SQL = ("derive_labs.sql", *MATCHING_STEPS, "engine_rule_roles.sql", "decide.sql")

_HEADER_LINE = re.compile(r"^--\s?(?P<key>[a-z_]+):\s*(?P<value>.*)$")
_RULE_ID = re.compile(r"^LC-[A-Z0-9-]+$")


class RuleError(Exception):
    """A rule file that breaks the contract (header, shape or roles), or fails to run."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    guideline: str               # as rules.md writes it, quotes included
    value_sets: tuple[str, ...]
    parameters: tuple[str, ...]
    requires: tuple[str, ...]    # optional extract tables the rule cannot judge without
    denominator: str
    choices: str
    reason_codes: tuple[str, ...]  # the fixed codes its deviation rows carry (issue 13: audit.deviations.reason_code)
    path: Path
    select_sql: str              # the file without its trailing semicolon

    @property
    def guideline_statement(self) -> str:
        """The guideline sentence without its quote marks when it is a single quotation."""
        text = self.guideline.strip()
        if text.startswith('"') and text.endswith('"') and text.count('"') == 2:
            return text[1:-1]
        return text


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def parse_header(text: str) -> dict[str, str]:
    """`-- key: value` lines (and indented `--   more` continuation lines) before the first
    non-comment line."""
    header: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        match = _HEADER_LINE.match(line)
        if match and not line.startswith("--  "):
            key = match["key"]
            header[key] = match["value"].strip()
        elif key is not None:
            continuation = line[2:].strip()
            if continuation:
                header[key] = f"{header[key]} {continuation}".strip()
    return header


def parse_rule(path: Path) -> Rule:
    text = path.read_text(encoding="utf-8")
    header = parse_header(text)
    missing = [k for k in REQUIRED_HEADER_KEYS if not header.get(k)]
    if missing:
        raise RuleError(f"{path.name}: header lacks {', '.join(missing)}")
    rule_id = header["rule_id"]
    if rule_id != path.stem or not _RULE_ID.match(rule_id):
        raise RuleError(f"{path.name}: rule_id {rule_id!r} must match the file name")
    if header["severity"] not in SEVERITIES:
        raise RuleError(f"{path.name}: severity {header['severity']!r} is not one of {SEVERITIES}")
    requires = _split_list(header.get("requires", ""))
    unknown_tables = [t for t in requires if t not in OPTIONAL_TABLES]
    if unknown_tables:
        raise RuleError(f"{path.name}: requires {unknown_tables}, but only {OPTIONAL_TABLES} may be absent")
    reason_codes = _split_list(header["reason_codes"])
    bad_codes = [c for c in reason_codes if not _REASON_CODE.match(c)]
    if bad_codes:
        raise RuleError(f"{path.name}: reason codes {bad_codes} are not UPPER_SNAKE_CASE")
    select_sql = text.strip().rstrip(";").strip()
    if ";" in _without_comments_and_strings(select_sql):
        raise RuleError(f"{path.name}: a rule file holds ONE SELECT statement")
    return Rule(rule_id, header["title"], header["severity"], header["guideline"],
                _split_list(header["value_sets"]), _split_list(header["parameters"]), requires,
                header.get("denominator", ""), header.get("choices", ""), reason_codes, path, select_sql)


def _without_comments_and_strings(text: str) -> str:
    text = re.sub(r"'(?:[^']|'')*'", "''", text)
    return re.sub(r"--[^\n]*", "", text)


def discover_rules(rules_dir: Path = RULES_DIR) -> list[Rule]:
    """Every sql/rules/*.sql, in rule-id order: adding a rule is adding a file."""
    rules = [parse_rule(path) for path in sorted(rules_dir.glob("*.sql"))]
    duplicates = [rule_id for rule_id, n in Counter(r.id for r in rules).items() if n > 1]
    if duplicates:
        raise RuleError(f"duplicate rule ids: {duplicates}")
    return rules


# ---------------------------------------------------------------- evaluation

def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute(sql_text("table_exists.sql"), {"schema_name": schema, "table_name": table}).fetchone()[0] > 0


def _check_variables(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> None:
    """Every parameter a rule names must be set (getvariable() of an unset name is a silent NULL)."""
    names = sorted({*ENGINE_PARAMETERS, *(p for r in rules for p in r.parameters)})
    unset = [n for n in names if con.execute(sql_text("variable_value.sql"), {"name": n}).fetchone()[0] is None]
    if unset:
        raise RuleError(f"parameters not set: {', '.join(unset)} (call config.set_parameters first)")


def rule_pack_checksum(rules_dir: Path = RULES_DIR) -> str:
    """sha256 over the rule files (in name order) and RULE_PACK_SQL: each file's name and digest."""
    digest = hashlib.sha256()
    for name, path in [*((f"rules/{p.name}", p) for p in sorted(rules_dir.glob("*.sql"))),
                       *((name, SQL_DIR / name) for name in RULE_PACK_SQL)]:
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _unusable_tables(con: duckdb.DuckDBPyConnection, unusable_tables: Collection[str] | None) -> list[str]:
    """Optional tables the extract lacks usable rows of: as given, else those of which the run's
    work.table_counts shows no loaded row (schemas/spec.py unusable_tables), when the ingest wrote
    it, else none."""
    if unusable_tables is not None:
        unknown = sorted(set(unusable_tables) - set(OPTIONAL_TABLES))
        if unknown:
            raise ValueError(f"unusable_tables {unknown}: only {OPTIONAL_TABLES} may be missing")
        return sorted(set(unusable_tables))
    if not _table_exists(con, "work", "table_counts"):
        return []
    present = {row[0] for row in con.execute(sql_text("engine_loaded_tables.sql")).fetchall()}
    return [t for t in OPTIONAL_TABLES if t not in present] if present else []


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    if frame.height:
        con.register("engine_rows", frame.to_arrow())
        try:
            con.execute(sql_text("engine_insert.sql").format(table=table))
        finally:
            con.unregister("engine_rows")


def _write_rule_tables(con: duckdb.DuckDBPyConnection, run_id: str, rules: list[Rule], unusable: list[str]) -> None:
    run_sql_file(con, "engine_tables.sql")
    _insert(con, "rules", pl.DataFrame(
        {"run_id": [run_id] * len(rules), "rule_id": [r.id for r in rules], "title": [r.title for r in rules],
         "severity": [r.severity for r in rules], "guideline_statement": [r.guideline_statement for r in rules],
         "requires": [list(r.requires) for r in rules]},
        schema={**{c: pl.String for c in ("run_id", "rule_id", "title", "severity", "guideline_statement")},
                "requires": pl.List(pl.String)}))
    _insert(con, "unusable_tables", pl.DataFrame({"table_name": unusable}, schema={"table_name": pl.String}))


def _run_rule(con: duckdb.DuckDBPyConnection, rule: Rule) -> None:
    try:
        columns = tuple(con.sql(rule.select_sql).columns)
        if columns != ROLE_COLUMNS:
            raise RuleError(f"{rule.path.name} returns columns {columns}; expected {ROLE_COLUMNS}")
        con.execute(sql_text("engine_rule_roles.sql").format(rule_select=rule.select_sql), {"rule_id": rule.id})
    except duckdb.Error as exc:
        raise RuleError(f"{rule.path.name} failed: {exc}") from exc


def _reason_code_problems(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> list[tuple[str, str, int]]:
    """Deviation rows whose reason_code is missing or not one of their rule's `reason_codes:`."""
    allowed = {r.id: set(r.reason_codes) for r in rules}
    used = con.execute("SELECT rule_id, reason_code, count(*) FROM work.rule_roles WHERE role = 'deviation' "
                       "GROUP BY ALL").fetchall()
    return [(rule_id, f"deviation reason_code {code!r} not in its header", rows)
            for rule_id, code, rows in used if code not in allowed.get(rule_id, set())]


def evaluate(con: duckdb.DuckDBPyConnection, run_id: str, source_path: str,
             unusable_tables: Collection[str] | None = None, rules_dir: Path = RULES_DIR) -> None:
    """Matching, cohort, every rule, then the decider, into work.* (cohort, cohort_attrition,
    rules, patient_rules, rule_results, deviations: each with audit.*'s column order, run_id
    first). Needs staging.* loaded, labs derived (sql/derive_labs.sql) and config.set_parameters;
    loads the value sets itself when ref.value_sets is missing. `unusable_tables`: optional extract
    tables the source has no usable rows of (see _unusable_tables for the default). `rules_dir`: the rule files
    (tests point it elsewhere)."""
    rules = discover_rules(rules_dir)
    run_sql_file(con, "engine_reset.sql")
    if not all(_table_exists(con, "ref", table) for table in REF_TABLES):
        load_value_sets(con)
    set_variable(con, "run_id", run_id, "VARCHAR")
    set_variable(con, "source_path", source_path, "VARCHAR")
    _check_variables(con, rules)
    unusable = _unusable_tables(con, unusable_tables)

    for step in MATCHING_STEPS:
        run_sql_file(con, step)
    _write_rule_tables(con, run_id, rules, unusable)
    for rule in rules:
        _run_rule(con, rule)
    problems = con.execute(sql_text("check_roles.sql"), {"roles": role_names()}).fetchall() + _reason_code_problems(
        con, rules)
    if problems:
        raise RuleError("rule output breaks the contract: "
                        + "; ".join(f"{rule_id}: {problem} ({rows} rows)" for rule_id, problem, rows in problems))
    has_history = all(_table_exists(con, "audit", t) for t in ("runs", "rule_results", "patient_rules"))
    run_sql_file(con, "previous_rates.sql" if has_history else "previous_rates_none.sql")
    run_sql_file(con, "decide.sql")
    run_sql_file(con, "deviation_changes.sql")


# ---------------------------------------------------------------- catalogue

def value_set_code_counts() -> dict[str, int]:
    with open(VALUESETS_DIR / "value_sets.csv", newline="", encoding="utf-8") as handle:
        return dict(Counter(row["value_set"] for row in csv.DictReader(handle)))


def _parameter_text(rule: Rule, params: dict[str, float | int]) -> str:
    return ", ".join(f"{p} = {params.get(p, '(not set)')}" for p in rule.parameters)


def catalogue_markdown(params: dict[str, float | int]) -> str:
    """The rule catalogue (docs/rules.md) with the parameter values in force: `cramp-audit rules
    --markdown` prints it (`make catalogue` writes docs/rules.md so), the one way to produce it."""
    counts = value_set_code_counts()
    rules = discover_rules()
    lines = [
        "# Rule catalogue",
        "",
        f"Leg-cramps rule pack version {RULE_PACK_VERSION}: {len(rules)} rules. Generated from the headers of "
        "`sql/rules/*.sql`, `sql/parameters.toml` and `sql/valuesets/value_sets.csv` "
        "(`make catalogue`, i.e. `cramp-audit rules --markdown`); do not edit by hand. The contract is "
        "shared/spec/rules.md with shared/spec/rules-v2.md. Every deviation's evidence names its extract row "
        "(`source_file`, `source_row`: 1-based, the header excluded) and, where the table has them, the "
        "record's `encounter_id`, `status` and `route`; each deviation carries one of its rule's reason codes.",
        "",
        "| rule | title | severity |",
        "|---|---|---|",
        *(f"| [{r.id}](#{r.id.lower()}) | {r.title} | {r.severity} |" for r in rules),
        "",
    ]
    for r in rules:
        sets = ", ".join(f"{name} ({counts.get(name, 0)} codes)" for name in r.value_sets)
        lines += [
            f"## {r.id}",
            "",
            f"**{r.title}** (severity: {r.severity})",
            "",
            f"- Guideline: {r.guideline}",
            f"- Denominator: {r.denominator or 'see the rule file'}",
            f"- Parameters: {_parameter_text(r, params) or 'none'}",
            f"- Value sets: {sets}",
        ]
        if r.requires:
            lines.append(f"- Needs: {', '.join(r.requires)} (not evaluable when the extract lacks them)")
        lines += [
            f"- Reason codes: {', '.join(r.reason_codes)}",
            f"- Choices where rules.md is silent: {r.choices or 'none'}",
            f"- File: `sql/rules/{r.path.name}`",
            "",
        ]
    return "\n".join(lines)


def list_rules_text(params: dict[str, float | int]) -> str:
    """The rule pack for the terminal: id, severity, title, then the parameters in force."""
    rules = discover_rules()
    width = max(len(r.id) for r in rules)
    lines = [f"rule pack version {RULE_PACK_VERSION}, {len(rules)} rules"]
    for r in rules:
        lines.append(f"{r.id:<{width}}  {r.severity:<6}  {r.title}")
        lines.append(f"{'':<{width}}  {'':<6}  parameters: {_parameter_text(r, params) or 'none'}")
    return "\n".join(lines) + "\n"
