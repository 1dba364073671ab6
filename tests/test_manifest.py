"""sql/manifest.toml is the whole SQL pipeline: every step file it names exists, every SQL file of the
stage folders is a step (nothing runs from Python behind its back), and an output table named in it is
created, shown as audit.latest_<table> and published by the stages alone."""

from __future__ import annotations

import duckdb
import pytest

from cramp_audit.db import initialise
from cramp_audit.stages import SQL_DIR, manifest, run_stage, stage_files, statement, tables

STAGE_FOLDERS = ("schema", "prepare", "decide")


def test_the_stages_run_in_the_documented_order() -> None:
    assert list(manifest().stages) == ["schema", "load", "candidates", "prepare", "rules", "decide", "publish"]


def test_every_sql_file_of_the_stage_folders_is_a_step_and_every_step_exists() -> None:
    steps = {path for name in manifest().stages for path in stage_files(name)}
    assert all(path.is_file() for path in steps)
    on_disk = {path for folder in STAGE_FOLDERS for path in (SQL_DIR / folder).glob("*.sql")}
    assert sorted(p.relative_to(SQL_DIR).as_posix() for p in on_disk - steps) == []
    assert len(stage_files("rules")) >= 12  # the glob finds the rule pack


def test_every_published_table_has_its_table_and_latest_view() -> None:
    con = duckdb.connect()
    initialise(con)
    found = set(con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'audit'").fetchall())
    views = set(con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'audit'").fetchall())
    for table in tables("loaded", "results"):
        assert (table,) in found and (f"latest_{table}",) in views, table


def test_the_publish_stage_copies_each_published_table() -> None:
    con = duckdb.connect()
    initialise(con)
    for table in tables("loaded", "results"):
        con.execute(f"CREATE OR REPLACE TABLE work.{table} AS SELECT * FROM audit.{table} LIMIT 0")
    con.execute("INSERT INTO work.rule_strata (run_id, rule_id, stratum, value) VALUES ('r', 'LC-X', 'sex', 'F')")
    run_stage(con, "publish")
    assert con.execute("SELECT run_id, rule_id, stratum, value FROM audit.rule_strata").fetchall() == [
        ("r", "LC-X", "sex", "F")]


def test_an_unknown_statement_or_stage_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="no statement 'nope'"):
        statement("nope")
    with pytest.raises(KeyError, match="no stage 'nope'"):
        run_stage(duckdb.connect(), "nope")
