"""The results of the bundled sample and the four shared real extracts are exactly those of the stored
snapshots (tests/results_snapshot.py): a refactor leaves every published row as it was, and a change of
behaviour must come with a regenerated, reviewed snapshot."""

from __future__ import annotations

import difflib

import pytest
from results_snapshot import SOURCES, audit_snapshot, snapshot_path, stored_snapshot


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_published_results_equal_the_snapshot(name, tmp_path):
    if not SOURCES[name].is_dir():
        pytest.skip(f"{SOURCES[name]} not present")
    assert snapshot_path(name).is_file(), f"no snapshot for {name}: python -m tests.results_snapshot --update {name}"
    current, stored = audit_snapshot(name, tmp_path), stored_snapshot(name)
    if current != stored:
        diff = difflib.unified_diff(stored.splitlines(), current.splitlines(), "snapshot", "this run", lineterm="", n=1)
        pytest.fail(f"{name}: results differ from tests/snapshots/{name}.csv.gz (first differences below; after an "
                    "intended change: python -m tests.results_snapshot --update)\n" + "\n".join(list(diff)[:40]))
