"""The SQL pipeline's stages, as sql/manifest.toml lists them, and the named statements of
sql/statements.sql. Python runs a stage by its name and never names a step file:

    run_stage(con, "schema")              files, per-table statements and checks, in manifest order
    glob_files("rules")                   the files of a glob step (the rules engine runs each rule
                                          file itself: it checks the header and the result's shape)
    stage_files("prepare")                the files a stage runs (the rule pack checksum reads them)
    tables("loaded", "results")           the manifest's table groups
    statement("set_variable")             one named statement's text
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from cramp_audit import sql

SQL_DIR = Path(sql.__file__).parent
MANIFEST_PATH = SQL_DIR / "manifest.toml"
STATEMENTS_PATH = SQL_DIR / "statements.sql"

_NAME_LINE = re.compile(r"^-- name: (?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class StageCheckError(Exception):
    """A stage's check query returned rows: each is one broken promise (`problems`)."""

    def __init__(self, check: str, problems: list[tuple[Any, ...]]) -> None:
        super().__init__(f"{check}: {len(problems)} problem(s)")
        self.check = check
        self.problems = problems


@dataclass(frozen=True)
class Step:
    kind: str                        # file | each | check | glob
    target: str                      # the file, the statement name or the glob pattern
    tables: tuple[str, ...] = ()     # for `each`: the tables, in group order


@dataclass(frozen=True)
class Stage:
    name: str
    what: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Manifest:
    stages: dict[str, Stage]         # in run order
    table_groups: dict[str, tuple[str, ...]]


def _step(stage: str, raw: str | dict[str, Any], groups: dict[str, tuple[str, ...]]) -> Step:
    if isinstance(raw, str):
        return Step("file", raw)
    if "each" in raw:
        unknown = [g for g in raw["tables"] if g not in groups]
        if unknown:
            raise ValueError(f"sql/manifest.toml, stage {stage}: unknown table groups {unknown}")
        return Step("each", raw["each"], tuple(t for g in raw["tables"] for t in groups[g]))
    for kind in ("check", "glob"):
        if kind in raw:
            return Step(kind, raw[kind])
    raise ValueError(f"sql/manifest.toml, stage {stage}: a step is a file, each, check or glob, not {raw}")


@cache
def manifest() -> Manifest:
    data = tomllib.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    groups = {name: tuple(names) for name, names in data["tables"].items()}
    stages = {name: Stage(name, body.get("what", ""), tuple(_step(name, s, groups) for s in body["steps"]))
              for name, body in data["stages"].items()}
    return Manifest(stages, groups)


def tables(*groups: str) -> tuple[str, ...]:
    """The tables of the manifest's table groups, in group then list order."""
    return tuple(t for g in groups for t in manifest().table_groups[g])


@cache
def _statements() -> dict[str, str]:
    text = STATEMENTS_PATH.read_text(encoding="utf-8")
    starts = list(_NAME_LINE.finditer(text))
    blocks = {m["name"]: text[m.end():nxt.start() if nxt else len(text)].strip()
              for m, nxt in zip(starts, [*starts[1:], None], strict=True)}
    if len(blocks) != len(starts):
        raise ValueError("sql/statements.sql: a statement name is used twice")
    return blocks


def statement(name: str) -> str:
    """The text of one named statement of sql/statements.sql (its `-- name: x` block)."""
    try:
        return _statements()[name]
    except KeyError:
        raise KeyError(f"sql/statements.sql has no statement {name!r}") from None


def stage(name: str) -> Stage:
    try:
        return manifest().stages[name]
    except KeyError:
        raise KeyError(f"sql/manifest.toml has no stage {name!r}") from None


def glob_files(name: str, root: Path = SQL_DIR) -> list[Path]:
    """The files the stage's glob steps find, in name order (`root`: where the pattern is read, sql/)."""
    return [path for step in stage(name).steps if step.kind == "glob" for path in sorted(root.glob(step.target))]


def stage_files(name: str) -> list[Path]:
    """Every file a stage runs (files, checks and globbed files), in run order."""
    files: list[Path] = []
    for step in stage(name).steps:
        if step.kind in ("file", "check"):
            files.append(SQL_DIR / step.target)
        elif step.kind == "glob":
            files += sorted(SQL_DIR.glob(step.target))
    return files


def run_stage(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Runs the stage's steps in order. A check step raises StageCheckError when its query returns
    rows. A stage of glob steps (rules) is run by its engine, not here."""
    for step in stage(name).steps:
        if step.kind == "file":
            con.execute((SQL_DIR / step.target).read_text(encoding="utf-8"))
        elif step.kind == "each":
            text = statement(step.target)
            for table in step.tables:
                con.execute(text.format(table=table))
        elif step.kind == "check":
            problems = con.execute((SQL_DIR / step.target).read_text(encoding="utf-8")).fetchall()
            if problems:
                raise StageCheckError(step.target, problems)
        else:
            raise TypeError(f"stage {name}: a glob step's files are run by their engine (glob_files)")
