"""Validate one canonical table with its pandera model, lazily (every failure of every row in one
pass), and turn the failures into quarantine rows: rejected rows are not loaded, repaired rows are
loaded with the one bad field nulled. Nothing is dropped without a quarantine row, so per table
rows read = rows loaded + rows rejected.

A table is validated batch by batch (`TableValidator`; a table read whole is one batch): a batch's
loaded rows can be handed on and forgotten, so memory is bounded by the batch. What spans batches
is kept small: the keys seen so far (duplicates), counts per check and per source file, and the
quarantine rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pandera.polars as pa
import polars as pl
from cramp_audit.schemas.checks import (
    ENCOUNTER_KNOWN,
    ENCOUNTER_OWN,
    KEY_FIRST,
    PATIENT_KNOWN,
    REJECTED,
    REPAIRED,
    RowCheck,
    raw,
)
from cramp_audit.schemas.code_systems import canonical_system_column
from cramp_audit.schemas.models import checks_for, schema_for
from cramp_audit.schemas.spec import POLARS_DTYPES, SOURCE_FILE, SOURCE_ROW, TABLES_BY_NAME, USABLE_ROWS_CHECK
from cramp_audit.schemas.statuses import normalised_status
from pandera.errors import SchemaErrors

ROW_INDEX = "_row_index"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ].*)?$"

QUARANTINE_SCHEMA = {"table_name": pl.String, "source_file": pl.String, "source_row": pl.Int64,
                     "action": pl.String, "field": pl.String, "check_name": pl.String, "reason": pl.String,
                     "record": pl.String}
FILE_COUNTS_SCHEMA = {SOURCE_FILE: pl.String, "rows_read": pl.Int64, "rows_loaded": pl.Int64,
                      "rows_rejected": pl.Int64, "rows_repaired": pl.Int64}


@dataclass
class TableValidation:
    table_name: str
    loaded: pl.DataFrame | None  # typed canonical columns + source file/row; repaired fields nulled
    #                              (None when the rows were handed on batch by batch)
    quarantine: pl.DataFrame     # QUARANTINE_SCHEMA
    data_quality: pl.DataFrame   # table_name, check_name, rows_checked, rows_failed, passed
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_repaired: int
    file_counts: pl.DataFrame    # FILE_COUNTS_SCHEMA: per source file, read = loaded + rejected
    # Per date / number column: values present, and of those parsed (a sharded run settles the
    # :parses_in_some_row checks of all shards from these).
    values_present: dict[str, int] = field(default_factory=dict)
    values_parsed: dict[str, int] = field(default_factory=dict)
    latest_event_date: date | None = None  # of the loaded rows (spec.Table.event_dates)


class KnownKeys:
    """Exact lookup in a big set of strings (and, optionally, the value each key maps to). Each key is
    hashed once (64 bits) and the hashes kept sorted, with the keys (and values) in the same order; a
    batch's values are found by binary search on their hashes, searched in sorted order (3x faster
    than in row order at 12M keys: the search stays in cache), and each is then compared with the key
    at that place. polars' is_in and join build a hash table of their whole right side on every call
    (~1 s per 1M-row batch against 12M encounter ids); a binary search on the strings themselves costs
    three times this one (bench/PROFILE.md). Two keys with one hash are settled by an exact lookup of
    the few values concerned, so no answer rests on a hash alone."""

    def __init__(self, keys: pl.Series, values: pl.Series | None = None) -> None:
        self.has_null = keys.null_count() > 0
        present = keys.is_not_null()
        keys = keys.filter(present)
        hashes = key_hashes(keys)
        order = hashes.arg_sort()
        self.hashes, self.keys = hashes.gather(order), keys.cast(pl.String).gather(order)
        self.values = None if values is None else values.filter(present).gather(order)

    def contains(self, values: pl.Series, hashes: pl.Series | None = None) -> pl.Series:
        """True / False per value; null for a null value (as is_in gives). `hashes`: the values'
        key_hashes, when the caller has them already."""
        _, found = self._positions(values, hashes)
        return pl.select(pl.when(values.is_null()).then(None).otherwise(found)).to_series()

    def value_of(self, values: pl.Series, hashes: pl.Series | None = None) -> pl.Series:
        """The value each key maps to (null for a value not among the keys)."""
        assert self.values is not None, "a set of keys without values"
        if self.hashes.is_empty():
            return pl.Series(self.values.name, [None] * values.len(), dtype=self.values.dtype)
        at, found = self._positions(values, hashes)
        return pl.select(pl.when(found).then(self.values.gather(at))).to_series()

    def _positions(self, values: pl.Series, hashes: pl.Series | None) -> tuple[pl.Series, pl.Series]:
        """Per value: the place of its key (meaningless where not found) and whether it was found."""
        if self.hashes.is_empty():
            return pl.Series([0] * values.len(), dtype=pl.UInt32), pl.Series([False] * values.len(), dtype=pl.Boolean)
        hashes = key_hashes(values) if hashes is None else hashes
        order = hashes.arg_sort()
        in_order = self.hashes.search_sorted(hashes.gather(order), side="left")
        at = in_order.clone().scatter(order, in_order).clip(upper_bound=self.hashes.len() - 1)
        same_hash = self.hashes.gather(at) == hashes
        found = same_hash & (self.keys.gather(at) == values).fill_null(False)
        unsure = same_hash & ~found  # another key of the same hash came first: look the value up exactly
        if unsure.any():
            rows = unsure.arg_true()
            places = self.hashes.is_in(hashes.gather(rows).unique().implode()).arg_true()
            pool = pl.DataFrame({"key": self.keys.gather(places), "place": places}).unique(
                "key", keep="first", maintain_order=True)
            place = values.gather(rows).to_frame("key").join(pool, on="key", how="left",
                                                             maintain_order="left")["place"]
            hit = place.is_not_null()
            at = at.scatter(rows.filter(hit), place.filter(hit).cast(at.dtype))
            found = found.scatter(rows.filter(hit), True)
        return at, found

    def add(self, keys: pl.Series, hashes: pl.Series | None = None) -> None:
        """More keys (a set without values). A linear merge of two sorted runs (lazy merge_sorted:
        0.06 s for 1M into 11M, against 0.3 s for concat + sort)."""
        assert self.values is None, "adding keys to a set with values"
        present = keys.is_not_null()
        new_hashes = key_hashes(keys.filter(present)) if hashes is None else hashes.filter(present)
        order = new_hashes.arg_sort()
        new = pl.DataFrame({"hash": new_hashes.gather(order),
                            "key": keys.filter(present).cast(pl.String).gather(order)})
        merged = pl.DataFrame({"hash": self.hashes, "key": self.keys}).lazy().merge_sorted(new.lazy(), "hash").collect()
        self.hashes, self.keys = merged["hash"], merged["key"]
        self.has_null = self.has_null or keys.null_count() > 0


def key_hashes(keys: pl.Series) -> pl.Series:
    """A key column's 64-bit hashes (computed once per batch and column, then used by every check)."""
    return keys.hash(0)


def first_distinct(keys: pl.Series, hashes: pl.Series) -> pl.Series:
    """keys.is_first_distinct() from the keys' hashes; the rows that share a hash (duplicates, and
    in theory a collision) are settled on the keys themselves."""
    first = hashes.is_first_distinct()
    if first.all():
        return first
    shared = hashes.is_duplicated().arg_true()
    return first.scatter(shared, keys.gather(shared).is_first_distinct())


def row_keys(frame: pl.DataFrame) -> pl.Series:
    """One text per source row (its file and row number), to name rows across processes."""
    return frame.select(pl.concat_str([pl.col(SOURCE_FILE), pl.col(SOURCE_ROW).cast(pl.String)],
                                      separator="\x00")).to_series()


def encounter_owners(encounters: pl.DataFrame) -> pl.DataFrame:
    """encounter_id -> the patient_id of its first row (the row a duplicate check keeps), from the raw
    encounters rows in file order: what "an encounter of the same patient" is checked against."""
    return (encounters.select("encounter_id", pl.col("patient_id").alias("owner")).drop_nulls("encounter_id")
            .unique("encounter_id", keep="first", maintain_order=True))


def _known(ids: pl.Series | KnownKeys | None) -> KnownKeys | None:
    return KnownKeys(ids) if isinstance(ids, pl.Series) else ids


def _typed(frame: pl.DataFrame, table_name: str, flags: dict[str, pl.Series | pl.Expr]) -> pl.DataFrame:
    """Typed columns beside their raw text, normalised tokens, and the cross-row flags."""
    table = TABLES_BY_NAME[table_name]
    exprs: list[pl.Expr | pl.Series] = []
    for col in table.columns:
        if col.dtype != "text" and frame.schema[col.name] == POLARS_DTYPES[col.dtype]:
            # Typed already (a Parquet Date / Float64 column): its own raw value, nothing to parse.
            exprs += [pl.col(col.name).alias(raw(col.name))]
        elif col.dtype == "date":
            text = pl.col(col.name)
            parsed = pl.when(text.str.contains(DATE_PATTERN)).then(
                text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            exprs += [text.alias(raw(col.name)), parsed.cast(pl.Date).alias(col.name)]
        elif col.dtype == "number":
            exprs += [pl.col(col.name).alias(raw(col.name)),
                      pl.col(col.name).cast(pl.Float64, strict=False).alias(col.name)]
    if "code_system" in table.column_names:
        exprs.append(canonical_system_column(frame["code_system"]))
    if "sex" in table.column_names:
        exprs.append(pl.col("sex").str.to_uppercase())
    if "status" in table.column_names:
        exprs.append(normalised_status(pl.col("status")))  # rules-v2.md status synonyms
    exprs += [flag.alias(name) for name, flag in flags.items()]
    return frame.with_columns(exprs).with_row_index(ROW_INDEX)


def _failures(typed: pl.DataFrame, table_name: str, schema: pa.DataFrameSchema, checks: list[RowCheck]) -> pl.DataFrame:
    """(row index, check name) of every failed check, straight from pandera's failure cases."""
    try:
        schema.validate(typed, lazy=True)
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


class TableValidator:
    """Validates one canonical table a batch at a time (or whole, as one batch): `validate` returns a
    batch's loaded rows, `result` the table's counts, quarantine and data-quality rows. Batches must
    come in file order (the first row with a key is the one kept)."""

    def __init__(self, table_name: str, extract_date: date, patient_ids: pl.Series | KnownKeys | None = None,
                 encounter_ids: pl.Series | KnownKeys | None = None,
                 encounter_owners: KnownKeys | None = None,
                 foreign_duplicates: pl.Series | None = None) -> None:
        self.table = TABLES_BY_NAME[table_name]
        self.checks = checks_for(table_name, extract_date)
        self.schema = schema_for(table_name, extract_date)
        self.rules = pl.DataFrame({"check": [c.name for c in self.checks], "field": [c.field for c in self.checks],
                                   "action": [c.action for c in self.checks],
                                   "reason": [c.reason for c in self.checks]})
        self.patient_ids, self.encounter_ids = _known(patient_ids), _known(encounter_ids)
        self.keys_seen = KnownKeys(pl.Series(dtype=pl.String)) if self.table.key else None
        # encounter_id -> patient_id of its first row in the encounters file (encounter_owners()).
        self.encounter_owners = encounter_owners  # indexed once by the caller (cramp_audit/load.py)
        # Source rows (row_keys) whose key came first in another shard of a sharded run (cramp_audit/shards.py).
        self.foreign_duplicates = foreign_duplicates
        self.rows_read = self.rows_loaded = self.rows_rejected = self.rows_repaired = 0
        self.failed_checks: Counter[str] = Counter()
        self.values_present: Counter[str] = Counter()
        self.values_parsed: Counter[str] = Counter()
        self.file_rows: Counter[tuple[str, str]] = Counter()  # (source file, "rows_read" / "rows_loaded")
        self.latest_event_date: date | None = None
        self.quarantine_parts: list[pl.DataFrame] = []

    def _flags(self, frame: pl.DataFrame) -> dict[str, pl.Series | pl.Expr]:
        """The flags that need more than the row: first row with its key, patient / encounter known."""
        table, flags = self.table, {}
        if self.keys_seen is not None:
            keys = frame[table.key]
            hashes = key_hashes(keys)
            seen = self.keys_seen.contains(keys, hashes).fill_null(self.keys_seen.has_null)
            first = first_distinct(keys, hashes) & ~seen
            if self.foreign_duplicates is not None:
                first = first & ~row_keys(frame).is_in(self.foreign_duplicates.implode())
            flags[KEY_FIRST] = first
            self.keys_seen.add(keys, hashes)
        if table.name != "patients":
            known = self.patient_ids.contains(frame["patient_id"]) if self.patient_ids is not None else pl.lit(True)
            flags[PATIENT_KNOWN] = known
        if "encounter_id" in table.column_names and table.name != "encounters":
            encounter = frame["encounter_id"]
            hashes = key_hashes(encounter)
            known = (self.encounter_ids.contains(encounter, hashes) if self.encounter_ids is not None
                     else pl.lit(True))
            own = pl.Series([True] * frame.height, dtype=pl.Boolean)
            if self.encounter_owners is not None:
                owner = self.encounter_owners.value_of(encounter, hashes)
                own = (owner.is_null() | (owner == frame["patient_id"])).fill_null(True)
            # Another patient's encounter is reported as that, not also as unknown.
            flags[ENCOUNTER_KNOWN] = encounter.is_null() | known | ~own
            flags[ENCOUNTER_OWN] = own
        return flags

    def validate(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A canonical string frame (as an adapter returns it) → its rows to load, typed."""
        typed = _typed(frame, self.table.name, self._flags(frame))
        failures = _failures(typed, self.table.name, self.schema, self.checks).join(self.rules, on="check")

        rejected_rows = failures.filter(pl.col("action") == REJECTED)[ROW_INDEX].unique()
        # A rejected row reports why it was rejected; repairs only concern rows that are loaded.
        failures = failures.filter((pl.col("action") == REJECTED) |
                                   ~pl.col(ROW_INDEX).is_in(rejected_rows.implode()))
        repairs = failures.filter(pl.col("action") == REPAIRED)
        loaded = typed
        if rejected_rows.len():  # most batches reject nothing: no copy of every column then
            loaded = typed.filter(~pl.col(ROW_INDEX).is_in(rejected_rows.implode()))
        loaded = _repaired(loaded, repairs, self.table.name).select(*self.table.column_names, SOURCE_FILE, SOURCE_ROW)

        self.rows_rejected += rejected_rows.len()
        self.rows_repaired += repairs[ROW_INDEX].n_unique()
        self._count(frame, typed, loaded, failures)
        self.quarantine_parts.append(_quarantine_rows(frame, failures, self.table.name))
        return loaded

    def _count(self, frame: pl.DataFrame, typed: pl.DataFrame, loaded: pl.DataFrame, failures: pl.DataFrame) -> None:
        self.rows_read += frame.height
        self.rows_loaded += loaded.height
        self.failed_checks.update(dict(failures.group_by("check").len().iter_rows()))
        for col in self.table.columns:
            if col.dtype in ("date", "number"):
                self.values_present[col.name] += typed.height - typed[raw(col.name)].null_count()
                self.values_parsed[col.name] += typed.height - typed[col.name].null_count()
        if self.table.event_dates and loaded.height:
            latest = loaded.select(pl.max_horizontal(self.table.event_dates).max()).item()
            if latest is not None and (self.latest_event_date is None or latest > self.latest_event_date):
                self.latest_event_date = latest
        for name, part in (("rows_read", frame), ("rows_loaded", loaded)):
            for source_file, rows in _rows_per_file(part).items():
                self.file_rows[(source_file, name)] += rows

    def result(self, loaded: pl.DataFrame | None = None) -> TableValidation:
        """The table's validation so far (`loaded`: its loaded rows, when the caller kept them)."""
        quarantine = pl.concat(self.quarantine_parts) if self.quarantine_parts else pl.DataFrame(
            schema=QUARANTINE_SCHEMA)
        return TableValidation(
            table_name=self.table.name, loaded=loaded, quarantine=quarantine, data_quality=self._data_quality(),
            rows_read=self.rows_read, rows_loaded=self.rows_loaded, rows_rejected=self.rows_rejected,
            rows_repaired=self.rows_repaired, file_counts=self._file_counts(quarantine),
            values_present=dict(self.values_present), values_parsed=dict(self.values_parsed),
            latest_event_date=self.latest_event_date)

    def _data_quality(self) -> pl.DataFrame:
        """One row per check (rows checked / failed), plus whole-table checks: the table is not empty,
        and each typed column parses somewhere (a column of the wrong type throughout fails here)."""
        names = [c.name for c in self.checks]
        counts = [int(self.failed_checks.get(n, 0)) for n in names]
        names.append("table:not_empty")
        counts.append(1 if self.rows_read == 0 else 0)
        for col in self.table.columns:
            if col.dtype in ("date", "number"):
                names.append(f"{col.name}:parses_in_some_row")
                present, parsed = self.values_present[col.name], self.values_parsed[col.name]
                counts.append(1 if present > 0 and parsed == 0 else 0)
        return _quality_rows(self.table.name, names, self.rows_read, counts)

    def _file_counts(self, quarantine: pl.DataFrame) -> pl.DataFrame:
        """Per source file: rows read and loaded, and the distinct source rows rejected / repaired."""
        files = sorted({source_file for source_file, _ in self.file_rows})
        by_file = {action: dict(quarantine.filter(pl.col("action") == action).group_by("source_file")
                                .agg(pl.col("source_row").n_unique()).iter_rows()) for action in (REJECTED, REPAIRED)}
        return pl.DataFrame({
            SOURCE_FILE: files,
            "rows_read": [self.file_rows[(f, "rows_read")] for f in files],
            "rows_loaded": [self.file_rows[(f, "rows_loaded")] for f in files],
            "rows_rejected": [by_file[REJECTED].get(f, 0) for f in files],
            "rows_repaired": [by_file[REPAIRED].get(f, 0) for f in files]}, schema=FILE_COUNTS_SCHEMA)


def _quality_rows(table_name: str | list[str], check_name: str | list[str], rows_checked: int | list[int],
                  rows_failed: int | list[int]) -> pl.DataFrame:
    """Data-quality rows in TableValidation.data_quality's shape (a scalar argument is repeated on every
    row); a check passes when no row fails it."""
    return pl.DataFrame({"table_name": table_name, "check_name": check_name, "rows_checked": rows_checked,
                         "rows_failed": rows_failed},
                        schema_overrides={"table_name": pl.String, "check_name": pl.String,
                                          "rows_checked": pl.Int64, "rows_failed": pl.Int64},
                        ).with_columns(passed=pl.col("rows_failed") == 0)


def unusable_table_quality(rows_read: dict[str, int]) -> pl.DataFrame:
    """One failed check per optional table without a usable row (table name -> rows read: 0 when its
    file is absent or empty): the rules that need it could not be fully evaluated (the reports name
    them beside this check). Like table:not_empty, a table with no row at all counts as one failure."""
    return _quality_rows(list(rows_read), USABLE_ROWS_CHECK, list(rows_read.values()),
                         [n or 1 for n in rows_read.values()])


def _rows_per_file(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per source file. Mostly one file per table, which a comparison confirms far faster than
    grouping the column (a hash per row)."""
    files = frame[SOURCE_FILE]
    if frame.height and files.null_count() == 0 and (files == files[0]).all():
        return {files[0]: frame.height}
    return dict(frame.group_by(SOURCE_FILE).len().iter_rows())


def _repaired(loaded: pl.DataFrame, repairs: pl.DataFrame, table_name: str) -> pl.DataFrame:
    """The loaded rows with each repaired field nulled."""
    repair_exprs = []
    for field_name in repairs["field"].unique().to_list():
        rows = repairs.filter(pl.col("field") == field_name)[ROW_INDEX].implode()
        repair_exprs.append(pl.when(pl.col(ROW_INDEX).is_in(rows)).then(None).otherwise(pl.col(field_name))
                            .alias(field_name))
        if table_name == "labs" and field_name == "value_numeric":
            # The text of a non-numeric result is evidence ("<0.5", "hemolysed"): keep it in value_text.
            repair_exprs.append(pl.when(pl.col(ROW_INDEX).is_in(rows))
                                .then(pl.coalesce("value_text", pl.col(raw("value_numeric")).cast(pl.String)))
                                .otherwise(pl.col("value_text")).alias("value_text"))
    return loaded.with_columns(repair_exprs) if repair_exprs else loaded


def _quarantine_rows(frame: pl.DataFrame, failures: pl.DataFrame, table_name: str) -> pl.DataFrame:
    if failures.is_empty():
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    table = TABLES_BY_NAME[table_name]
    # The record as the file had it (canonical columns only: no identifier can ride along). Gathered
    # by row index: a join would hash every row of the batch for the few that failed.
    failed_rows = failures[ROW_INDEX].unique().sort()
    records = frame.select(SOURCE_FILE, SOURCE_ROW, *table.column_names)[failed_rows].select(
        failed_rows.alias(ROW_INDEX), SOURCE_FILE, SOURCE_ROW,
        # Every value as text, as a CSV row would give it: a typed Parquet NaN or inf stays "NaN" / "inf"
        # (json_encode would write null) and dates stay ISO strings.
        pl.struct(pl.col(table.column_names).cast(pl.String)).struct.json_encode().alias("record"))
    return failures.join(records, on=ROW_INDEX).sort(SOURCE_ROW, "check").select(
        pl.lit(table_name).alias("table_name"), pl.col(SOURCE_FILE).alias("source_file"),
        pl.col(SOURCE_ROW).cast(pl.Int64).alias("source_row"), "action", "field",
        pl.col("check").alias("check_name"), "reason", "record")
