"""The pandera model of each canonical table: the column checks its declaration implies plus the
table's own (schemas/<table>.py)."""

from __future__ import annotations

from datetime import date
from types import ModuleType

import pandera.polars as pa
from cramp_audit.schemas import diagnoses, encounters, labs, medications, patients, procedures
from cramp_audit.schemas.checks import RowCheck, build_schema, column_checks

TABLE_MODULES: dict[str, ModuleType] = {
    m.TABLE.name: m for m in (patients, encounters, diagnoses, medications, labs, procedures)
}


def checks_for(table_name: str, extract_date: date) -> list[RowCheck]:
    module = TABLE_MODULES[table_name]
    return [*column_checks(module.TABLE, extract_date), *module.extra_checks()]


def schema_for(table_name: str, extract_date: date) -> pa.DataFrameSchema:
    return build_schema(TABLE_MODULES[table_name].TABLE, checks_for(table_name, extract_date))
