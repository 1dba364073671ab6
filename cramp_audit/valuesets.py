"""The shipped value sets (sql/valuesets/*.csv) as ref.* tables in DuckDB, read in bulk by DuckDB
itself, with a checksum each run records (audit.runs.value_sets_checksum)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from cramp_audit import sql
from cramp_audit.stages import statement

VALUESETS_DIR = Path(sql.__file__).parent / "valuesets"

# ref table -> shipped file. Every column is read as text (codes such as 0123 keep their zeros),
# then typed where a number is meant.
REF_TABLES: dict[str, str] = {
    "value_sets": "value_sets.csv",                    # members: value_set, code_system, code, display, source
    "value_set_exclusions": "value_set_exclusions.csv",  # known codes that are NOT members (never text-matched)
    "drug_names": "drug_names.csv",                    # description / route patterns for drug matching
    "unit_conversions": "unit_conversions.csv",        # lab units -> mmol/L, dose units -> mg
    "routes": "routes.csv",                            # route spelling or code -> route (rules-v2.md "Route")
    "route_groups": "route_groups.csv",                # route -> route group (oral, parenteral, topical ...)
    "dose_forms": "dose_forms.csv",                    # dose-form word -> route, by priority (missing routes)
    "dose_form_units": "dose_form_units.csv",          # dose units that count tablets / capsules
    "lab_thresholds": "lab_thresholds.csv",            # per-unit "low" and plausible ref_low range
    "text_results": "text_results.csv",                # "<x" / ">x" / non-value result text patterns
    "order_statuses": "order_statuses.csv",            # status spelling -> token; counts / closed (rules-v2.md)
    "index_code_kinds": "index_code_kinds.csv",        # LEG_CRAMPS code -> leg-specific / general
}
NUMERIC_COLUMNS = {
    "unit_conversions": ("factor",),
    "dose_forms": ("priority",),
    "dose_form_units": ("forms_per_unit",),
    "lab_thresholds": ("low", "ref_low_min", "ref_low_max"),
}


def shipped_files() -> list[Path]:
    return [VALUESETS_DIR / name for name in REF_TABLES.values()]


def value_sets_checksum() -> str:
    """sha256 over the shipped files' names and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for path in sorted(shipped_files()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_value_sets(con: duckdb.DuckDBPyConnection) -> str:
    """Creates (replaces) one ref.* table per entry of REF_TABLES (value sets, exclusions, drug
    names, unit conversions, the route and dose-form maps, lab thresholds, text-result patterns)
    from the shipped CSVs; returns their checksum. Runs inside the caller's transaction if one is
    open."""
    for table, file_name in REF_TABLES.items():
        con.execute(statement("ref_table_from_csv").format(table=table), {"path": str(VALUESETS_DIR / file_name)})
        for column in NUMERIC_COLUMNS.get(table, ()):
            con.execute(statement("ref_column_as_double").format(table=table, column=column))
    return value_sets_checksum()
