"""The canonical tables of extract-format.md: one declaration per column, read by ingest,
validation, loading and the adapters alike (the single place a column's type and duty live)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl

# Code-system tokens each table accepts (extract-format.md), plus the ones real sources need (ICD9CM
# history, ICD10PCS procedures, NDC drugs, LOCAL codes matched by text), in the order the reasons of
# code_system:unknown list them. Each token and its spellings are defined in code_systems.csv.
CODE_SYSTEMS: dict[str, tuple[str, ...]] = {
    "diagnoses": ("ICD10CM", "ICD9CM", "SNOMED"),
    "medications": ("RXNORM", "NDC", "LOCAL"),
    "labs": ("LOINC", "LOCAL"),
    "procedures": ("CPT", "HCPCS", "SNOMED", "ICD10PCS", "ICD9CM", "LOCAL"),
}

SEXES = ("F", "M", "O", "U")
MEDICATION_STATUSES = ("active", "completed", "stopped", "cancelled", "entered-in-error", "on-hold", "draft",
                       "unknown")


# The polars type of each column type once validated (a Parquet file may hand dates and numbers
# over typed already; text columns are read as text).
POLARS_DTYPES: dict[str, pl.DataType] = {"text": pl.String, "date": pl.Date, "number": pl.Float64}


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "text", "date", "number"
    required: bool = False
    # Free text (a description, a result's text) is kept as the source wrote it; in every other
    # column (ids, codes, code-system tokens, units, statuses, dates, numbers) whitespace around the
    # value is not significant and is trimmed once, when the file is read.
    free_text: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None  # unique per extract
    required_file: bool = False
    date_columns_ordered: tuple[str, str] | None = None  # (start, end): end >= start, else end repaired
    # When something happened (born, died, seen, diagnosed, ordered, collected, performed): the
    # latest of these over the whole extract is where the default audit period ends (rules.md). End
    # and resolved dates are left out: an order's planned stop date can lie in the future.
    event_dates: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _c(name: str, dtype: str = "text", required: bool = False, free_text: bool = False) -> Column:
    return Column(name, dtype, required, free_text)


PATIENTS = Table(
    "patients",
    (_c("patient_id", required=True), _c("birth_date", "date", True), _c("sex"), _c("death_date", "date"),
     _c("site_id")),
    key="patient_id", required_file=True, event_dates=("birth_date", "death_date"),
)
ENCOUNTERS = Table(
    "encounters",
    (_c("encounter_id", required=True), _c("patient_id", required=True), _c("start_date", "date", True),
     _c("end_date", "date"), _c("encounter_class"), _c("site_id"), _c("provider_id")),
    key="encounter_id", date_columns_ordered=("start_date", "end_date"), event_dates=("start_date",),
)
DIAGNOSES = Table(
    "diagnoses",
    (_c("patient_id", required=True), _c("encounter_id"), _c("code_system", required=True),
     _c("code", required=True), _c("description", free_text=True), _c("recorded_date", "date", True),
     _c("resolved_date", "date")),
    required_file=True, date_columns_ordered=("recorded_date", "resolved_date"), event_dates=("recorded_date",),
)
MEDICATIONS = Table(
    "medications",
    (_c("order_id", required=True), _c("patient_id", required=True), _c("encounter_id"),
     _c("code_system", required=True), _c("code", required=True), _c("description", free_text=True),
     _c("start_date", "date", True), _c("end_date", "date"), _c("dose_value", "number"), _c("dose_unit"),
     _c("frequency_per_day", "number"), _c("route"), _c("prescriber_id"), _c("status")),
    key="order_id", required_file=True, date_columns_ordered=("start_date", "end_date"), event_dates=("start_date",),
)
LABS = Table(
    "labs",
    (_c("patient_id", required=True), _c("encounter_id"), _c("code_system", required=True),
     _c("code", required=True), _c("description", free_text=True), _c("collected_date", "date", True),
     _c("value_numeric", "number"), _c("value_text", free_text=True), _c("unit"), _c("ref_low", "number"),
     _c("ref_high", "number")),
    event_dates=("collected_date",),
)
PROCEDURES = Table(
    "procedures",
    (_c("patient_id", required=True), _c("encounter_id"), _c("code_system", required=True),
     _c("code", required=True), _c("description", free_text=True), _c("performed_date", "date", True)),
    event_dates=("performed_date",),
)

# Load order matters: patients first (every table refers to them), then encounters.
TABLES: tuple[Table, ...] = (PATIENTS, ENCOUNTERS, DIAGNOSES, MEDICATIONS, LABS, PROCEDURES)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
# Column names that hold free text in some table (kept untrimmed wherever they are read).
FREE_TEXT_COLUMNS: frozenset[str] = frozenset(c.name for t in TABLES for c in t.columns if c.free_text)

# Tables an extract may lack (extract-format.md): the rules that need one then report not evaluable.
OPTIONAL_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if not t.required_file)
# How a run says (extract-format.md: "the run says so") that an optional table's file is absent: an
# all-zero table_counts row with this skip_reason; and that an optional table has no usable row
# (absent, empty or every row rejected): a failed data-quality check of this name, beside which the
# reports name the rules left not evaluable.
ABSENT_TABLE_REASON = "file not in the extract"
USABLE_ROWS_CHECK = "table:has_usable_rows"


def absent_tables(present: Iterable[str]) -> list[str]:
    """The optional tables not among `present` (an extract's tables), in load order."""
    have = set(present)
    return [name for name in OPTIONAL_TABLES if name not in have]


def unusable_tables(rows_loaded: Mapping[str, int]) -> list[str]:
    """The optional tables with no row loaded (file absent, empty, or every row rejected or skipped),
    in load order: the rules that need one report their patients not evaluable, since no rows is
    missing evidence, not evidence that nothing was done."""
    return [name for name in OPTIONAL_TABLES if rows_loaded.get(name, 0) == 0]


# Columns every canonical frame carries from ingest on, so a failure maps back to its file row.
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"  # 1-based, header excluded

# Source column names that are direct identifiers (compared case-insensitively, letters only). No
# adapter maps them (every adapter selects canonical columns only); the adapter tests check that no
# output column is one of them.
IDENTIFIER_COLUMN_WORDS = (
    "name", "firstname", "lastname", "middlename", "given", "family", "prefix", "suffix", "maiden",
    "address", "street", "city", "zip", "zipcode", "postcode", "postalcode", "phone", "telephone", "email",
    "ssn", "socialsecuritynumber", "mrn", "medicalrecordnumber", "passport", "drivers", "license", "licence",
)
