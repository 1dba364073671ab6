"""Row checks: each names the field it guards and how it is computed; what happens to a failing row
(rejected or repaired, as extract-format.md says), the reason a user reads in audit.quarantine and
what the check means come from the check catalogue, checks.csv (one row per check of every table,
the whole-table ones too), and nowhere else. Every table model in this package is built from these
by `build_schema`, so pandera runs all of them.

Adding a check: its row in checks.csv plus its computation (here, a schemas/<table>.py, or the SQL
that writes it to work.data_quality); tests/test_checks_catalogue.py fails until both exist."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pandera.polars as pa
import polars as pl
from cramp_audit.schemas.spec import CODE_SYSTEMS, POLARS_DTYPES, Table

CHECKS_FILE = Path(__file__).with_name("checks.csv")
REJECTED = "rejected"
REPAIRED = "repaired"
REPORTED = "reported"  # a whole-table or whole-column check: a data-quality row, no row quarantined
LEVELS = ("table", "field", "concept")  # as OHDSI's Data Quality Dashboard has them
EARLIEST_PLAUSIBLE_DATE = date(1900, 1, 1)

# Flag columns computed before validation from other tables (they need the whole extract).
PATIENT_KNOWN = "_patient_known"
ENCOUNTER_KNOWN = "_encounter_known"
ENCOUNTER_OWN = "_encounter_of_this_patient"  # false when the encounters file gives it to another patient
KEY_FIRST = "_key_first_occurrence"


# Identifier columns (patient_id, order_id, site_id, ...) end in this. An id is matched, joined and
# shown as it is: a control character (NUL, tab, newline, DEL) or an invisible formatting one
# (zero-width space, right-to-left override) in it would make an id that looks like another one
# but is not, so such an id is refused rather than taken as a new id.
ID_SUFFIX = "_id"
CONTROL_CHARACTER = r"[\p{Cc}\p{Cf}]"  # Unicode's control and format categories


def raw(column: str) -> str:
    """Name of the column holding a typed column's text as the file had it."""
    return f"{column}__raw"


@dataclass(frozen=True)
class CatalogueEntry:
    """One row of checks.csv."""

    name: str      # check_name in audit.data_quality / audit.quarantine, e.g. "end_date:before_start"
    level: str     # one of LEVELS
    table: str
    field: str     # empty for a whole-table check
    action: str    # REJECTED, REPAIRED or REPORTED
    reason: str    # what audit.quarantine says; {extract_date} and {allowed} are filled in per run
    meaning: str   # what a failure means, for data_quality.csv and report.html


@cache
def catalogue() -> dict[tuple[str, str], CatalogueEntry]:
    """checks.csv by (table, check name)."""
    with open(CHECKS_FILE, newline="", encoding="utf-8") as handle:
        entries = [CatalogueEntry(**row) for row in csv.DictReader(handle)]
    by_key = {(e.table, e.name): e for e in entries}
    if len(by_key) != len(entries):
        raise ValueError(f"{CHECKS_FILE.name}: a (table, name) pair is listed twice")
    return by_key


def catalogued(table: str, name: str) -> CatalogueEntry:
    entry = catalogue().get((table, name))
    if entry is None:
        raise KeyError(f"check {name!r} of {table} is not in {CHECKS_FILE} (every check needs its row there)")
    return entry


@dataclass(frozen=True)
class RowCheck:
    field: str                       # the canonical column it guards (nulled when repaired)
    code: str                        # stable id: check name is "<field>:<code>"
    passes: Callable[[], pl.Expr]    # True = row is fine; null counts as fine
    action: str                      # REJECTED or REPAIRED (from the catalogue)
    reason: str                      # what a user reads in audit.quarantine (from the catalogue)

    @property
    def name(self) -> str:
        return f"{self.field}:{self.code}"


def row_check(table: Table, field: str, code: str, passes: Callable[[], pl.Expr], *,
              extract_date: date | None = None, allowed: Sequence[str] = ()) -> RowCheck:
    """The check `<field>:<code>` of a table with its action and reason from the catalogue (the
    reason's {extract_date} and {allowed} filled in)."""
    entry = catalogued(table.name, f"{field}:{code}")
    if entry.action not in (REJECTED, REPAIRED) or entry.field != field:
        raise ValueError(f"{CHECKS_FILE.name}: {table.name} {entry.name} is not a row check of {field}")
    reason = entry.reason.format(extract_date=extract_date.isoformat() if extract_date else "",
                                 allowed=", ".join(allowed))
    return RowCheck(field, code, passes, entry.action, reason)


def _present(column: str) -> pl.Expr:
    return pl.col(column).is_not_null()


def column_checks(table: Table, extract_date: date) -> list[RowCheck]:
    """The checks every canonical column gets from its declaration in schemas/spec.py."""
    def check(field: str, code: str, passes: Callable[[], pl.Expr], allowed: Sequence[str] = ()) -> RowCheck:
        return row_check(table, field, code, passes, extract_date=extract_date, allowed=allowed)

    checks: list[RowCheck] = []
    for col in table.columns:
        source = raw(col.name) if col.dtype in ("date", "number") else col.name
        if col.required:
            checks.append(check(col.name, "missing", lambda s=source: _present(s)))
        if col.dtype == "date":
            checks += [
                check(col.name, "unparseable", lambda c=col.name: _present(c) | ~_present(raw(c))),
                check(col.name, "before_1900", lambda c=col.name: pl.col(c) >= EARLIEST_PLAUSIBLE_DATE),
            ]
            if col.required or col.name == "death_date":
                checks.append(check(col.name, "after_extract_date", lambda c=col.name: pl.col(c) <= extract_date))
        elif col.name.endswith(ID_SUFFIX):
            checks.append(check(col.name, "control_character",
                                lambda c=col.name: ~pl.col(c).str.contains(CONTROL_CHARACTER)))
        elif col.dtype == "number":
            checks += [
                check(col.name, "not_a_number", lambda c=col.name: _present(c) | ~_present(raw(c))),
                check(col.name, "not_finite", lambda c=col.name: pl.col(c).is_finite()),
            ]
    if "code_system" in table.column_names:
        allowed = list(CODE_SYSTEMS[table.name])
        checks.append(check("code_system", "unknown", lambda: pl.col("code_system").is_in(allowed), allowed))
    if table.key:
        checks.append(check(table.key, "duplicate", lambda: pl.col(KEY_FIRST)))
    if "patient_id" in table.column_names and table.name != "patients":
        checks.append(check("patient_id", "unknown_patient", lambda: pl.col(PATIENT_KNOWN)))
    if "encounter_id" in table.column_names and table.name != "encounters":
        checks.append(check("encounter_id", "unknown_encounter", lambda: pl.col(ENCOUNTER_KNOWN)))
        checks.append(check("encounter_id", "other_patient", lambda: pl.col(ENCOUNTER_OWN)))
    if table.date_columns_ordered:
        start, end = table.date_columns_ordered
        # rules-v2.md: an order's end date before its start is rejected, not nulled (a nulled end would
        # make the order look open for a year): the action is medications' row of checks.csv.
        checks.append(check(end, "before_start", lambda s=start, e=end: pl.col(e) >= pl.col(s)))
    return checks


def positive(table: Table, field: str) -> RowCheck:
    return row_check(table, field, "not_positive", lambda: pl.col(field) > 0)


def one_of(table: Table, field: str, allowed: Sequence[str]) -> RowCheck:
    return row_check(table, field, "unknown_value", lambda: pl.col(field).is_in(list(allowed)), allowed=allowed)


def known_unit(table: Table, field: str, units: list[str]) -> RowCheck:
    lowered = [u.lower() for u in units]
    return row_check(table, field, "unknown_unit", lambda: pl.col(field).str.to_lowercase().is_in(lowered))


def build_schema(table: Table, checks: list[RowCheck]) -> pa.DataFrameSchema:
    """A pandera model of the table whose every check is one RowCheck (so a failure maps back to
    its action and reason by name)."""
    by_field: dict[str, list[pa.Check]] = {}
    for check in checks:
        by_field.setdefault(check.field, []).append(
            pa.Check(lambda data, c=check: data.lazyframe.select(c.passes().fill_null(True)), name=check.name))
    columns = {c.name: pa.Column(POLARS_DTYPES[c.dtype], nullable=True, checks=by_field.get(c.name, []))
               for c in table.columns}
    return pa.DataFrameSchema(columns, name=table.name, strict=False)
