"""Row checks as data: each names the field it guards, what happens to a failing row (rejected or
repaired, as extract-format.md says) and the reason a user reads in audit.quarantine. Every table
model in this package is built from these by `build_schema`, so pandera runs all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandera.polars as pa
import polars as pl

from schemas.spec import CODE_SYSTEMS, POLARS_DTYPES, Table

REJECTED = "rejected"
REPAIRED = "repaired"
EARLIEST_PLAUSIBLE_DATE = date(1900, 1, 1)

# Flag columns computed before validation from other tables (they need the whole extract).
PATIENT_KNOWN = "_patient_known"
ENCOUNTER_KNOWN = "_encounter_known"
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
class RowCheck:
    field: str                       # the canonical column it guards (nulled when repaired)
    code: str                        # stable id: check name is "<field>:<code>"
    passes: Callable[[], pl.Expr]    # True = row is fine; null counts as fine
    action: str                      # REJECTED or REPAIRED
    reason: str                      # what a user reads in audit.quarantine

    @property
    def name(self) -> str:
        return f"{self.field}:{self.code}"


def _present(column: str) -> pl.Expr:
    return pl.col(column).is_not_null()


def column_checks(table: Table, extract_date: date) -> list[RowCheck]:
    """The checks every canonical column gets from its declaration in schemas/spec.py."""
    checks: list[RowCheck] = []
    for col in table.columns:
        source = raw(col.name) if col.dtype in ("date", "number") else col.name
        bad = REJECTED if col.required else REPAIRED
        if col.required:
            checks.append(RowCheck(col.name, "missing", lambda s=source: _present(s), REJECTED,
                                   "required value missing"))
        if col.dtype == "date":
            checks += [
                RowCheck(col.name, "unparseable",
                         lambda c=col.name: _present(c) | ~_present(raw(c)), bad, "not a date (expected YYYY-MM-DD)"),
                RowCheck(col.name, "before_1900",
                         lambda c=col.name: pl.col(c) >= EARLIEST_PLAUSIBLE_DATE, bad, "date before 1900"),
            ]
            if col.required or col.name == "death_date":
                checks.append(RowCheck(col.name, "after_extract_date",
                                       lambda c=col.name: pl.col(c) <= extract_date, bad,
                                       f"date after the extract date {extract_date.isoformat()}"))
        elif col.name.endswith(ID_SUFFIX):
            checks.append(RowCheck(col.name, "control_character",
                                   lambda c=col.name: ~pl.col(c).str.contains(CONTROL_CHARACTER), bad,
                                   "contains a control or invisible character (e.g. NUL, tab, zero-width space)"))
        elif col.dtype == "number":
            checks += [
                RowCheck(col.name, "not_a_number",
                         lambda c=col.name: _present(c) | ~_present(raw(c)), bad, "not a number"),
                RowCheck(col.name, "not_finite",
                         lambda c=col.name: pl.col(c).is_finite(), bad, "not a finite number"),
            ]
    if "code_system" in table.column_names:
        allowed = list(CODE_SYSTEMS[table.name])
        checks.append(RowCheck("code_system", "unknown", lambda: pl.col("code_system").is_in(allowed), REJECTED,
                               f"unknown code system (expected one of {', '.join(allowed)})"))
    if table.key:
        checks.append(RowCheck(table.key, "duplicate", lambda: pl.col(KEY_FIRST), REJECTED,
                               f"duplicate {table.key} (the first row with it was kept)"))
    if "patient_id" in table.column_names and table.name != "patients":
        checks.append(RowCheck("patient_id", "unknown_patient", lambda: pl.col(PATIENT_KNOWN), REJECTED,
                               "patient does not exist in patients"))
    if "encounter_id" in table.column_names and table.name != "encounters":
        checks.append(RowCheck("encounter_id", "unknown_encounter", lambda: pl.col(ENCOUNTER_KNOWN), REPAIRED,
                               "encounter does not exist in encounters"))
    if table.date_columns_ordered:
        start, end = table.date_columns_ordered
        # rules-v2.md: an order's end date before its start is rejected, not nulled (a nulled end
        # would make the order look open for a year).
        action = REJECTED if table.name == "medications" else REPAIRED
        checks.append(RowCheck(end, "before_start", lambda s=start, e=end: pl.col(e) >= pl.col(s), action,
                               f"{end} before {start}"))
    return checks


def positive(field: str) -> RowCheck:
    return RowCheck(field, "not_positive", lambda: pl.col(field) > 0, REPAIRED, "negative or zero")


def one_of(field: str, allowed: list[str], what: str) -> RowCheck:
    return RowCheck(field, "unknown_value", lambda: pl.col(field).is_in(allowed), REPAIRED,
                    f"unknown {what} (expected one of {', '.join(allowed)})")


def known_unit(field: str, units: list[str]) -> RowCheck:
    lowered = [u.lower() for u in units]
    return RowCheck(field, "unknown_unit", lambda: pl.col(field).str.to_lowercase().is_in(lowered), REPAIRED,
                    "unknown unit")


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
