"""`cramp-audit sql`: SQL on the audit database for users without a DuckDB client.

The database is opened read-only (a prompt left open must not be able to change a committee's
results, and DuckDB lets several read-only processes share the file); `audit.runs`,
`audit.latest_rule_results`, `staging.labs` ... resolve as the README writes them. `-c QUERY` runs
one query (or a few, separated by `;`: the last one's rows are printed) and exits; without it the
command reads statements ending in `;` from standard input, a prompt when that is a terminal."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from typing import TextIO

import duckdb

from cramp_audit.db import connect, first_line

MAX_ROWS = 1000  # rows printed per result; DuckDB shows the first and last ones past that


class SqlError(Exception):
    """A statement DuckDB refused (a typo, an unknown table): one line, exit 2."""


def run_command(db_path: str, query: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    con = connect(db_path, read_only=True)
    try:
        execute(con, query, out)
    finally:
        con.close()


def run_prompt(db_path: str, source: TextIO | None = None, out: TextIO | None = None,
               err: TextIO | None = None) -> int:
    """Reads statements until end of input (standard input by default); each error is one line on
    `err` and the next statement runs. Returns how many statements failed."""
    source, out, err = source or sys.stdin, out or sys.stdout, err or sys.stderr
    interactive = source.isatty()
    if interactive:
        import readline  # noqa: F401 - line editing and history for input()

        print(f"cramp-audit sql on {db_path} (read-only). End each statement with ';'. Ctrl-D quits.", file=out)
    con = connect(db_path, read_only=True)
    failures = 0
    try:
        for statement in _statements(source, interactive):
            try:
                execute(con, statement, out)
            except SqlError as exc:
                failures += 1
                print(f"error: {exc}", file=err, flush=True)
    finally:
        con.close()
    return failures


def execute(con: duckdb.DuckDBPyConnection, query: str, out: TextIO) -> None:
    """Runs the text and prints the last statement's rows as a table (nothing for a statement
    without rows)."""
    try:
        relation = con.sql(query)
        if relation is None:
            return
        text = _render(relation, out)
    except duckdb.Error as exc:
        raise SqlError(first_line(str(exc))) from None
    finally:
        relation = None  # noqa: F841 - no relation outlives its statement
    print(text, file=out, flush=True)


def _render(relation: duckdb.DuckDBPyRelation, out: TextIO) -> str:
    import contextlib
    import io

    width = shutil.get_terminal_size().columns if out.isatty() else 10_000
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        relation.show(max_width=width, max_rows=MAX_ROWS)
    return buffer.getvalue().rstrip("\n")


def _statements(source: TextIO, interactive: bool) -> Iterator[str]:
    """Statements as typed: lines gathered until one ends with ';' (and whatever is left at the end)."""
    pending: list[str] = []
    while (line := _read_line(source, interactive, continuing=bool(pending))) is not None:
        pending.append(line)
        if line.rstrip().endswith(";"):
            statement, pending = "".join(pending).strip(), []
            if statement.strip(";").strip():
                yield statement
    rest = "".join(pending).strip()
    if rest:
        yield rest


def _read_line(source: TextIO, interactive: bool, continuing: bool) -> str | None:
    """The next line, or None at the end of input (Ctrl-D at the prompt)."""
    if not interactive:
        return source.readline() or None
    try:
        return input(" ..> " if continuing else "sql> ") + "\n"
    except EOFError:
        print()
        return None
