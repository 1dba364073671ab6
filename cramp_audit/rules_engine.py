"""The rules engine: runs the stages prepare, rules and decide of sql/manifest.toml (matching,
cohort and shared rule inputs; every sql/rules/*.sql, a rule is a file; the one population decider)
into work.*. It never writes audit.*: the run publishes work.* in one transaction (stage publish).

    evaluate(con, run_id, source_path)   after the load (pipeline.load_source) and set_parameters

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
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from cramp_audit.db import SQL_DIR, set_variable
from cramp_audit.schemas.spec import OPTIONAL_TABLES
from cramp_audit.schemas.vocabularies import role_names, severity_names
from cramp_audit.stages import StageCheckError, glob_files, run_stage, stage, stage_files, statement
from cramp_audit.valuesets import VALUESETS_DIR

# The folder of the rules stage's glob (sql/manifest.toml): sql/rules.
RULES_DIR = SQL_DIR / Path(next(s.target for s in stage("rules").steps if s.kind == "glob")).parent
RULE_PACK_VERSION = "2"  # shared/spec/rules-v2.md (rules.md is version 1)

ROLE_COLUMNS = ("patient_id", "role", "event_date", "explanation", "evidence", "reason_code")
SEVERITIES = tuple(severity_names())  # schemas/severities.csv
REQUIRED_HEADER_KEYS = ("rule_id", "title", "severity", "guideline", "value_sets", "parameters", "reason_codes")
_REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Variables cohort.sql and the matching step read besides the rules' own parameters.
ENGINE_PARAMETERS = ("period_start", "period_end", "data_end", "min_age_years", "followup_days", "mg_low_mmol",
                     "k_low_mmol", "closed_order_days", "open_order_max_days", "incident_lookback_days")
# The stages besides the rule files whose SQL decides what a rule reports (the lab values it reads,
# the matching and cohort, how its rows are decided): with the rule files, the rule pack's checksum.
# Parameters and value sets have their own records in audit.runs.
RULE_PACK_STAGES = ("prepare", "decide")

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


def rule_files(rules_dir: Path | None = None) -> list[Path]:
    """The rules stage's files (sql/manifest.toml), or every *.sql of `rules_dir` (tests), in name order."""
    return glob_files("rules") if rules_dir is None else sorted(rules_dir.glob("*.sql"))


def discover_rules(rules_dir: Path | None = None) -> list[Rule]:
    """Every sql/rules/*.sql, in rule-id order: adding a rule is adding a file."""
    rules = [parse_rule(path) for path in rule_files(rules_dir)]
    duplicates = [rule_id for rule_id, n in Counter(r.id for r in rules).items() if n > 1]
    if duplicates:
        raise RuleError(f"duplicate rule ids: {duplicates}")
    return rules


# ---------------------------------------------------------------- evaluation

def _check_variables(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> None:
    """Every parameter a rule names must be set (getvariable() of an unset name is a silent NULL)."""
    names = sorted({*ENGINE_PARAMETERS, *(p for r in rules for p in r.parameters)})
    unset = [n for n in names if con.execute(statement("variable_value"), {"name": n}).fetchone()[0] is None]
    if unset:
        raise RuleError(f"parameters not set: {', '.join(unset)} (call config.set_parameters first)")


def rule_pack_checksum(rules_dir: Path | None = None) -> str:
    """sha256 over the rule files (in name order) and the files of RULE_PACK_STAGES: each file's
    name (relative to sql/) and digest."""
    digest = hashlib.sha256()
    for name, path in [*((f"rules/{p.name}", p) for p in rule_files(rules_dir)),
                       *((p.relative_to(SQL_DIR).as_posix(), p) for s in RULE_PACK_STAGES for p in stage_files(s))]:
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _unusable_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Optional tables of which the run's load kept no row (schemas/spec.py unusable_tables), as
    its work.table_counts shows them."""
    present = {row[0] for row in con.execute(statement("loaded_tables")).fetchall()}
    return [t for t in OPTIONAL_TABLES if t not in present]


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    if frame.height:
        con.register("engine_rows", frame.to_arrow())
        try:
            con.execute(statement("engine_insert").format(table=table))
        finally:
            con.unregister("engine_rows")


def _write_rule_tables(con: duckdb.DuckDBPyConnection, run_id: str, rules: list[Rule], unusable: list[str]) -> None:
    """work.rules and work.unusable_tables (made empty by the prepare stage, prepare/rule_inputs.sql)."""
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
        con.execute(statement("rule_roles").format(rule_select=rule.select_sql), {"rule_id": rule.id})
    except duckdb.Error as exc:
        raise RuleError(f"{rule.path.name} failed: {exc}") from exc


def _reason_code_problems(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> list[tuple[str, str, int]]:
    """Deviation rows whose reason_code is missing or not one of their rule's `reason_codes:`."""
    allowed = {r.id: set(r.reason_codes) for r in rules}
    used = con.execute(statement("deviation_reason_codes")).fetchall()
    return [(rule_id, f"deviation reason_code {code!r} not in its header", rows)
            for rule_id, code, rows in used if code not in allowed.get(rule_id, set())]


def evaluate(con: duckdb.DuckDBPyConnection, run_id: str, source_path: str, rules_dir: Path | None = None,
             unusable_tables: list[str] | None = None) -> None:
    """The stages prepare, rules and decide into work.* (cohort, cohort_attrition, rules,
    patient_rules, rule_results, rule_strata, deviations: each with audit.*'s column order, run_id
    first). Needs the run's load (staging.*, work.table_counts, ref.* value sets) and
    config.set_parameters. `rules_dir`: run the rule files of that folder instead (tests)."""
    rules = discover_rules(rules_dir)
    set_variable(con, "run_id", run_id, "VARCHAR")
    set_variable(con, "source_path", source_path, "VARCHAR")
    _check_variables(con, rules)
    # A shard is told the whole extract's unusable tables (its own load may lack rows the extract has).
    unusable = _unusable_tables(con) if unusable_tables is None else sorted(unusable_tables)

    run_stage(con, "prepare")
    _write_rule_tables(con, run_id, rules, unusable)
    for rule in rules:  # the rules stage: the files of its glob (discover_rules), header checked
        _run_rule(con, rule)
    problems = _reason_code_problems(con, rules)
    if problems:
        raise RuleError("rule output breaks the contract: "
                        + "; ".join(f"{rule_id}: {problem} ({rows} rows)" for rule_id, problem, rows in problems))
    set_variable(con, "roles", role_names(), "VARCHAR[]")  # decide/check_roles.sql: schemas/roles.csv
    try:
        run_stage(con, "decide")
    except StageCheckError as exc:
        raise RuleError("rule output breaks the contract: "
                        + "; ".join(f"{rule_id}: {problem} ({rows} rows)"
                                    for rule_id, problem, rows in exc.problems)) from None


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
