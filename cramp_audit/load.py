"""The streaming load: an extract validated batch by batch and loaded into DuckDB through Arrow
(never row by row), codes normalised, the derived columns the rules need added, and this run's
quarantine / data-quality rows kept in work.* until the run is published. Every row of every patient
is read, validated, counted and, when bad, quarantined; staging keeps the rows of the candidate
patients only (a LEG_CRAMPS code in the diagnoses, read first: outputs.md), and what the whole extract
still has to tell (its latest event date, the lab-unit counts) is gathered as the batches pass. A
table's staging rows go in batch by batch, its quarantine and data-quality rows once the table is
done. The same batch loop validates an extract without loading it (`cramp-audit validate`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType

import duckdb
import polars as pl

from cramp_audit.db import initialise, sql_text
from cramp_audit.schemas.code_systems import canonical_system_column, normalised_code
from cramp_audit.schemas.spec import SOURCE_FILE, SOURCE_ROW, TABLES, unusable_tables
from cramp_audit.schemas.validate import (
    KnownKeys,
    TableValidation,
    TableValidator,
    encounter_owners,
    unusable_table_quality,
)
from cramp_audit.stages import run_stage, statement
from cramp_audit.transforms.base import Extract
from cramp_audit.transforms.registry import open_extract
from cramp_audit.validation_summary import refuse_empty_required_tables, rows_loaded, table_counts
from cramp_audit.valuesets import load_value_sets

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ShardContext:
    """What one shard's load needs from the whole extract: the encounters' owners (encounter_id ->
    patient_id) and, per keyed table, the rows (validate.row_keys) whose key came first in another shard."""

    encounter_owners: pl.DataFrame | None
    foreign_duplicates: dict[str, pl.Series]


def no_progress(_: str) -> None:
    pass


def staging_rows(table_name: str, loaded: pl.DataFrame) -> pl.DataFrame:
    """Validated rows in staging form: normalised codes, daily dose, source pointers."""
    exprs: list[pl.Expr] = [pl.col(SOURCE_FILE).alias("source_file"), pl.col(SOURCE_ROW).alias("source_row")]
    if "code" in loaded.columns:
        exprs.append(normalised_code(pl.col("code_system"), pl.col("code")).alias("code"))
    if table_name == "medications":
        exprs += [pl.col("route").str.to_lowercase(),
                  (pl.col("dose_value") * pl.col("frequency_per_day")).alias("daily_dose")]
    return loaded.with_columns(exprs).drop(SOURCE_FILE, SOURCE_ROW)


def insert_frame(con: duckdb.DuckDBPyConnection, statement_name: str, table: str, frame: pl.DataFrame,
                 run_id: str | None = None) -> None:
    """Runs an INSERT ... FROM incoming statement (sql/statements.sql) with the frame handed over as Arrow, found
    by DuckDB's replacement scan of the local name `incoming`. (Not con.register: inside a transaction
    a registered view, and the Arrow data behind it, lives until the transaction ends, so a load of
    many batches would keep every batch in memory: 7 GB for a 1M-patient extract.)"""
    incoming = frame.to_arrow()  # noqa: F841 - read by name by the statement
    params = {"run_id": run_id} if run_id is not None else None
    con.execute(statement(statement_name).format(table=table), params)


def candidate_patients(con: duckdb.DuckDBPyConnection, extract: Extract) -> pl.Series:
    """The patient ids with a LEG_CRAMPS code among the extract's diagnoses as read (before any
    table is validated, so that every table's batches can be cut to them as they pass): a superset
    of the candidates, made exact after the load (load/candidate_patients.sql). Needs ref.* loaded."""
    codes = con.sql(sql_text("load/candidate_codes.sql")).pl()
    found: list[pl.Series] = []
    for batch in extract.tables["diagnoses"]():
        coded = batch.select("patient_id", "code").with_columns(
            canonical_system_column(batch["code_system"]).alias("code_system"))
        coded = coded.with_columns(normalised_code(pl.col("code_system"), pl.col("code")).alias("code"))
        found.append(coded.join(codes, on=["code_system", "code"], how="semi")["patient_id"].drop_nulls().unique())
    return pl.concat(found).unique() if found else pl.Series("patient_id", [], dtype=pl.String)


def load_staging(con: duckdb.DuckDBPyConnection, table_name: str, loaded: pl.DataFrame,
                 candidates: pl.Series) -> None:
    """Appends the candidates' validated rows (of a whole table or one batch of it) to staging; labs
    of every patient are first counted for the lab-unit checks (work.lab_unit_tally)."""
    keep = pl.col("patient_id").is_in(candidates.implode())
    if table_name == "labs":
        rows = staging_rows(table_name, loaded)
        incoming = rows.to_arrow()  # noqa: F841 - read by name by the statement
        con.execute(statement("lab_unit_tally_insert"))
        rows = rows.filter(keep)
    else:  # cut first: the staging form of the other patients' rows would be thrown away
        rows = staging_rows(table_name, loaded.filter(keep))
    insert_frame(con, "staging_insert", table_name, rows)


class StagingLoader:
    """Appends batches to staging on one worker thread, so that DuckDB inserts a batch while polars
    reads and validates the next (both release the GIL: on a small machine this keeps both cores
    busy). `append` first waits for the previous insert, so at most two validated batches are in
    memory and the connection is never used by two threads at once; call `wait` before using the
    connection yourself. Leaving the `with` block waits for the last insert and re-raises its error."""

    def __init__(self, con: duckdb.DuckDBPyConnection, candidates: pl.Series) -> None:
        self.con = con
        self.candidates = candidates
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging-insert")
        self._pending: Future[None] | None = None

    def append(self, table_name: str, loaded: pl.DataFrame) -> None:
        self.wait()
        self._pending = self._worker.submit(load_staging, self.con, table_name, loaded, self.candidates)

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


# ---------------------------------------------------------------- the batch loop

def validated_batches(extract: Extract, extract_date: date, validations: list[TableValidation],
                      on_table: Callable[[TableValidation], None] = lambda v: None,
                      extract_owners: pl.DataFrame | None = None,
                      foreign_duplicates: dict[str, pl.Series] | None = None,
                      ) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each table's batches validated, patients first (the others must refer to them), as
    (table name, rows to load); each finished table's validation is appended to `validations`.
    Memory holds one batch plus the patient and encounter ids later tables are checked against.
    A shard of a sharded run passes the whole extract's encounter owners and the rows whose key came
    first in another shard (cramp_audit/shards.py); a single run finds both itself."""
    known: dict[str, KnownKeys] = {}
    owner_parts: list[pl.DataFrame] = []
    owners = extract_owners
    for table in TABLES:
        batches = extract.tables.get(table.name)
        if batches is None:
            continue
        if owners is None and owner_parts:  # indexed once, for every table after encounters
            first_rows = pl.concat(owner_parts).unique("encounter_id", keep="first", maintain_order=True)
            owners = KnownKeys(first_rows["encounter_id"], first_rows["owner"])
        elif isinstance(owners, pl.DataFrame):
            owners = KnownKeys(owners["encounter_id"], owners["owner"])
        validator = TableValidator(table.name, extract_date, known.get("patients"), known.get("encounters"),
                                   encounter_owners=owners,
                                   foreign_duplicates=(foreign_duplicates or {}).get(table.name))
        loaded_keys: list[pl.Series] = []
        for batch in batches():
            loaded = validator.validate(batch)
            yield table.name, loaded
            if table.name in ("patients", "encounters"):
                loaded_keys.append(loaded[table.key])
            if table.name == "encounters" and extract_owners is None:
                owner_parts.append(encounter_owners(batch))
        if loaded_keys:
            known[table.name] = KnownKeys(pl.concat(loaded_keys))
        validations.append(validator.result())
        on_table(validations[-1])


def validate_extract(extract: Extract, extract_date: date, keep_rows: bool = True) -> list[TableValidation]:
    """Validates an extract without loading it, through the same batch loop the load uses. With
    keep_rows each validation also holds its loaded rows (for small extracts and tests)."""
    validations: list[TableValidation] = []
    rows: dict[str, list[pl.DataFrame]] = {}
    for table_name, loaded in validated_batches(extract, extract_date, validations):
        if keep_rows:
            rows.setdefault(table_name, []).append(loaded)
    for validation in validations:
        if keep_rows:
            validation.loaded = pl.concat(rows[validation.table_name])
    return validations


def check_extract(source: Path, requested_format: str | None = None) -> tuple[Extract, list[TableValidation]]:
    """Reads and validates an extract a batch at a time, writing nothing (`cramp-audit validate`)."""
    extract = open_extract(source, requested_format)
    return extract, validate_extract(extract, extract.extract_date or date.today(), keep_rows=False)


# ---------------------------------------------------------------- loading a run's staging

def load_source(con: duckdb.DuckDBPyConnection, extract: Extract, extract_date: date, run_id: str,
                progress: Progress = no_progress, shard: ShardContext | None = None,
                ) -> tuple[str, list[TableValidation]]:
    """Replaces staging.* with the validated extract and fills this run's work.quarantine,
    work.data_quality and work.table_counts, then the value sets, in the
    caller's transaction (a run's: staging is replaced when the run is published, not before).
    Returns the value sets' checksum and the validations. `shard`: what a shard of a sharded run is
    told about the whole extract (cramp_audit/shards.py)."""
    initialise(con)
    con.execute(statement("staging_load_settings"))
    try:
        return _load_source(con, extract, extract_date, run_id, progress, shard)
    finally:
        con.execute(statement("staging_load_finished"))


def _load_source(con: duckdb.DuckDBPyConnection, extract: Extract, extract_date: date, run_id: str,
                 progress: Progress, shard: ShardContext | None) -> tuple[str, list[TableValidation]]:
    run_stage(con, "load")
    checksum = load_value_sets(con)  # first: the candidates are found by value set
    candidates = candidate_patients(con, extract) if "diagnoses" in extract.tables else pl.Series(dtype=pl.String)
    validations = stream_extract(con, extract, extract_date, run_id, progress, shard, candidates)
    if shard is None:  # a shard may lack a table the whole extract has: the partition refuses instead
        refuse_empty_required_tables(validations)
    run_stage(con, "candidates")
    insert_frame(con, "work_append", "event_dates", pl.DataFrame(
        [(v.table_name, v.latest_event_date) for v in validations],
        schema={"table_name": pl.String, "latest_date": pl.Date}, orient="row"))
    insert_frame(con, "work_insert", "table_counts", table_counts(extract, validations), run_id)
    unusable = unusable_tables(rows_loaded(validations))
    rows_read = {v.table_name: v.rows_read for v in validations}
    load_unusable_tables(con, {name: rows_read.get(name, 0) for name in unusable}, run_id)
    return checksum, validations


def stream_extract(con: duckdb.DuckDBPyConnection, extract: Extract, extract_date: date, run_id: str,
                   progress: Progress, shard: ShardContext | None, candidates: pl.Series) -> list[TableValidation]:
    """Validates and loads the extract batch by batch: a batch's candidate rows go to staging as soon
    as they are validated, while the next batch is read."""
    validations: list[TableValidation] = []
    with StagingLoader(con, candidates) as loader:
        for table_name, loaded in validated_batches(
                extract, extract_date, validations, lambda v: _report_loaded(progress, v),
                extract_owners=shard.encounter_owners if shard else None,
                foreign_duplicates=shard.foreign_duplicates if shard else None):
            loader.append(table_name, loaded)
        # Not per table: the last insert of one table runs while the next one is read.
        loader.wait()
        for validation in validations:
            load_checks(con, validation, run_id)
    return validations


def _report_loaded(progress: Progress, v: TableValidation) -> None:
    progress(f"loaded {v.table_name}: {v.rows_read:,} read, {v.rows_loaded:,} loaded, "
             f"{v.rows_rejected:,} rejected, {v.rows_repaired:,} repaired")
