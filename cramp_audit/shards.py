"""The audit sharded by patient (`cramp-audit run --shards N`): the same steps as a single run, each
shard in its own DuckDB file, then merged into the run's database in its one transaction.

    partition      one pass over each table of the extract (through its adapter; `split_table`, one
                   task per table, encounters before the tables that name them, the rest side by
                   side): every row written to the Parquet folder of its patient's shard (stable hash
                   of patient_id), and what only the whole extract knows gathered on the way: its
                   date, its checksum, rows per table, the rows whose encounter_id / order_id came
                   first in another shard, and the encounters of another patient that a shard's rows
                   name
    load_shard     validate, quarantine, stage one shard (cramp_audit.load, as a single run does) into
                   <work>/shard-K.duckdb, given the whole extract's facts; returns its latest date
    evaluate_shard cohort and rules for one shard, with the period and the unusable tables of the run
    merge          every shard's work.* and staging.* rows into the run's database (inside the run's
                   transaction), the run-wide counts settled, and decide.sql run once over all shards,
                   so rates and the previous-run comparison are computed as in a single run

Steps take and return paths and small plain values (each is a Prefect task on a Dask worker), and
each can run again: it starts from nothing but the partition's files. A shard reads only its own
folder (its rows, and the few keys and encounters it shares with other shards), so a worker's memory
is bounded by its shard."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from cramp_audit.db import connect, set_variable, sql_text
from cramp_audit.load import ShardContext, load_source
from cramp_audit.provenance import source_checksum
from cramp_audit.schemas.spec import ABSENT_TABLE_REASON, SOURCE_FILE, SOURCE_ROW, TABLES, TABLES_BY_NAME
from cramp_audit.schemas.validate import KnownKeys, encounter_owners, first_distinct, key_hashes, row_keys
from cramp_audit.stages import run_stage, statement, tables
from cramp_audit.transforms.base import Extract, ExtractError, Skipped
from cramp_audit.transforms.registry import BY_FORMAT
from cramp_audit.validation_summary import (
    RUN_SUMMARY_REASONS,
    QuarantineReason,
    TableCounts,
    empty_table_message,
)

BORROWED_DIR = "_borrowed"  # per shard and table: the other patients' encounters its rows name
ALL_OWNERS_FILE = "_encounter_owners.parquet"  # in the work folder: every encounter's owner, for the splits
DUPLICATES_DIR = "_duplicates"
PLAN_FILE = "plan.json"
# The shards' rows are written once and read once: lz4 writes a quarter faster than Parquet's default
# zstd (0.48 s against 0.63 s per 1M lab rows) for files a third larger.
WORK_COMPRESSION = "lz4"


class ClusterUsageError(Exception):
    """`--dask` without a Prefect server: bad usage (exit 2). Here, not in the flow's module, so the
    command line names it without importing Prefect (2-3 s of every command's start)."""


@dataclass(frozen=True)
class ShardPlan:
    """What the partition found, as plain values (a Prefect task result)."""

    work_dir: str
    shards: int
    source_format: str
    extract_date: str                 # ISO: the source's own date, else the day the run started
    source_checksum: str
    tables: list[str]                 # the extract's tables (the others are absent)
    skipped: list[dict] = field(default_factory=list)   # transforms.base.Skipped, as dicts
    rows: dict[str, int] = field(default_factory=dict)  # rows per table in the whole extract

    def shard_dir(self, shard: int) -> Path:
        return Path(self.work_dir) / f"shard-{shard}"

    def shard_db(self, shard: int) -> Path:
        return Path(self.work_dir) / f"shard-{shard}.duckdb"


@dataclass(frozen=True)
class TableSplit:
    """What one table's split found (a Prefect task result)."""

    table_name: str
    rows: int
    skipped: list[dict]               # the adapter's skips of this table, transforms.base.Skipped as dicts


@dataclass(frozen=True)
class ShardLoad:
    shard: int
    latest_date: str | None           # ISO; sql/period.sql on the shard's staging
    rows_read: dict[str, int]
    rows_loaded: dict[str, int]
    value_sets_checksum: str


def shard_ids(con: duckdb.DuckDBPyConnection, batch: pl.DataFrame, shards: int) -> pl.Series:
    """The shard of each row of `batch`. md5 is hashed once per distinct patient of the batch (a patient
    has many rows: 64 k ids in a 1 M-row batch of labs) and joined back: 2-3x less than per row."""
    ids = batch.select("patient_id")
    incoming = ids.unique().to_arrow()  # noqa: F841 - read by name by the statement
    of_patient = con.sql(sql_text("shards/shard_of.sql"), params={"shards": shards}).pl()
    return ids.join(of_patient, on="patient_id", how="left", nulls_equal=True, maintain_order="left")["shard"]


# Split first: the tables whose rows name no encounter. The others are checked against the owners
# the encounters' split writes, so they wait for it (and can then be split side by side).
FIRST_SPLIT = ("patients", "encounters")


def begin_partition(source: str, source_format: str, work_dir: str) -> list[list[str]]:
    """A fresh work folder (a re-run starts again from the extract); returns the extract's tables in
    the waves they are split in: FIRST_SPLIT, then the rest, each in the order a single run validates
    them. The tables of one wave can be split at once."""
    work = Path(work_dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    extract = BY_FORMAT[source_format].read(Path(source))
    present = [table.name for table in TABLES if table.name in extract.tables]
    return [[t for t in present if t in FIRST_SPLIT], [t for t in present if t not in FIRST_SPLIT]]


def split_table(source: str, source_format: str, shards: int, work_dir: str, table_name: str) -> TableSplit:
    """One pass over one table of the extract (through its adapter): each batch's rows written to the
    Parquet folder of their patient's shard, the rows whose key came first in another shard noted for
    that shard, and, for encounters, every encounter's owner kept for the other tables' splits. Tables
    other than encounters can be split at once, each by its own task. Parquet keeps the values exactly
    as the adapter gave them, source file and row included, so quarantine rows are a single run's."""
    work = Path(work_dir)
    extract = BY_FORMAT[source_format].read(Path(source))
    extra_skipped = len(extract.skipped)  # the adapter's own (not a table's): counted by finish_partition
    owners_file = work / ALL_OWNERS_FILE
    owners = pl.read_parquet(owners_file) if table_name != "encounters" and owners_file.exists() else None
    hasher = duckdb.connect()
    try:
        rows, borrowed, found = _split_table(hasher, extract, table_name, shards, work, owners)
    finally:
        hasher.close()
    if found is not None:
        found.write_parquet(owners_file)
    _write_borrowed(work, shards, table_name, borrowed)
    skipped = extract.skipped[:len(extract.skipped) - extra_skipped]
    return TableSplit(table_name, rows, [asdict(s) for s in skipped])


def extract_checksum(source: str, source_format: str) -> str:
    """The checksum a single run records, read while the tables are split."""
    return source_checksum(BY_FORMAT[source_format].read(Path(source)))


def finish_partition(source: str, source_format: str, shards: int, work_dir: str, run_date: str,
                     splits: list[TableSplit], checksum: str) -> ShardPlan:
    """The plan every shard task is given: the splits' counts and skips, in table order, then the
    adapter's own skips (as a single run's table_counts lists them)."""
    extract = BY_FORMAT[source_format].read(Path(source))
    by_table = {split.table_name: split for split in splits}
    ordered = [by_table[table.name] for table in TABLES if table.name in by_table]
    plan = ShardPlan(work_dir, shards, source_format,
                     (extract.extract_date or date.fromisoformat(run_date)).isoformat(), checksum,
                     list(extract.tables), [s for split in ordered for s in split.skipped]
                     + [asdict(s) for s in extract.skipped], {split.table_name: split.rows for split in ordered})
    (Path(work_dir) / PLAN_FILE).write_text(json.dumps(asdict(plan)), encoding="utf-8")
    return plan


def partition(source: str, source_format: str, shards: int, work_dir: str, run_date: str) -> ShardPlan:
    """The whole partition in this process, table by table (the sharded flow runs the same steps as
    tasks, each wave's tables side by side)."""
    waves = begin_partition(source, source_format, work_dir)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-checksum") as worker:
        checksum = worker.submit(extract_checksum, source, source_format)
        splits = [split_table(source, source_format, shards, work_dir, name) for wave in waves for name in wave]
        return finish_partition(source, source_format, shards, work_dir, run_date, splits, checksum.result())


def _split_table(hasher: duckdb.DuckDBPyConnection, extract: Extract, table_name: str, shards: int, work: Path,
                 owners: pl.DataFrame | None) -> tuple[int, list[pl.DataFrame], pl.DataFrame | None]:
    """Writes one table's rows to their shards; returns its row count, the rows naming another
    patient's encounter (shard, encounter, owner) and, for encounters, their owners."""
    table = TABLES_BY_NAME[table_name]
    # The duplicate-key check spans shards: a key seen first anywhere earlier in the file (any shard)
    # makes this row a duplicate, as in a single pass.
    seen = KnownKeys(pl.Series(dtype=pl.String)) if table.key else None
    duplicates: list[pl.DataFrame] = []
    owner_parts: list[pl.DataFrame] = []
    borrowed: list[pl.DataFrame] = []
    schema: dict | None = None
    rows = 0
    for number, batch in enumerate(extract.tables[table_name]()):
        schema = schema or batch.schema
        rows += batch.height
        shard = shard_ids(hasher, batch, shards)
        if seen is not None:
            keys = batch[table.key]
            hashes = key_hashes(keys)  # once, for the three uses
            first = first_distinct(keys, hashes) & ~seen.contains(keys, hashes).fill_null(seen.has_null)
            seen.add(keys, hashes)
            duplicates.append(pl.DataFrame({"shard": shard, "row": row_keys(batch)}).filter(~first))
        if table_name == "encounters":
            owner_parts.append(encounter_owners(batch))
        elif owners is not None and "encounter_id" in batch.columns:
            named = batch.select("encounter_id", "patient_id", shard.alias("shard")).join(
                owners, on="encounter_id", how="inner")
            borrowed.append(named.filter(pl.col("owner") != pl.col("patient_id").fill_null(""))
                            .select("shard", "encounter_id", "owner"))
        for (k,), part in batch.with_columns(shard.alias("_shard")).partition_by("_shard", as_dict=True).items():
            folder = work / f"shard-{k}" / table_name
            folder.mkdir(parents=True, exist_ok=True)
            part.drop("_shard").write_parquet(folder / f"{number:06d}.parquet", compression=WORK_COMPRESSION)
    for k in range(shards):  # every shard has the table, rows or not (an absent table means something else)
        folder = work / f"shard-{k}" / table_name
        if not folder.exists():
            folder.mkdir(parents=True)
            pl.DataFrame(schema=schema or {c: pl.String for c in table.column_names} | {
                SOURCE_FILE: pl.String, SOURCE_ROW: pl.Int64}).write_parquet(folder / "empty.parquet")
    if seen is not None:
        found = pl.concat(duplicates) if duplicates else pl.DataFrame(schema={"shard": pl.Int32, "row": pl.String})
        for k in range(shards):
            folder = work / f"shard-{k}" / DUPLICATES_DIR
            folder.mkdir(parents=True, exist_ok=True)
            found.filter(pl.col("shard") == k).select("row").write_parquet(folder / f"{table_name}.parquet")
    if table_name == "encounters":
        merged = pl.concat(owner_parts) if owner_parts else pl.DataFrame(
            schema={"encounter_id": pl.String, "owner": pl.String})
        return rows, borrowed, merged.unique("encounter_id", keep="first", maintain_order=True)
    return rows, borrowed, None


def _write_borrowed(work: Path, shards: int, table_name: str, borrowed: list[pl.DataFrame]) -> None:
    """Per shard, the owners of only the encounters one table's rows borrow from another patient: all
    that the encounter_id:other_patient check needs (an own or unknown encounter passes it), so a
    worker never holds the whole extract's encounter ids."""
    found = pl.concat(borrowed) if borrowed else pl.DataFrame(
        schema={"shard": pl.Int32, "encounter_id": pl.String, "owner": pl.String})
    for k in range(shards):
        folder = work / f"shard-{k}" / BORROWED_DIR
        folder.mkdir(parents=True, exist_ok=True)
        found.filter(pl.col("shard") == k).select("encounter_id", "owner").unique("encounter_id").write_parquet(
            folder / f"{table_name}.parquet")


def refuse_empty_required(loads: list[ShardLoad]) -> None:
    """A single run's refusal of a required table without a usable row, over all shards at once."""
    read = {t.name: sum(s.rows_read.get(t.name, 0) for s in loads) for t in TABLES}
    loaded = {t.name: sum(s.rows_loaded.get(t.name, 0) for s in loads) for t in TABLES}
    for table in TABLES:
        if table.required_file and table.name in loads[0].rows_read and loaded[table.name] == 0:
            raise ExtractError(empty_table_message(table.name, read[table.name], read[table.name]))


def shard_extract(plan: ShardPlan, shard: int) -> Extract:
    """One shard's rows as an Extract, batches in the order the partition wrote them (file order)."""
    folder = plan.shard_dir(shard)

    def batches_of(table_name: str):  # noqa: ANN202 - a transforms.base.Batches
        def batches() -> Iterator[pl.DataFrame]:
            for path in sorted((folder / table_name).glob("*.parquet")):
                yield pl.read_parquet(path)
        return batches

    # The adapter's skipped rows are counted once, by shard 0 (the merge sums every shard's counts).
    skipped = [Skipped(**s) for s in plan.skipped] if shard == 0 else []
    return Extract(plan.source_format, {name: batches_of(name) for name in plan.tables}, skipped,
                   date.fromisoformat(plan.extract_date))


def shard_context(plan: ShardPlan, shard: int) -> ShardContext:
    # As in a single run, no owners at all without an encounters table.
    owners = pl.read_parquet(plan.shard_dir(shard) / BORROWED_DIR / "*.parquet").unique(
        "encounter_id", keep="first", maintain_order=True) if "encounters" in plan.tables else None
    duplicates = {path.stem: pl.read_parquet(path)["row"]
                  for path in (plan.shard_dir(shard) / DUPLICATES_DIR).glob("*.parquet")}
    return ShardContext(owners, duplicates)


def load_shard(plan: ShardPlan, shard: int, run_id: str) -> ShardLoad:
    """Validates and stages one shard into its own database file (made anew: safe to run again)."""
    path = plan.shard_db(shard)
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    con = connect(path)
    try:
        con.begin()
        checksum, validations = load_source(con, shard_extract(plan, shard),
                                            date.fromisoformat(plan.extract_date), run_id,
                                            shard=shard_context(plan, shard))
        latest = con.execute(statement("latest_date")).fetchone()[0]
        incoming = pl.DataFrame(  # noqa: F841 - read by name by the statement
            [(v.table_name, column, present, v.values_parsed.get(column, 0))
             for v in validations for column, present in v.values_present.items()],
            schema={"table_name": pl.String, "column_name": pl.String, "present": pl.Int64, "parsed": pl.Int64},
            orient="row").to_arrow()
        con.execute(sql_text("shards/parse_counts.sql"))
        con.commit()
    finally:
        con.close()
    return ShardLoad(shard, latest.isoformat() if latest else None,
                     {v.table_name: v.rows_read for v in validations},
                     {v.table_name: v.rows_loaded for v in validations}, checksum)


def evaluate_shard(plan: ShardPlan, shard: int, run_id: str, source_path: str, parameters: dict,
                   period_start: str, period_end: str, data_end: str, unusable: list[str]) -> int:
    """Cohort and rules of one shard, with the run's parameters, period and unusable tables; returns
    the shard's cohort size. work.* is rebuilt from staging, so a re-run gives the same rows."""
    from cramp_audit.config import set_parameters
    from cramp_audit.rules_engine import evaluate

    con = connect(plan.shard_db(shard))
    try:
        con.begin()
        set_parameters(con, parameters, date.fromisoformat(period_start), date.fromisoformat(period_end),
                       data_end=date.fromisoformat(data_end))
        evaluate(con, run_id, source_path, unusable_tables=unusable)
        [(cohort,)] = con.execute(sql_text("summary/cohort_size.sql")).fetchall()
        con.commit()
    finally:
        con.close()
    return int(cohort)


def merge(con: duckdb.DuckDBPyConnection, plan: ShardPlan, run_id: str, source_path: str,
          unusable: list[str], rows_read: dict[str, int]) -> None:
    """Every shard's rows into the run's work.* and staging.* (on the run's connection, inside its
    transaction: nothing is published until the run commits), then the run-wide rows settled and the
    decider run over all shards with the previous run's rates, exactly as a single run does."""
    from cramp_audit.load import insert_frame
    from cramp_audit.schemas.validate import unusable_table_quality

    aliases = [f"shard_{k}" for k in range(plan.shards)]
    for k, alias in enumerate(aliases):
        con.execute(sql_text("shards/attach_shard.sql").format(alias=alias), {"path": str(plan.shard_db(k))})
    # They stay attached until the run commits (DuckDB cannot detach what the open transaction read):
    # detach() then, or the run's connection closing on failure.
    con.execute(sql_text("shards/merge_begin.sql").format(first=aliases[0]))
    copied = [("staging", t) for t in tables("staging")] + [("work", t) for t in tables("loaded")]
    for alias in aliases:
        for schema, table in copied:
            con.execute(statement("copy_shard_table").format(alias=alias, schema=schema, table=table))
        con.execute(sql_text("shards/merge_shard.sql").format(alias=alias))
    con.execute(sql_text("shards/merge_settle.sql"))
    insert_frame(con, "work_insert", "data_quality",
                 unusable_table_quality({name: rows_read.get(name, 0) for name in unusable}), run_id)
    _insert_unusable(con, unusable)
    set_variable(con, "run_id", run_id, "VARCHAR")
    set_variable(con, "source_path", source_path, "VARCHAR")
    run_stage(con, "decide")


def detach(con: duckdb.DuckDBPyConnection, plan: ShardPlan) -> None:
    """After the run's commit: the shards' files are let go (the work folder can then be removed)."""
    for k in range(plan.shards):
        con.execute(sql_text("shards/detach_shard.sql").format(alias=f"shard_{k}"))


def _insert_unusable(con: duckdb.DuckDBPyConnection, unusable: list[str]) -> None:
    from cramp_audit.rules_engine import _insert

    _insert(con, "unusable_tables", pl.DataFrame({"table_name": unusable}, schema={"table_name": pl.String}))


def table_summary(con: duckdb.DuckDBPyConnection) -> list[TableCounts]:
    """The merged run's per-table counts with its commonest reasons, as a single run's result keeps them."""
    reasons: dict[str, list[QuarantineReason]] = {}
    for table_name, action, field_name, reason, rows in con.execute(
            sql_text("shards/quarantine_reasons.sql")).fetchall():
        reasons.setdefault(table_name, []).append(QuarantineReason(action, field_name, reason, rows))
    counts = con.execute(sql_text("shards/table_counts_summary.sql"),
                         {"absent": ABSENT_TABLE_REASON, "tables": [t.name for t in TABLES]}).fetchall()
    return [TableCounts(name, *map(int, numbers), reasons=reasons.get(name, [])[:RUN_SUMMARY_REASONS])
            for name, *numbers in counts]
