"""What a run knows about itself is found once and written once on its ledger row: the extract's
format is detected and its headers checked once per run, and a run that fails keeps the checksums,
period and parameters it ran with (they no longer roll back with its transaction)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cramp_audit.transforms import registry

from cramp_audit.cli import main
from cramp_audit.db import connect
from cramp_audit.pipeline import AuditRequest, run_audit

SAMPLE = Path(__file__).resolve().parent.parent / "data_samples" / "sample"
FACTS = ("source_format", "source_checksum", "value_sets_checksum", "rule_pack_version", "rule_pack_checksum",
         "code_version", "extract_date", "period_start", "period_end", "parameters::VARCHAR")


def _facts(db_path: str, run_id: str) -> tuple:
    con = connect(db_path, read_only=True)
    try:
        return con.execute(f"SELECT status, {', '.join(FACTS)} FROM audit.runs WHERE run_id = ?", [run_id]).fetchone()
    finally:
        con.close()


def test_a_run_that_fails_keeps_the_checksums_period_and_parameters_it_ran_with(tmp_path, monkeypatch):
    import cramp_audit.rules_engine as engine

    config = tmp_path / "site.toml"
    config.write_text("[reports]\nsuppress_below = 3\n")
    request = AuditRequest(source=str(SAMPLE), db_path=str(tmp_path / "cramp_audit.duckdb"),
                           reports_dir=str(tmp_path / "reports"), config_path=str(config))
    succeeded = run_audit(request)
    real_evaluate = engine.evaluate

    def evaluate_then_crash(*args: object) -> None:
        real_evaluate(*args)
        raise RuntimeError("injected failure after the rules ran")

    monkeypatch.setattr(engine, "evaluate", evaluate_then_crash)
    with pytest.raises(RuntimeError, match="injected"):
        run_audit(request, run_id="run-that-fails")

    good, failed = _facts(request.db_path, succeeded.run_id), _facts(request.db_path, "run-that-fails")
    assert (good[0], failed[0]) == ("succeeded", "failed")
    assert failed[1:] == good[1:]  # the same extract, code and configuration: the same facts
    assert all(value not in (None, "") for value in failed[1:]), dict(zip(FACTS, failed[1:], strict=True))
    assert json.loads(failed[-1])["suppress_below"] == 3


def test_format_detection_and_the_header_check_run_once_per_run(tmp_path, monkeypatch, capsys):
    calls: list[str] = []

    def counting(real: Callable[[Path], object], what: str) -> Callable[[Path], object]:
        def counted(source: Path) -> object:
            calls.append(what)
            return real(source)
        return counted

    for adapter in registry.ADAPTERS:
        for name in ("detect", "check"):
            monkeypatch.setattr(adapter, name, counting(getattr(adapter, name), f"{adapter.FORMAT}.{name}"))
    db = tmp_path / "cramp_audit.duckdb"
    assert main(["run", str(SAMPLE), "--no-prefect", "--db", str(db), "--reports", str(tmp_path / "reports")]) == 0
    # Detection asks the adapters in order until one recognises the folder; then one header check.
    assert calls == [*(f"{a.FORMAT}.detect" for a in registry.ADAPTERS), "canonical.check"]
