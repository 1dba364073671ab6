"""README's "How the code is laid out" names every module a newcomer would open: a module added
without a line there fails here, so the section keeps matching the tree."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _layout_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]


def test_every_module_of_the_packages_is_named_in_the_layout_section() -> None:
    section = _layout_section()
    for folder in ("cramp_audit", "transforms", "flows"):
        for module in sorted((REPO / folder).glob("*.py")):
            if module.name != "__init__.py":
                assert f"`{module.name}`" in section, f"{folder}/{module.name} is not in README's layout"


def test_every_top_level_folder_and_sql_folder_is_named() -> None:
    section = _layout_section()
    for folder in ("flows", "cramp_audit", "transforms", "schemas", "sql", "data_samples", "tests", "bench"):
        assert re.search(rf"`{folder}/`", section), folder
    for sub in sorted(p.name for p in (REPO / "sql").iterdir() if p.is_dir() and not p.name.startswith("__")):
        assert f"`{sub}/`" in section, f"sql/{sub}/ is not in README's layout"
