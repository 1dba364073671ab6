"""Validate one canonical table with its pandera model, lazily (every failure of every row in one
pass), and turn the failures into quarantine rows: rejected rows are not loaded, repaired rows are
loaded with the one bad field nulled. Nothing is dropped without a quarantine row, so per table
rows read = rows loaded + rows rejected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from pandera.errors import SchemaErrors

from schemas.checks import ENCOUNTER_KNOWN, KEY_FIRST, PATIENT_KNOWN, REJECTED, REPAIRED, RowCheck, raw
from schemas.models import checks_for, schema_for
from schemas.spec import SOURCE_FILE, SOURCE_ROW, TABLES_BY_NAME

ROW_INDEX = "_row_index"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ].*)?$"
CODE_SYSTEM_ALIASES = {"SNOMEDCT": "SNOMED", "SNOMED-CT": "SNOMED", "SCT": "SNOMED", "ICD-10-CM": "ICD10CM",
                       "ICD-9-CM": "ICD9CM", "CPT4": "CPT", "RXNORM": "RXNORM"}

QUARANTINE_SCHEMA = {"table_name": pl.String, "source_file": pl.String, "source_row": pl.Int64,
                     "action": pl.String, "field": pl.String, "check_name": pl.String, "reason": pl.String,
                     "record": pl.String}


@dataclass
class TableValidation:
    table_name: str
    loaded: pl.DataFrame        # typed canonical columns + source file/row; repaired fields nulled
    quarantine: pl.DataFrame    # QUARANTINE_SCHEMA
    data_quality: pl.DataFrame  # table_name, check_name, rows_checked, rows_failed, passed
    rows_read: int
    rows_rejected: int
    rows_repaired: int

    @property
    def rows_loaded(self) -> int:
        return self.loaded.height


def _typed(frame: pl.DataFrame, table_name: str, patient_ids: pl.Series | None,
           encounter_ids: pl.Series | None) -> pl.DataFrame:
    """Typed columns beside their raw text, normalised tokens, and the cross-table flags."""
    table = TABLES_BY_NAME[table_name]
    exprs: list[pl.Expr] = []
    for col in table.columns:
        if col.dtype == "date":
            text = pl.col(col.name)
            parsed = pl.when(text.str.contains(DATE_PATTERN)).then(
                text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            exprs += [text.alias(raw(col.name)), parsed.cast(pl.Date).alias(col.name)]
        elif col.dtype == "number":
            exprs += [pl.col(col.name).alias(raw(col.name)),
                      pl.col(col.name).cast(pl.Float64, strict=False).alias(col.name)]
    if "code_system" in table.column_names:
        upper = pl.col("code_system").str.to_uppercase()
        exprs.append(upper.replace(CODE_SYSTEM_ALIASES).alias("code_system"))
    if "sex" in table.column_names:
        exprs.append(pl.col("sex").str.to_uppercase())
    if "status" in table.column_names:
        exprs.append(pl.col("status").str.to_lowercase())
    if table.key:
        exprs.append(pl.col(table.key).is_first_distinct().alias(KEY_FIRST))
    if table.name != "patients":
        known = pl.col("patient_id").is_in(patient_ids.implode()) if patient_ids is not None else pl.lit(True)
        exprs.append(known.alias(PATIENT_KNOWN))
    if "encounter_id" in table.column_names and table.name != "encounters":
        known = pl.col("encounter_id").is_in(encounter_ids.implode()) if encounter_ids is not None else pl.lit(True)
        exprs.append((pl.col("encounter_id").is_null() | known).alias(ENCOUNTER_KNOWN))
    return frame.with_columns(exprs).with_row_index(ROW_INDEX)


def _failures(typed: pl.DataFrame, table_name: str, extract_date: date, checks: list[RowCheck]) -> pl.DataFrame:
    """(row index, check name) of every failed check, straight from pandera's failure cases."""
    try:
        schema_for(table_name, extract_date).validate(typed, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        known = {c.name for c in checks}
        unexpected = cases.filter(~pl.col("check").is_in(list(known)))
        if unexpected.height:
            first = unexpected.row(0, named=True)
            message = f"{table_name}: unexpected schema failure {first['check']} on {first['column']}"
            raise ValueError(message) from errors
        return cases.select(pl.col("index").cast(pl.UInt32).alias(ROW_INDEX), pl.col("check")).unique()
    return pl.DataFrame(schema={ROW_INDEX: pl.UInt32, "check": pl.String})


def validate_table(frame: pl.DataFrame, table_name: str, extract_date: date,
                   patient_ids: pl.Series | None = None, encounter_ids: pl.Series | None = None) -> TableValidation:
    """Validates a canonical string frame (as an adapter returns it)."""
    table = TABLES_BY_NAME[table_name]
    checks = checks_for(table_name, extract_date)
    typed = _typed(frame, table_name, patient_ids, encounter_ids)
    rules = pl.DataFrame({"check": [c.name for c in checks], "field": [c.field for c in checks],
                          "action": [c.action for c in checks], "reason": [c.reason for c in checks]})
    failures = _failures(typed, table_name, extract_date, checks).join(rules, on="check")

    rejected_rows = failures.filter(pl.col("action") == REJECTED)[ROW_INDEX].unique()
    # A rejected row reports why it was rejected; repairs only concern rows that are loaded.
    failures = failures.filter((pl.col("action") == REJECTED) | ~pl.col(ROW_INDEX).is_in(rejected_rows.implode()))
    repairs = failures.filter(pl.col("action") == REPAIRED)

    loaded = typed.filter(~pl.col(ROW_INDEX).is_in(rejected_rows.implode()))
    repair_exprs = []
    for field_name in repairs["field"].unique().to_list():
        rows = repairs.filter(pl.col("field") == field_name)[ROW_INDEX].implode()
        repair_exprs.append(pl.when(pl.col(ROW_INDEX).is_in(rows)).then(None).otherwise(pl.col(field_name))
                            .alias(field_name))
        if table_name == "labs" and field_name == "value_numeric":
            # The text of a non-numeric result is evidence ("<0.5", "hemolysed"): keep it in value_text.
            repair_exprs.append(pl.when(pl.col(ROW_INDEX).is_in(rows))
                                .then(pl.coalesce("value_text", raw("value_numeric")))
                                .otherwise(pl.col("value_text")).alias("value_text"))
    if repair_exprs:
        loaded = loaded.with_columns(repair_exprs)
    loaded = loaded.select(*table.column_names, SOURCE_FILE, SOURCE_ROW)

    return TableValidation(
        table_name=table_name,
        loaded=loaded,
        quarantine=_quarantine_rows(frame, failures, table_name),
        data_quality=_data_quality(typed, failures, checks, table_name),
        rows_read=frame.height,
        rows_rejected=rejected_rows.len(),
        rows_repaired=repairs[ROW_INDEX].n_unique(),
    )


def _quarantine_rows(frame: pl.DataFrame, failures: pl.DataFrame, table_name: str) -> pl.DataFrame:
    if failures.is_empty():
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    table = TABLES_BY_NAME[table_name]
    # The record as the file had it (canonical columns only: no identifier can ride along).
    records = frame.with_row_index(ROW_INDEX).join(failures.select(ROW_INDEX).unique(), on=ROW_INDEX).select(
        ROW_INDEX, SOURCE_FILE, SOURCE_ROW, pl.struct(table.column_names).struct.json_encode().alias("record"))
    return failures.join(records, on=ROW_INDEX).sort(SOURCE_ROW, "check").select(
        pl.lit(table_name).alias("table_name"), pl.col(SOURCE_FILE).alias("source_file"),
        pl.col(SOURCE_ROW).cast(pl.Int64).alias("source_row"), "action", "field",
        pl.col("check").alias("check_name"), "reason", "record")


def _data_quality(typed: pl.DataFrame, failures: pl.DataFrame, checks: list[RowCheck],
                  table_name: str) -> pl.DataFrame:
    """One row per check (rows checked / failed), plus whole-table checks: the table is not empty,
    and each typed column parses somewhere (a column of the wrong type throughout fails here)."""
    failed = dict(failures.group_by("check").len().iter_rows())
    names = [c.name for c in checks]
    counts = [int(failed.get(n, 0)) for n in names]
    rows = typed.height
    names.append("table:not_empty")
    counts.append(1 if rows == 0 else 0)
    for col in TABLES_BY_NAME[table_name].columns:
        if col.dtype in ("date", "number"):
            present = typed[raw(col.name)].is_not_null().sum()
            parsed = typed[col.name].is_not_null().sum()
            names.append(f"{col.name}:parses_in_some_row")
            counts.append(1 if present > 0 and parsed == 0 else 0)
    return pl.DataFrame({"table_name": table_name, "check_name": names, "rows_checked": rows,
                         "rows_failed": counts}, schema_overrides={"rows_checked": pl.Int64, "rows_failed": pl.Int64}
                        ).with_columns(passed=pl.col("rows_failed") == 0)
