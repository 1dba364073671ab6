"""The data dictionary (issue 13 item 8): every audit table, view and column carries a COMMENT an
analyst's DuckDB client shows, each rule's evidence JSON is documented as the rules write it, and
docs/data-dictionary.md is the text those comments generate."""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cramp_audit.data_dictionary import DICTIONARY_PATH, LATEST_PREFIX, catalog, generate
from cramp_audit.db import initialise
from cramp_audit.rules_engine import discover_rules

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SNAPSHOT = REPO / "tests" / "snapshots" / "sample.csv.gz"  # the bundled sample's published rows


@pytest.fixture(scope="module")
def objects() -> list:
    con = duckdb.connect()
    initialise(con)
    try:
        return catalog(con)
    finally:
        con.close()


def test_committed_dictionary_is_the_one_the_comments_generate() -> None:
    committed = (REPO / DICTIONARY_PATH).read_text(encoding="utf-8")
    assert committed == generate(), f"{DICTIONARY_PATH} is stale: run `make catalogue`"


def test_every_audit_table_view_and_column_has_a_comment(objects) -> None:
    uncommented = [o.name for o in objects if not (o.comment or "").strip()]
    # latest_* views repeat their table's columns, which the table documents.
    uncommented += [f"{o.name}.{name}" for o in objects if not o.name.startswith(LATEST_PREFIX)
                    for name, _, comment in o.columns if not (comment or "").strip()]
    assert {o.name for o in objects} >= {"runs", "deviations", "deviation_changes", "rule_trend"}
    assert uncommented == []


def test_rows_quarantined_says_it_counts_rows_not_reasons(objects) -> None:
    [runs] = [o for o in objects if o.name == "runs"]
    comment = {name: text for name, _, text in runs.columns}["rows_quarantined"]
    assert "audit.quarantine" in comment and "REASON" in comment


def _documented_evidence(objects) -> dict[str, list[str]]:
    """rule_id -> top-level keys, from the "RULE: {key, key: {...}, key: [...]}" lines of the comment."""
    [deviations] = [o for o in objects if o.name == "deviations"]
    comment = {name: text for name, _, text in deviations.columns}["evidence"]
    shapes = {}
    for rule_id, body in re.findall(r"^(LC-[A-Z0-9-]+): \{(.*)\}", comment, re.MULTILINE):
        flat = body
        while re.search(r"\{[^{}]*\}|\[[^\[\]]*\]", flat):  # drop nested shapes, innermost first
            flat = re.sub(r"\{[^{}]*\}|\[[^\[\]]*\]", "", flat)
        shapes[rule_id] = [item.split(":")[0].strip() for item in flat.split(",")]
    return shapes


def test_each_rules_evidence_keys_are_documented_as_a_run_writes_them(objects) -> None:
    documented = _documented_evidence(objects)
    assert sorted(documented) == sorted(r.id for r in discover_rules())

    text = gzip.decompress(SAMPLE_SNAPSHOT.read_bytes()).decode("utf-8")
    rows = pl.read_csv(io.StringIO(text.split("## deviations\n")[1].split("\n## ")[0]), infer_schema=False)
    written = {rule_id: list(json.loads(evidence))
               for rule_id, evidence in rows.select("rule_id", "evidence").iter_rows()}
    assert written, "the sample's snapshot has no deviations"
    for rule_id, keys in written.items():
        assert documented[rule_id] == keys, rule_id
