"""The planted-deviation check: the generator writes the (patient_id, rule_id) pairs an audit must
flag beside the extract; the audit's distinct (patient_id, rule_id) deviations must equal them."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from bench.results import PlantedCheck
from cramp_audit.db import connect

FOUND = "SELECT DISTINCT patient_id, rule_id FROM audit.deviations WHERE run_id = ?"


def check_planted(extract: Path, db_path: Path, run_id: str) -> PlantedCheck:
    planted = pl.read_csv(extract / "planted_deviations.csv", schema_overrides={"patient_id": pl.String})
    expected = set(planted.select("patient_id", "rule_id").iter_rows())
    con = connect(db_path, read_only=True)
    try:
        found = set(con.execute(FOUND, [run_id]).fetchall())
    finally:
        con.close()
    return PlantedCheck(len(expected), len(found), len(expected - found), len(found - expected))
