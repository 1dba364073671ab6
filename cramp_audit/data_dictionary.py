"""The data dictionary (docs/data-dictionary.md): every audit.* table, view and column with the
COMMENT sql/comments.sql gives it, read back from DuckDB's catalog of a database initialised in
memory, so the page says exactly what an analyst's client shows.

    python -m cramp_audit.data_dictionary > docs/data-dictionary.md    (make catalogue)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from cramp_audit.db import initialise, sql_text

SCHEMA = "audit"
# Views that show one table's rows for the newest run: listed, not repeated column by column.
LATEST_PREFIX = "latest_"
DICTIONARY_PATH = "docs/data-dictionary.md"


Column = tuple[str, str, str | None]  # name, type, comment


@dataclass(frozen=True)
class CatalogObject:
    name: str
    kind: str  # table / view
    comment: str | None
    columns: list[Column]


def catalog(con: duckdb.DuckDBPyConnection) -> list[CatalogObject]:
    """Every audit table and view with its comment and columns, tables first, each kind in creation
    order."""
    objects = con.execute(sql_text("reports/dictionary_objects.sql"), {"schema": SCHEMA}).fetchall()
    columns = con.execute(sql_text("reports/dictionary_columns.sql"), {"schema": SCHEMA}).fetchall()
    by_object: dict[str, list[Column]] = {}
    for table_name, column_name, data_type, comment in columns:
        by_object.setdefault(table_name, []).append((column_name, data_type, comment))
    return [CatalogObject(name, kind, comment, by_object.get(name, [])) for name, kind, comment, _ in objects]


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _column_rows(columns: Iterable[Column]) -> tuple[list[str], list[str]]:
    """The column table's rows, and the notes below it for comments longer than one line (the
    first line stays in the table)."""
    rows, notes = ["| column | type | meaning |", "|---|---|---|"], []
    for name, data_type, comment in columns:
        first, *more = (comment or "").split("\n")
        rows.append(f"| `{name}` | {data_type} | {_cell(first)}{' (below)' if more else ''} |")
        if more:
            notes += ["", f"`{name}`:", "", *(f"- {_cell(line)}" for line in more if line.strip())]
    return rows, notes


def markdown(con: duckdb.DuckDBPyConnection) -> str:
    objects = catalog(con)
    lines = [
        "# Data dictionary",
        "",
        f"Every table and view of the `{SCHEMA}` schema of a cramp-audit database, with its columns. "
        "Generated from the DuckDB comments (`sql/comments.sql`) by `python -m cramp_audit.data_dictionary` "
        "(`make catalogue`); do not edit by hand. In any DuckDB client the same text is in "
        "`duckdb_tables()`, `duckdb_views()` and `duckdb_columns()` (column `comment`).",
        "",
    ]
    latest = [o for o in objects if o.name.startswith(LATEST_PREFIX)]
    for o in objects:
        if o in latest:
            continue
        rows, notes = _column_rows(o.columns)
        lines += [f"## {SCHEMA}.{o.name} ({o.kind})", "", _cell(o.comment), "", *rows, *notes, ""]
    if latest:
        lines += ["## Views of the newest run", "",
                  "Each has the columns of the table it is named after, with `source_path` second "
                  "(`latest_runs` has audit.runs' own).", ""]
        lines += [f"- `{SCHEMA}.{o.name}`: {_cell(o.comment)}" for o in latest]
        lines.append("")
    return "\n".join(lines)


def generate() -> str:
    """The dictionary of the schema as this code creates it."""
    con = duckdb.connect()
    try:
        initialise(con)
        return markdown(con)
    finally:
        con.close()


def main() -> int:
    sys.stdout.write(generate())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
