"""Reading an NDJSON file at scale into the fields an adapter asks for, lazily: lines are read in
batches by polars (numbered) and each batch's fields are taken by DuckDB's JSON functions in one
parse per line, as the batches stream through. A line that is not valid JSON gives nulls; a blank
line is flagged. NDJSON is UTF-8 (RFC 8259) and is read strictly, as every CSV reader is: a byte that
is not UTF-8 refuses the extract naming file and line, where replacing it would silently change the
id or code it is part of."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl
from cramp_audit.schemas.spec import SOURCE_FILE, SOURCE_ROW
from cramp_audit.transforms.files import file_error

# The adapter's SQL beside it: one batch's fields at their JSONPaths.
NDJSON_FIELDS_SQL = (Path(__file__).parent / "ndjson_fields.sql").read_text(encoding="utf-8")
BATCH_LINES = 250_000
BLANK = "_blank_line"
# A separator no JSON text contains unescaped, so each line arrives as one column.
_UNIT_SEPARATOR = "\x1f"


def _lines(path: Path) -> pl.LazyFrame:
    return pl.scan_csv(
        path, has_header=False, separator=_UNIT_SEPARATOR, quote_char=None, schema={"line": pl.String},
        truncate_ragged_lines=True, encoding="utf8", empty_string_is_null=False,
        row_index_name=SOURCE_ROW, row_index_offset=1,
    )


def scan_fields(path: Path, source_name: str, paths: Mapping[str, str]) -> pl.LazyFrame:
    """One row per line, lazily (streamed batch by batch when collected, so a file of any size fits in
    memory): `_source_row` (line number), `_source_file`, `_blank_line`, and one text column per entry
    of `paths` (name -> JSONPath; objects and arrays come back as JSON text)."""
    names = list(paths)
    query = NDJSON_FIELDS_SQL.format(source_row=SOURCE_ROW, blank=BLANK)
    json_paths = {"paths": list(paths.values())}

    def extract(lines: pl.DataFrame) -> pl.DataFrame:  # `lines` is read by name by the query
        # Its own connection per batch: polars may call this from several threads at once.
        connection = duckdb.connect()
        try:
            return connection.sql(query, params=json_paths).pl()
        finally:
            connection.close()

    extracted = _lines(path).map_batches(
        extract, streamable=True,
        schema={SOURCE_ROW: pl.UInt32, BLANK: pl.Boolean, "_fields": pl.List(pl.String)})
    return extracted.select(
        pl.col(SOURCE_ROW).cast(pl.Int64), pl.lit(source_name).alias(SOURCE_FILE), pl.col(BLANK),
        *[pl.col("_fields").list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(names)],
    )


def read_fields(path: Path, source_name: str, paths: Mapping[str, str]) -> pl.DataFrame:
    """scan_fields collected (errors as one ExtractError line naming the file)."""
    try:
        return scan_fields(path, source_name, paths).collect()
    except (OSError, pl.exceptions.PolarsError, duckdb.Error) as exc:
        raise file_error(path, str(path), exc) from exc
