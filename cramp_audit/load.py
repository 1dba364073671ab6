"""Loading validated tables into DuckDB through Arrow (never row by row): codes normalised, the
derived columns the rules need added, and this run's quarantine / data-quality rows kept in work.*
until the run is published."""

from __future__ import annotations

import duckdb
import polars as pl

from cramp_audit.db import sql_text
from schemas.spec import SOURCE_FILE, SOURCE_ROW
from schemas.validate import TableValidation

# ICD codes are compared without their dot (rules.md: R25.2 = R252).
DOTLESS_CODE_SYSTEMS = ("ICD10CM", "ICD9CM", "ICD10PCS")


def staging_frame(validation: TableValidation) -> pl.DataFrame:
    """The validated rows in staging form: normalised codes, daily dose, source pointers."""
    frame = validation.loaded
    exprs: list[pl.Expr] = [pl.col(SOURCE_FILE).alias("source_file"), pl.col(SOURCE_ROW).alias("source_row")]
    if "code" in frame.columns:
        code = pl.col("code").str.to_uppercase().str.strip_chars()
        exprs.append(pl.when(pl.col("code_system").is_in(DOTLESS_CODE_SYSTEMS))
                     .then(code.str.replace_all(".", "", literal=True)).otherwise(code).alias("code"))
    if validation.table_name == "medications":
        exprs += [pl.col("route").str.to_lowercase(),
                  (pl.col("dose_value") * pl.col("frequency_per_day")).alias("daily_dose")]
    return frame.with_columns(exprs).drop(SOURCE_FILE, SOURCE_ROW)


def insert_frame(con: duckdb.DuckDBPyConnection, statement_file: str, table: str, frame: pl.DataFrame,
                 run_id: str | None = None) -> None:
    """Runs an INSERT ... FROM incoming statement of sql/ with the frame handed over as Arrow."""
    con.register("incoming", frame.to_arrow())
    try:
        params = {"run_id": run_id} if run_id is not None else None
        con.execute(sql_text(statement_file).format(table=table), params)
    finally:
        con.unregister("incoming")


def load_validated(con: duckdb.DuckDBPyConnection, validation: TableValidation, run_id: str) -> None:
    """Appends one validated table to staging and its quarantine / data-quality rows to work.*."""
    insert_frame(con, "staging_insert.sql", validation.table_name, staging_frame(validation))
    insert_frame(con, "work_insert.sql", "quarantine", validation.quarantine, run_id)
    insert_frame(con, "work_insert.sql", "data_quality", validation.data_quality, run_id)
