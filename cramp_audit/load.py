"""Loading validated tables into DuckDB through Arrow (never row by row): codes normalised, the
derived columns the rules need added, and this run's quarantine / data-quality rows kept in work.*
until the run is published. A table can be loaded whole or batch by batch (staging rows first,
its quarantine and data-quality rows once the table is done)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

import duckdb
import polars as pl

from cramp_audit.stages import statement
from schemas.spec import SOURCE_FILE, SOURCE_ROW
from schemas.validate import TableValidation, unusable_table_quality

# ICD codes are compared without their dot (rules.md: R25.2 = R252).
DOTLESS_CODE_SYSTEMS = ("ICD10CM", "ICD9CM", "ICD10PCS")


def staging_rows(table_name: str, loaded: pl.DataFrame) -> pl.DataFrame:
    """Validated rows in staging form: normalised codes, daily dose, source pointers."""
    exprs: list[pl.Expr] = [pl.col(SOURCE_FILE).alias("source_file"), pl.col(SOURCE_ROW).alias("source_row")]
    if "code" in loaded.columns:
        code = pl.col("code").str.to_uppercase().str.strip_chars()
        exprs.append(pl.when(pl.col("code_system").is_in(DOTLESS_CODE_SYSTEMS))
                     .then(code.str.replace_all(".", "", literal=True)).otherwise(code).alias("code"))
    if table_name == "medications":
        exprs += [pl.col("route").str.to_lowercase(),
                  (pl.col("dose_value") * pl.col("frequency_per_day")).alias("daily_dose")]
    return loaded.with_columns(exprs).drop(SOURCE_FILE, SOURCE_ROW)


def staging_frame(validation: TableValidation) -> pl.DataFrame:
    """The validated rows of a table validated whole, in staging form."""
    return staging_rows(validation.table_name, validation.loaded)


def insert_frame(con: duckdb.DuckDBPyConnection, statement_name: str, table: str, frame: pl.DataFrame,
                 run_id: str | None = None) -> None:
    """Runs an INSERT ... FROM incoming statement (sql/statements.sql) with the frame handed over as Arrow, found
    by DuckDB's replacement scan of the local name `incoming`. (Not con.register: inside a transaction
    a registered view, and the Arrow data behind it, lives until the transaction ends, so a load of
    many batches would keep every batch in memory: 7 GB for a 1M-patient extract.)"""
    incoming = frame.to_arrow()  # noqa: F841 - read by name by the statement
    params = {"run_id": run_id} if run_id is not None else None
    con.execute(statement(statement_name).format(table=table), params)


def load_staging(con: duckdb.DuckDBPyConnection, table_name: str, loaded: pl.DataFrame) -> None:
    """Appends validated rows (a whole table or one batch of it) to staging."""
    insert_frame(con, "staging_insert", table_name, staging_rows(table_name, loaded))


class StagingLoader:
    """Appends batches to staging on one worker thread, so that DuckDB inserts a batch while polars
    reads and validates the next (both release the GIL: on a small machine this keeps both cores
    busy). `append` first waits for the previous insert, so at most two validated batches are in
    memory and the connection is never used by two threads at once; call `wait` before using the
    connection yourself. Leaving the `with` block waits for the last insert and re-raises its error."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging-insert")
        self._pending: Future[None] | None = None

    def append(self, table_name: str, loaded: pl.DataFrame) -> None:
        self.wait()
        self._pending = self._worker.submit(load_staging, self.con, table_name, loaded)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> StagingLoader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if kind is None:
                self.wait()
            elif self._pending is not None:
                self._pending.exception()  # let it finish; the error already raised is the one to report
        finally:
            self._worker.shutdown(wait=True)


def load_checks(con: duckdb.DuckDBPyConnection, validation: TableValidation, run_id: str) -> None:
    """Appends a validated table's quarantine and data-quality rows to work.*."""
    insert_frame(con, "work_insert", "quarantine", validation.quarantine, run_id)
    insert_frame(con, "work_insert", "data_quality", validation.data_quality, run_id)


def load_unusable_tables(con: duckdb.DuckDBPyConnection, rows_read: dict[str, int], run_id: str) -> None:
    """Appends to work.data_quality a failed check for each optional table without a usable row
    (table name -> rows read)."""
    insert_frame(con, "work_insert", "data_quality", unusable_table_quality(rows_read), run_id)
