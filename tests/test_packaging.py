"""The package as setuptools builds it (pyproject.toml): an install prints no "Package would be
ignored" warnings, and a built copy carries every data file the code reads (SQL, parameters,
value sets, the report template, the bundled sample), so the command works from a wheel too, and every
top-level folder of the checkout is installed inside the one cramp_audit namespace (no generic
`sql` or `schemas` package in site-packages).

setuptools' build_py is run directly (under a second) rather than `pip install`, which builds in an
isolated environment it downloads first; build_py is the step that printed the warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("cramp_audit", "flows", "transforms", "schemas", "sql", "data_samples")
DATA_SUFFIXES = {".sql", ".toml", ".csv", ".j2"}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("build")
    result = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()",
         "egg_info", "--egg-base", str(out), "build_py", "--build-lib", str(out / "lib")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return out / "lib", result.stdout + result.stderr


def test_building_the_package_prints_no_ignored_package_warning(build: tuple[Path, str]) -> None:
    _, output = build
    assert "would be ignored" not in output
    assert "is absent from setuptools' `packages` configuration" not in output


def test_the_built_package_carries_every_data_file(build: tuple[Path, str]) -> None:
    lib, _ = build
    expected = sorted(
        path.relative_to(ROOT).as_posix()
        for folder in PACKAGE_FOLDERS for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix in DATA_SUFFIXES and "__pycache__" not in path.parts)
    assert "sql/rules/LC-QUININE.sql" in expected and "data_samples/sample/patients.csv" in expected
    installed = {name: name if name.startswith("cramp_audit/") else f"cramp_audit/{name}" for name in expected}
    missing = [name for name in expected if not (lib / installed[name]).is_file()]
    assert missing == []


def test_nothing_is_installed_outside_the_cramp_audit_namespace(build: tuple[Path, str]) -> None:
    lib, _ = build
    assert sorted(p.name for p in lib.iterdir()) == ["cramp_audit"]
    installed = {p.name for p in (lib / "cramp_audit").iterdir()}
    assert {"flows", "transforms", "schemas", "sql", "data_samples"} <= installed
