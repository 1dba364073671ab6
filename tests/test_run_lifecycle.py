"""A run's life on its database file: one connection and one lock from its ledger row to its commit,
staging.* and audit.* published together, reports part of the outcome, and every way a run can end
early (a reader's client, a Prefect that does not start, SIGTERM, a full disk) leaving a failed
ledger row and the database as the previous run left it."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cramp_audit import pipeline
from cramp_audit.cli import main
from cramp_audit.db import DatabaseBusyError, connect, exclusive
from cramp_audit.pipeline import AuditRequest, run_audit
from tests.extract_builder import DEFAULT_DIAGNOSIS, DEFAULT_MEDICATION, DEFAULT_PATIENT, write_extract

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data_samples" / "sample"
AUDIT_TABLES = ("rules", "cohort", "cohort_attrition", "patient_rules", "rule_results", "deviations",
                "quarantine", "data_quality", "table_counts")
STAGING_TABLES = ("patients", "encounters", "diagnoses", "medications", "labs", "procedures")
CSV_REPORTS = ("rule_summary.csv", "rule_by_stratum.csv", "rule_by_site.csv", "cohort_attrition.csv",
               "worklist_internal.csv", "data_quality.csv")


def _request(tmp_path: Path, source: Path = SAMPLE, **options) -> AuditRequest:
    return AuditRequest(source=str(source), db_path=str(tmp_path / "cramp_audit.duckdb"),
                        reports_dir=str(tmp_path / "reports"), **options)


def _rows(db_path, query: str, params=None) -> list[tuple]:
    con = connect(db_path, read_only=True)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def _audit_rows_of(db_path, run_id: str) -> dict[str, int]:
    return {t: _rows(db_path, f"SELECT count(*) FROM audit.{t} WHERE run_id = ?", [run_id])[0][0]
            for t in AUDIT_TABLES}


def _staging(db_path) -> dict[str, list[tuple]]:
    return {t: _rows(db_path, f"SELECT * FROM staging.{t} ORDER BY ALL") for t in STAGING_TABLES}


def _small_extract(folder: Path, patient: str) -> Path:
    return write_extract(folder, patients=[{**DEFAULT_PATIENT, "patient_id": patient}],
                         diagnoses=[{**DEFAULT_DIAGNOSIS, "patient_id": patient}],
                         medications=[{**DEFAULT_MEDICATION, "patient_id": patient}])


def _fail_in_the_rules_step(monkeypatch) -> None:
    import cramp_audit.rules_engine as engine

    real_evaluate = engine.evaluate

    def evaluate_then_crash(con, run_id, source_path):
        real_evaluate(con, run_id, source_path)
        raise RuntimeError("injected failure in the rules step")

    monkeypatch.setattr(engine, "evaluate", evaluate_then_crash)


# A DuckDB client in another process: opens the file read-only, says whether it could, holds it a while.
READER = """
import sys, time, duckdb
try:
    con = duckdb.connect(sys.argv[1], read_only=True)
except duckdb.Error as exc:
    print("refused", flush=True)
    sys.exit(0)
print("opened", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _start_reader(db_path, hold_seconds: float) -> tuple[subprocess.Popen, str]:
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db_path), str(hold_seconds)],
                              stdout=subprocess.PIPE, text=True)
    return reader, reader.stdout.readline().strip()


# ---------------------------------------------------------------- one connection, one lock (item 2)

def test_a_readers_client_opening_the_file_between_two_steps_does_not_stop_the_run(tmp_path):
    request = _request(tmp_path)
    attempts: list[str] = []

    def step_then_reader(step, *args):
        result = step(*args)
        if step is pipeline.ingest:  # the gap in which each step used to close and reopen the file
            reader, said = _start_reader(request.db_path, hold_seconds=3)
            attempts.append(said)
            reader.wait(timeout=30)
        return result

    summary = run_audit(request, run_step=step_then_reader)
    assert attempts == ["refused"]  # the run held the file all along
    assert _rows(request.db_path, "SELECT status FROM audit.runs WHERE run_id = ?", [summary.run_id]) == [
        ("succeeded",)]


def test_a_symlinked_db_shares_the_lock_of_the_file_it_points_to(tmp_path):
    request = _request(tmp_path)
    link = tmp_path / "elsewhere" / "link.duckdb"
    link.parent.mkdir()
    link.symlink_to(request.db_path)
    with exclusive(Path(request.db_path)), pytest.raises(DatabaseBusyError, match="another cramp-audit run"):
        run_audit(AuditRequest(source=str(SAMPLE), db_path=str(link), reports_dir=str(tmp_path / "reports")))
    assert not Path(request.db_path).exists()  # refused before anything was written
    # Unlocked, a run through the link writes the file it points to, its log and lock beside that file.
    run_audit(AuditRequest(source=str(SAMPLE), db_path=str(link), reports_dir=str(tmp_path / "reports")))
    assert [p.name for p in link.parent.iterdir()] == ["link.duckdb"]
    assert _rows(request.db_path, "SELECT status FROM audit.runs") == [("succeeded",)]


def test_wait_covers_a_reader_holding_the_file_and_without_it_the_run_is_busy(tmp_path, capsys):
    request = _request(tmp_path)
    run_audit(request)  # the file exists, so a reader can open it
    reader, said = _start_reader(request.db_path, hold_seconds=4)
    try:
        assert said == "opened"
        argv = ["run", str(SAMPLE), "--db", request.db_path, "--reports", request.reports_dir, "--no-prefect"]
        assert main(argv) == 3
        assert "is open in another process" in capsys.readouterr().err
        started = time.monotonic()
        assert main([*argv, "--wait", "60"]) == 0
        waited = time.monotonic() - started
    finally:
        reader.wait(timeout=30)
    assert waited >= 1.0  # it did wait for the reader, well past the first try
    statuses = [s for s, in _rows(request.db_path, "SELECT status FROM audit.runs ORDER BY started_at")]
    assert statuses == ["succeeded", "succeeded"]  # the busy refusal wrote no ledger row


# ---------------------------------------------------------------- staging and audit in step (item 3)

def test_a_run_that_fails_in_its_rules_step_leaves_staging_as_the_last_succeeded_run_left_it(tmp_path, monkeypatch):
    first = _request(tmp_path, _small_extract(tmp_path / "a", "PA"), source_format="canonical")
    run_audit(first)
    staged = _staging(first.db_path)
    assert staged["patients"][0][0] == "PA"

    second = _request(tmp_path, _small_extract(tmp_path / "b", "PB"), source_format="canonical")
    _fail_in_the_rules_step(monkeypatch)
    with pytest.raises(RuntimeError, match="injected"):
        run_audit(second, run_id="failed-run")
    assert _staging(first.db_path) == staged
    assert _rows(first.db_path, "SELECT DISTINCT patient_id FROM audit.latest_cohort") == [("PA",)]
    assert _rows(first.db_path, "SELECT status FROM audit.runs WHERE run_id = 'failed-run'") == [("failed",)]


# ---------------------------------------------------------------- reports are part of the outcome (item 4)

def test_a_report_that_fails_to_render_fails_the_run_and_publishes_nothing(tmp_path, monkeypatch):
    import cramp_audit.reports as reports

    request = _request(tmp_path)

    def broken_template(data, suppress_below):
        raise RuntimeError("injected failure rendering report.html")

    monkeypatch.setattr(reports, "render_report_html", broken_template)
    with pytest.raises(RuntimeError, match="injected"):
        run_audit(request, run_id="report-fails")
    assert _rows(request.db_path, "SELECT status, error FROM audit.runs") == [
        ("failed", "RuntimeError: injected failure rendering report.html")]
    assert _audit_rows_of(request.db_path, "report-fails") == dict.fromkeys(AUDIT_TABLES, 0)
    reports = Path(request.reports_dir)  # no report folder, no half-rendered one
    assert not reports.exists() or list(reports.iterdir()) == []


def _command(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cramp_audit.cli", *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_report_rebuilds_the_files_a_run_wrote_with_the_runs_own_suppress_below(tmp_path):
    # Each in its own process, as a user runs them (Altair numbers its chart parameters per process).
    config = tmp_path / "site.toml"
    config.write_text("[reports]\nsuppress_below = 3\n")
    db, reports = str(tmp_path / "cramp_audit.duckdb"), tmp_path / "reports"
    ran = _command("run", str(SAMPLE), "--no-prefect", "--config", str(config), "--db", db, "--reports", str(reports))
    assert ran.returncode == 0, ran.stderr[-2000:]
    [written] = reports.iterdir()
    original = {p.name: p.read_bytes() for p in written.iterdir()}
    assert set(original) == {*CSV_REPORTS, "measure_reports.json", "report.html"}
    shutil.rmtree(written)

    # No --config: the rebuild reads suppress_below = 3 from the run's recorded parameters.
    rebuilt_run = _command("report", written.name, "--db", db, "--reports", str(reports))
    assert rebuilt_run.returncode == 0, rebuilt_run.stderr[-2000:]
    assert rebuilt_run.stdout.splitlines() == [f"reports: {written}"]
    rebuilt = {p.name: p.read_bytes() for p in written.iterdir()}
    assert set(rebuilt) == set(original)
    for name in CSV_REPORTS:
        assert rebuilt[name] == original[name], name
    assert "&lt;3" in rebuilt["report.html"].decode()  # the run's suppression, not the default <11

    def without_generated_line(html: bytes) -> bytes:  # the page says when it was generated
        return re.sub(rb"Generated [^\n]* by cramp-audit", b"", html)

    assert without_generated_line(rebuilt["report.html"]) == without_generated_line(original["report.html"])
    # A rebuild over an existing folder replaces it, and leaves nothing beside it.
    assert _command("report", written.name, "--db", db, "--reports", str(reports)).returncode == 0
    assert [p.name for p in reports.iterdir()] == [written.name]
    assert {p.name for p in written.iterdir()} == set(original)


def test_report_refuses_an_unknown_or_failed_run_in_one_line(tmp_path, monkeypatch, capsys):
    request = _request(tmp_path)
    _fail_in_the_rules_step(monkeypatch)
    with pytest.raises(RuntimeError):
        run_audit(request, run_id="failed-run")
    for run_id, message in (("no-such-run", "no such run"), ("failed-run", "is failed")):
        assert main(["report", run_id, "--db", request.db_path, "--reports", request.reports_dir]) == 2
        [line] = capsys.readouterr().err.splitlines()
        assert message in line and run_id in line
    assert main(["report", "x", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no such database file" in capsys.readouterr().err


# ---------------------------------------------------------------- Prefect that does not start (item 5)

def test_a_prefect_start_up_failure_leaves_a_failed_run_and_names_no_prefect(tmp_path, monkeypatch, capsys):
    from cramp_audit.flows import audit

    request = _request(tmp_path)
    held_when_prefect_started = []

    def prefect_does_not_start(*args, **kwargs):
        try:  # the run's lock is already taken (and its ledger row written, under it) when Prefect starts
            with exclusive(Path(request.db_path)):
                held_when_prefect_started.append(False)
        except DatabaseBusyError:
            held_when_prefect_started.append(True)
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.\nmore text")

    monkeypatch.setattr(audit, "audit_flow", prefect_does_not_start)
    assert main(["run", str(SAMPLE), "--db", request.db_path, "--reports", request.reports_dir]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("cramp-audit: error: ") and "--no-prefect" in last and "Timed out" in last
    [(status, error)] = _rows(request.db_path, "SELECT status, error FROM audit.runs")
    assert status == "failed" and "Timed out while attempting to connect" in error and "--no-prefect" in error
    assert held_when_prefect_started == [True]
    # The lock and the file were released: the next run goes ahead.
    assert main(["run", str(SAMPLE), "--db", request.db_path, "--reports", request.reports_dir,
                 "--no-prefect"]) == 0


# ---------------------------------------------------------------- SIGTERM (item 6)

@pytest.fixture(scope="module")
def generated_extract(tmp_path_factory) -> Path:
    """An extract big enough that a run is still loading a second after it starts."""
    out = tmp_path_factory.mktemp("generated") / "extract"
    subprocess.run([sys.executable, "-m", "cramp_audit.data_samples.generate", "--patients", "20000",
                    "--out", str(out)], cwd=REPO, check=True, capture_output=True, timeout=300)
    return out


def test_sigterm_during_a_run_marks_it_failed_and_publishes_nothing(tmp_path, generated_extract):
    db, reports = tmp_path / "cramp_audit.duckdb", tmp_path / "reports"
    run = subprocess.Popen([sys.executable, "-m", "cramp_audit.cli", "run", str(generated_extract), "--no-prefect",
                            "--db", str(db), "--reports", str(reports)],
                           cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seen = []
    for line in run.stderr:  # the run is mid-load: patients and encounters are in, the rest is not
        seen.append(line)
        if "loaded encounters" in line:
            run.send_signal(signal.SIGTERM)
            break
    rest = run.stderr.read()
    run.wait(timeout=120)
    assert run.returncode == 1, "".join(seen) + rest
    lines = rest.strip().splitlines()
    assert lines[-1] == ("cramp-audit: terminated; a run that had not published is marked failed and audit.* "
                         "keeps none of its rows")
    assert "Traceback" not in rest and "nanobind" not in rest
    [(run_id, status, error)] = _rows(db, "SELECT run_id, status, error FROM audit.runs")
    assert status == "failed" and error.startswith("terminated")
    assert _audit_rows_of(db, run_id) == dict.fromkeys(AUDIT_TABLES, 0)
    assert not reports.exists() or list(reports.iterdir()) == []


# ---------------------------------------------------------------- a full disk (item 7)

def _run_with_file_size_limit(limit_bytes: int, *argv: str) -> subprocess.CompletedProcess:
    def limit() -> None:  # in the child: writes past the limit fail with EFBIG instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "cramp_audit.cli", *argv], cwd=REPO, preexec_fn=limit,
                          capture_output=True, text=True, timeout=300)


def test_a_write_failing_mid_run_is_one_line_naming_the_file_and_the_run_is_marked_failed(tmp_path):
    db = tmp_path / "cramp_audit.duckdb"
    # 1 MB: the new file and the run's ledger row fit; the run's results and reports do not.
    done = _run_with_file_size_limit(1_000_000, "run", str(SAMPLE), "--no-prefect", "--db", str(db),
                                     "--reports", str(tmp_path / "reports"))
    assert done.returncode == 1, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    # The first write past the limit is the database's or a report file's (rendered before the commit).
    assert re.fullmatch(rf"cramp-audit: error: ({re.escape(str(db))}: could not write the database( \(writing "
                        rf"[^)]+\))?|\S+: could not write the report): File too large", last), last
    assert "Traceback" not in done.stderr
    [(run_id, status, error)] = _rows(db, "SELECT run_id, status, error FROM audit.runs")
    assert status == "failed" and "File too large" in error
    assert _audit_rows_of(db, run_id) == dict.fromkeys(AUDIT_TABLES, 0)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_no_space_left_on_device_is_one_line_and_leaves_the_database_as_it_was(tmp_path, capsys):
    request = _request(tmp_path)
    run_audit(request)
    before = _rows(request.db_path, "SELECT run_id, status FROM audit.runs")
    wal = Path(f"{request.db_path}.wal")
    wal.symlink_to("/dev/full")  # every write to the database's log fails with ENOSPC
    try:
        status = main(["run", str(SAMPLE), "--db", request.db_path, "--reports", request.reports_dir,
                       "--no-prefect"])
    finally:
        wal.unlink()
    assert status == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == (f"cramp-audit: error: {request.db_path}: could not write the database (writing {wal}): "
                    "No space left on device")
    assert _rows(request.db_path, "SELECT run_id, status FROM audit.runs") == before


# ---------------------------------------------------------------- latest_* per source (item 10)

def test_latest_views_show_the_newest_succeeded_run_of_each_source(tmp_path):
    canonical = _request(tmp_path, _small_extract(tmp_path / "a", "PA"), source_format="canonical")
    other = _request(tmp_path, _small_extract(tmp_path / "b", "PB"), source_format="canonical")
    first_a = run_audit(canonical).run_id
    only_b = run_audit(other).run_id
    newest_a = run_audit(canonical).run_id
    source_a, source_b = (str(Path(r.source).resolve()) for r in (canonical, other))
    assert sorted(_rows(canonical.db_path, "SELECT source_path, run_id FROM audit.latest_runs")) == sorted(
        [(source_a, newest_a), (source_b, only_b)])
    per_source = _rows(canonical.db_path, "SELECT source_path, run_id, count(*) FROM audit.latest_rule_results "
                                          "GROUP BY ALL ORDER BY ALL")
    assert sorted(per_source) == sorted([(source_a, newest_a, 14), (source_b, only_b, 14)])
    cohort = _rows(canonical.db_path, "SELECT source_path, patient_id FROM audit.latest_cohort ORDER BY ALL")
    assert sorted(cohort) == sorted([(source_a, "PA"), (source_b, "PB")])
    assert first_a not in {r for _, r, _ in per_source}


def test_no_session_is_left_open_after_a_run_or_a_failed_one(tmp_path, monkeypatch):
    from cramp_audit import session

    run_audit(_request(tmp_path))
    _fail_in_the_rules_step(monkeypatch)
    with pytest.raises(RuntimeError):
        run_audit(_request(tmp_path))
    assert session._OPEN == {}
    assert os.path.exists(_request(tmp_path).db_path)
