"""What a command costs before it does anything: the commands that run no Prefect flow (`rules`,
`validate`, `sql`, `run --no-prefect`) do not import Prefect, which takes 2-3 s of every start on
this machine (an analyst's `cramp-audit sql`, a debugging run)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE


@pytest.mark.parametrize("argv", [["rules"], ["validate", str(SAMPLE)],
                                  ["run", "--no-prefect", "--db", "{tmp}/c.duckdb", "--reports", "{tmp}/r"]],
                         ids=["rules", "validate", "run --no-prefect"])
def test_a_command_without_a_flow_does_not_import_prefect(argv, tmp_path):
    args = [a.format(tmp=tmp_path) for a in argv]
    script = ("import sys\nfrom cramp_audit.cli import main\ncode = main(sys.argv[1:])\n"
              "print('prefect' in sys.modules, code)")
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False 0"
