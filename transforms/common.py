"""What the source adapters (synthea, omop, mimic, fhir) share: scanning a source file lazily with
its row numbers, building the exact canonical frame (the one place that keeps identifiers out:
only canonical columns are ever selected), counting rows left out on purpose, and the few
derivations more than one adapter needs (date part, drug strength and route from a drug description,
site attribution; code-system tokens are schemas/code_systems.py's)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from cramp_audit.schemas.spec import SOURCE_FILE, SOURCE_ROW, TABLES, Table
from cramp_audit.transforms.base import Extract, ExtractError, Skipped, batch_size
from cramp_audit.transforms.files import extract_error, file_error, find_table_file, refuse_lossy_header, stream_batches

CSV_SUFFIXES = (".csv", ".csv.gz")
SKIP_REASON = "_skip_reason"


def text_null() -> pl.Expr:
    return pl.lit(None, dtype=pl.String)


# ------------------------------------------------------------------------------------ source files

@dataclass(frozen=True)
class SourceFile:
    """One source file as a lazy frame: lower-case column names, every value a string, tagged with
    `_source_file` (path relative to the extract folder) and `_source_row` (1-based, header excluded)."""

    path: Path
    name: str
    frame: pl.LazyFrame
    columns: frozenset[str]

    def col(self, name: str) -> pl.Expr:
        """A column, or all-missing when this file lacks it (optional columns vary by version)."""
        return pl.col(name) if name in self.columns else text_null()

    def require(self, *names: str) -> None:
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise ExtractError(f"{self.path}: required column '{missing[0]}' missing "
                               f"(expected at least {', '.join(names)})")


def relative_name(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def find_csv(folder: Path, stem: str) -> Path | None:
    """`<stem>.csv` or `<stem>.csv.gz`, file name matched case-insensitively."""
    return find_table_file(folder, stem, CSV_SUFFIXES) if folder.is_dir() else None


def scan_csv(path: Path, root: Path) -> SourceFile:
    """Lazy scan (no schema inference: every value stays text, so leading zeros of NDC codes or
    ids survive and validation sees exactly what the file had). UTF-8, strictly: a byte that is not
    UTF-8 refuses the extract naming file and line (as the canonical format does), where a lossy
    read would turn it into U+FFFD and silently change the id or code it is part of."""
    name = relative_name(path, root)
    frame = pl.scan_csv(
        path, infer_schema=False, encoding="utf8", raise_if_empty=False,
        with_column_names=lambda cols: [c.strip().lstrip("\ufeff").lower() for c in cols],
        row_index_name=SOURCE_ROW, row_index_offset=1,
    )
    try:
        columns = frame.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise file_error(path, str(path), exc) from exc
    refuse_lossy_header(path, str(path), columns)
    frame = frame.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64), pl.lit(name).alias(SOURCE_FILE))
    return SourceFile(path, name, frame, frozenset(columns) - {SOURCE_ROW})


def require_file(folder: Path, stem: str, expected: str) -> Path:
    path = find_csv(folder, stem)
    if path is None:
        raise ExtractError(f"{folder / (stem + '.csv')}: required file missing ({expected})")
    return path


# ------------------------------------------------------------------------------- value derivations

def date_part(value: pl.Expr) -> pl.Expr:
    """`2023-01-27T16:17:47Z` -> `2023-01-27`; the local date as recorded (no time-zone shift).
    Anything else passes through, so validation reports what the source had."""
    text = value.cast(pl.String).str.strip_chars()
    return pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}")).then(text.str.slice(0, 10)).otherwise(text)


def row_order_id(stem: str) -> pl.Expr:
    """A stable order id for sources that have none: `<table>:<source row>` (same file, same id)."""
    return pl.concat_str(pl.lit(f"{stem}:"), pl.col(SOURCE_ROW).cast(pl.String))


def number_text(value: pl.Expr) -> pl.Expr:
    """A computed number as text, without a trailing `.0` for whole numbers."""
    return value.cast(pl.String).str.replace(r"\.0$", "")


# One strength in an RxNorm-style name ("Baclofen 10 MG Oral Tablet"); a unit followed by "/" is a
# concentration ("1 MG/ML"), not an amount per unit of the dose form, so it does not match.
_STRENGTH = r"(?i)(\d+(?:\.\d+)?)\s*(MG|G|MCG|UG|MEQ|MMOL|UNT|IU)(?:\s|$|\))"
_STRENGTH_UNITS = {"mg": "mg", "g": "g", "mcg": "mcg", "ug": "mcg", "meq": "mEq", "mmol": "mmol",
                   "unt": "unit", "iu": "IU"}


def strength_from_description(description: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(amount, unit) of the single strength a drug description names, else (null, null):
    combination products name several and are left unknown rather than picking one."""
    single = description.str.count_matches(_STRENGTH) == 1
    match = description.str.extract_groups(_STRENGTH)
    amount = pl.when(single).then(match.struct.field("1"))
    unit = pl.when(single).then(match.struct.field("2").str.to_lowercase().replace_strict(
        _STRENGTH_UNITS, default=None, return_dtype=pl.String))
    return amount, unit


# RxNorm dose forms name the route ("Oral Tablet", "Injectable Solution"); first match wins.
_ROUTES_BY_DOSE_FORM = (
    (r"(?i)inject|syringe|cartridge|\bpen\b", "parenteral"),
    (r"(?i)sublingual", "sublingual"),
    (r"(?i)\boral\b|chewable", "oral"),
    (r"(?i)transdermal", "transdermal"),
    (r"(?i)topical|cream|ointment|lotion", "topical"),
    (r"(?i)inhal", "inhalation"),
    (r"(?i)nasal", "nasal"),
    (r"(?i)ophthalmic", "ophthalmic"),
    (r"(?i)\botic\b", "otic"),
    (r"(?i)rectal|suppositor|enema", "rectal"),
    (r"(?i)vaginal", "vaginal"),
)


def route_from_description(description: pl.Expr) -> pl.Expr:
    route = text_null()
    for pattern, name in reversed(_ROUTES_BY_DOSE_FORM):
        route = pl.when(description.str.contains(pattern)).then(pl.lit(name)).otherwise(route)
    return route


def attributed_site(encounters: pl.LazyFrame) -> pl.LazyFrame:
    """(patient_id, site_id): the site where the patient had most encounters, ties going to the
    most recent one. Used where a source attributes no site to the patient itself."""
    per_site = (encounters.filter(pl.col("patient_id").is_not_null() & pl.col("site_id").is_not_null())
                .group_by("patient_id", "site_id")
                .agg(pl.len().alias("_visits"), pl.col("start_date").max().alias("_latest")))
    return per_site.group_by("patient_id").agg(
        pl.col("site_id").sort_by("_visits", "_latest", "site_id", descending=[True, True, False],
                                  nulls_last=True).first())


# --------------------------------------------------------------------------- canonical frames

def _as_text(value: pl.Expr, free_text: bool) -> pl.Expr:
    """A canonical text column: blank = null; trimmed unless it is free text (spec.Column.free_text)."""
    text = value.cast(pl.String)
    text = text if free_text else text.str.strip_chars()
    return pl.when(text != "").then(text)


def canonical_frame(frame: pl.LazyFrame, table: Table, values: Mapping[str, pl.Expr],
                    keep: tuple[str, ...] = ()) -> pl.LazyFrame:
    """Exactly the table's canonical columns (String, blank = null) plus the source tags (and the
    `keep` columns, e.g. the skip reason); columns not in `values` are all-missing. Nothing else of
    the source can get through."""
    unknown = set(values) - set(table.column_names)
    if unknown:
        raise ValueError(f"not columns of {table.name}: {sorted(unknown)}")
    return frame.select(
        *[_as_text(values.get(c.name, text_null()), c.free_text).alias(c.name) for c in table.columns],
        pl.col(SOURCE_FILE), pl.col(SOURCE_ROW), *[pl.col(c) for c in keep],
    )


@dataclass(frozen=True)
class Part:
    """One source file's contribution to one canonical table: every row in canonical form and, when
    the source leaves rows out on purpose, a SKIP_REASON column (null = kept). The read streams
    `tagged` itself, so rows and skip counts come out of one pass over the source."""

    table: Table
    source: str
    tagged: pl.LazyFrame
    has_skips: bool
    path: Path | None = None  # the source file, looked at first when reading the part fails

    @property
    def rows(self) -> pl.LazyFrame:
        """The rows kept (for a plan that needs them, e.g. a site attributed from the encounters)."""
        if not self.has_skips:
            return self.tagged
        return self.tagged.filter(pl.col(SKIP_REASON).is_null()).drop(SKIP_REASON)


def part(table: Table, source: SourceFile, frame: pl.LazyFrame, values: Mapping[str, pl.Expr],
         skip_reason: pl.Expr | None = None) -> Part:
    """`skip_reason` is an expression that is null for a row to keep and says why otherwise."""
    if skip_reason is None:
        return Part(table, source.name, canonical_frame(frame, table, values), has_skips=False, path=source.path)
    tagged = frame.with_columns(skip_reason.alias(SKIP_REASON))
    return Part(table, source.name, canonical_frame(tagged, table, values, keep=(SKIP_REASON,)), has_skips=True,
                path=source.path)


def _refuse_unsourced_tables(parts: list[Part], fmt: str) -> None:
    # A required table with no source at all must stop the run (before anything is read): audited as
    # empty, it would report "no quinine prescribed" for an extract that simply had no medication file.
    sourced = {p.table.name for p in parts}
    missing = [t.name for t in TABLES if t.required_file and t.name not in sourced]
    if missing:
        raise ExtractError(f"the {fmt} extract has no source for the required table '{missing[0]}' "
                           "(extract-format.md: patients, diagnoses and medications are required)")


def _files_to_blame(parts: Iterable[Part], files: Iterable[Path | str]) -> list[Path]:
    """The files a failed read may have failed on: the parts' own first, then the extract's others."""
    ordered = [p.path for p in parts if p.path is not None] + [Path(f) for f in files]
    return list(dict.fromkeys(ordered))


def build_extract(fmt: str, parts: Iterable[Part], files: Iterable[Path], extract_date: date | None = None,
                  extra_skipped: Iterable[Skipped] = (), batch_rows: int | None = None) -> Extract:
    """The extract an adapter's per-file parts make: each table's parts are streamed in order when
    its batches are asked for, batch_rows rows at a time, so memory is bounded by a batch whatever
    the size of the source. Rows and skip counts come from one pass: `skipped` is complete once
    every table has been read (per part in order and reason, then extra_skipped)."""
    parts = list(parts)
    files = list(files)
    _refuse_unsourced_tables(parts, fmt)
    rows = batch_size(batch_rows)
    extra = list(extra_skipped)
    skipped: list[Skipped] = list(extra)
    by_part: dict[int, list[Skipped]] = {}

    def part_batches(index: int, p: Part) -> Iterator[pl.DataFrame]:
        if not p.has_skips:
            yield from _stream(p.tagged, fmt, rows, _files_to_blame([p], files))
            return
        counts: Counter[str] = Counter()
        for batch in _stream(p.tagged, fmt, rows, _files_to_blame([p], files)):
            left_out = batch.filter(pl.col(SKIP_REASON).is_not_null())
            if left_out.height:
                counts.update(dict(left_out.group_by(SKIP_REASON).len().iter_rows()))
                batch = batch.filter(pl.col(SKIP_REASON).is_null())
            yield batch.drop(SKIP_REASON)
        # Set, not appended: reading a table twice must not count its skips twice.
        by_part[index] = [Skipped(p.table.name, p.source, n, reason) for reason, n in sorted(counts.items())]
        skipped[:] = [s for i in sorted(by_part) for s in by_part[i]] + extra

    def table_batches(table_name: str) -> Iterator[pl.DataFrame]:
        for index, p in enumerate(parts):
            if p.table.name == table_name:
                yield from part_batches(index, p)

    sourced = {p.table.name for p in parts}
    tables = {t.name: (lambda name=t.name: table_batches(name)) for t in TABLES if t.name in sourced}
    return Extract(fmt, tables, skipped, extract_date, sorted({str(p) for p in files}))


def _stream(plan: pl.LazyFrame, fmt: str, batch_rows: int, files: list[Path]) -> Iterator[pl.DataFrame]:
    try:
        yield from stream_batches(plan, batch_rows)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise extract_error(exc, fmt, files) from exc
