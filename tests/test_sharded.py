"""`cramp-audit run --shards N` (issue 15): the audit sharded by patient on a Dask cluster publishes the
same rows as the single-process run, on the bundled sample and on a generated extract of a few thousand
patients; a duplicate key in two shards and an encounter of another patient are quarantined as a single
run quarantines them; `--dask` works against a scheduler started here and is refused without a server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE, cramp_audit, prefect_env
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract

# Every table the issue names, compared row for row (run ids aside, in a sorted order: a table's rows
# have none of their own), plus the cohort, its attrition and the data-quality checks.
COMPARED = ("patient_rules", "deviations", "rule_results", "quarantine", "table_counts", "cohort",
            "cohort_attrition", "data_quality")


def published(db: Path) -> dict[str, list[tuple]]:
    from cramp_audit.db import connect

    con = connect(db, read_only=True)
    try:
        [(run_id,)] = con.execute("SELECT run_id FROM audit.runs WHERE status = 'succeeded'").fetchall()
        rows = {}
        for table in COMPARED:
            columns = [c for c in con.sql(f"SELECT * FROM audit.{table} LIMIT 0").columns
                       if c != "run_id"]
            found = con.execute(f"SELECT {', '.join(columns)} FROM audit.{table} WHERE run_id = ?",
                                [run_id]).fetchall()
            rows[table] = sorted(found, key=lambda row: [(value is None, str(value)) for value in row])
        rows["runs"] = con.execute("SELECT shards, cluster, rows_read, rows_loaded, rows_quarantined, "
                                   "period_start, period_end, extract_date, source_checksum FROM audit.runs").fetchall()
        return rows
    finally:
        con.close()


def run(source: Path, work: Path, env: dict[str, str], *options: str) -> dict[str, list[tuple]]:
    done = cramp_audit("run", str(source), "--db", str(work / "cramp_audit.duckdb"), "--reports", str(work / "reports"),
                       *options, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return published(work / "cramp_audit.duckdb")


def assert_same(single: dict, sharded: dict, shards: int, cluster: str) -> None:
    for table in COMPARED:
        assert sharded[table] == single[table], table
    [(one, no_cluster, *facts)] = single["runs"]
    [(n, where, *sharded_facts)] = sharded["runs"]
    assert (one, no_cluster, n, where) == (1, None, shards, cluster)
    assert sharded_facts == facts  # counts reconcile per run, period, extract date, checksum


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from cramp_audit.data_samples import generate

    out = tmp_path_factory.mktemp("generated") / "extract"
    generate.generate(generate.Config(patients=3000, out=out))
    return out


def test_sample_sharded_on_a_local_cluster_publishes_the_single_run_rows(tmp_path, prefect_home):
    single = run(SAMPLE, tmp_path / "one", prefect_env(prefect_home(tmp_path / "home-1")), "--no-prefect")
    done_env = prefect_env(prefect_home(tmp_path / "home-4"))  # local mode: the run starts its own server
    sharded = run(SAMPLE, tmp_path / "four", done_env, "--shards", "4")
    assert_same(single, sharded, 4, "local")
    assert not any((tmp_path / "four").glob(".cramp-audit-work/*")), "the shards' work folder is left behind"


def test_generated_extract_sharded_publishes_the_single_run_rows(tmp_path, generated, prefect_server):
    env = prefect_env(tmp_path / "home", prefect_server)
    single = run(generated, tmp_path / "one", env, "--shards", "1", "--no-prefect")  # the same steps, quicker
    sharded = run(generated, tmp_path / "four", env, "--shards", "4")
    assert len(single["cohort"]) > 100 and single["quarantine"]
    assert_same(single, sharded, 4, "local")


def test_checks_across_shards_are_settled_as_in_one_run(tmp_path, prefect_server):
    import duckdb
    import polars as pl

    from cramp_audit.shards import shard_ids

    # Patients that land in different shards of 2, found with the shard hash itself.
    ids = [f"P{i}" for i in range(20)]
    shard = shard_ids(duckdb.connect(), pl.DataFrame({"patient_id": ids}), 2).to_list()
    a, b = ids[shard.index(0)], ids[shard.index(1)]
    patients = [{**DEFAULT_PATIENT, "patient_id": p} for p in (a, b)]
    encounters = [{"encounter_id": "E1", "patient_id": a, "start_date": "2025-03-01"},
                  {"encounter_id": "E1", "patient_id": b, "start_date": "2025-03-02"},  # E1 again, other shard
                  {"encounter_id": "E2", "patient_id": b, "start_date": "2025-03-02"}]
    diagnoses = [{**DEFAULT_DIAGNOSIS, "patient_id": p} for p in (a, b)] + [
        {**DEFAULT_DIAGNOSIS, "patient_id": a, "encounter_id": "E2"}]  # b's encounter
    medications = [{**DEFAULT_MEDICATION, "patient_id": b, "order_id": "O1"},
                   {**DEFAULT_MEDICATION, "patient_id": a, "order_id": "O1"}]  # O1 again, other shard
    # a's one lab value is text, b's a number: value_numeric parses in some row of the extract.
    labs = [{"patient_id": p, "code_system": "LOINC", "code": "19123-9", "collected_date": "2025-03-01",
             "value_numeric": value, "unit": "mg/dL"} for p, value in ((a, "hemolysed"), (b, "2.0"))]
    source = write_extract(tmp_path / "x", patients=patients, encounters=encounters, diagnoses=diagnoses,
                           medications=medications, labs=labs)
    env = prefect_env(tmp_path / "home", prefect_server)
    single = run(source, tmp_path / "one", env)
    reasons = {(r[0], r[2], r[7]) for r in single["quarantine"]}
    assert reasons >= {("encounters", 2, "encounter_id:duplicate"), ("medications", 2, "order_id:duplicate"),
                       ("diagnoses", 3, "encounter_id:other_patient")}
    sharded = run(source, tmp_path / "two", env, "--shards", "2")
    assert_same(single, sharded, 2, "local")


def test_an_extract_without_encounters_is_sharded_as_one_run(tmp_path, prefect_server):
    """encounters.csv is optional: without it there are no owners to check rows against, in a shard
    as in a single run (the partition once failed on it)."""
    patients = [{**DEFAULT_PATIENT, "patient_id": f"P{i}"} for i in range(8)]
    diagnoses = [{**DEFAULT_DIAGNOSIS, "patient_id": f"P{i}", "encounter_id": f"E{i}"} for i in range(8)]
    medications = [{**DEFAULT_MEDICATION, "patient_id": f"P{i}", "order_id": f"O{i % 6}"} for i in range(8)]
    source = write_extract(tmp_path / "x", patients=patients, diagnoses=diagnoses, medications=medications)
    assert not (source / "encounters.csv").exists()
    env = prefect_env(tmp_path / "home", prefect_server)
    single = run(source, tmp_path / "one", env, "--no-prefect")
    assert single["cohort"] and {r[7] for r in single["quarantine"]} >= {"order_id:duplicate"}
    assert_same(single, run(source, tmp_path / "two", env, "--shards", "2"), 2, "local")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_address_runs_on_a_scheduler_started_here(tmp_path, prefect_server):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = prefect_env(tmp_path / "home", prefect_server)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)  # the workers import it
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    started = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                 "--no-dashboard"], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        started.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                                        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        single = run(SAMPLE, tmp_path / "one", env, "--no-prefect")
        sharded = run(SAMPLE, tmp_path / "two", env, "--shards", "2", "--dask", address)
        assert_same(single, sharded, 2, address)
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_dask_without_a_prefect_server_is_refused(tmp_path):
    env = prefect_env(tmp_path / "home")
    started = time.monotonic()
    done = cramp_audit("run", "--db", str(tmp_path / "cramp_audit.duckdb"), "--shards", "2", "--dask", "tcp://127.0.0.1:9",
                       env=env, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PREFECT_API_URL" in lines[0], done.stderr
    assert not (tmp_path / "cramp_audit.duckdb").exists()
    assert time.monotonic() - started < 60  # refused at once, no cluster or server started


def test_patients_spread_over_the_shards():
    import hashlib

    import duckdb
    import polars as pl

    from cramp_audit.shards import shard_ids

    ids = pl.DataFrame({"patient_id": [f"P{i}" for i in range(4000)] + [None]})
    counts = shard_ids(duckdb.connect(), ids, 4).value_counts().sort("shard")["count"].to_list()
    assert len(counts) == 4 and min(counts) > 900  # stable md5, about even
    assert shard_ids(duckdb.connect(), ids, 4).to_list() == shard_ids(duckdb.connect(), ids, 4).to_list()
    # The same shards as md5 computed elsewhere (Python's hashlib): stable across machines and versions.
    rows = pl.DataFrame({"patient_id": ["P0000001", "P0000001", None, "3f2c9a1e-uuid", "P0000001"]})
    expected = [int.from_bytes(hashlib.md5((p or "").encode()).digest()[8:], "little") % 4
                for p in rows["patient_id"].to_list()]
    assert shard_ids(duckdb.connect(), rows, 4).to_list() == expected


def test_a_shard_task_run_again_gives_the_same_shard(tmp_path):
    # Dask re-runs a lost worker's task elsewhere: a shard's steps start from the partition's files.
    from cramp_audit.config import load_parameters
    from cramp_audit.db import connect
    from cramp_audit.shards import evaluate_shard, load_shard, partition

    plan = partition(str(SAMPLE), "canonical", 2, str(tmp_path / "work"), "2026-01-01")

    def shard_rows() -> list:
        con = connect(plan.shard_db(1), read_only=True)
        try:
            return con.execute("SELECT (SELECT count(*) FROM staging.diagnoses), (SELECT count(*) FROM "
                               "work.quarantine), (SELECT count(*) FROM work.rule_roles)").fetchall()
        finally:
            con.close()

    def both_steps() -> list:
        load_shard(plan, 1, "run-1")
        evaluate_shard(plan, 1, "run-1", str(SAMPLE), load_parameters(None), "2025-07-01", "2026-06-30",
                       "2026-06-30", [])
        return shard_rows()

    first = both_steps()
    assert first[0][0] > 0 and first[0][2] > 0
    assert both_steps() == first


def test_a_failed_sharded_run_publishes_nothing(tmp_path, prefect_server):
    from cramp_audit.db import connect

    env = prefect_env(tmp_path / "home", prefect_server)
    db = tmp_path / "cramp_audit.duckdb"
    first = cramp_audit("run", "--db", str(db), "--reports", str(tmp_path / "r"), "--no-prefect", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    (tmp_path / "not-a-folder").write_text("")
    done = cramp_audit("run", "--db", str(db), "--reports", str(tmp_path / "r"), "--shards", "2",
                       env={**env, "CRAMP_AUDIT_WORK": str(tmp_path / "not-a-folder")}, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("cramp-audit: error: the run failed")
    con = connect(db, read_only=True)
    try:
        runs = con.execute("SELECT status, shards FROM audit.runs ORDER BY started_at").fetchall()
        published = con.execute("SELECT count(DISTINCT run_id) FROM audit.patient_rules").fetchone()[0]
    finally:
        con.close()
    assert runs == [("succeeded", 1), ("failed", 2)] and published == 1
