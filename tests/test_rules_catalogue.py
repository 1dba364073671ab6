"""The rule files' headers: the contract with rules.md, and the catalogue docs/rules.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from cramp_audit.config import load_parameters
from cramp_audit.rules_engine import (
    RuleError,
    catalogue_markdown,
    discover_rules,
    list_rules_text,
    value_set_code_counts,
)

REPO = Path(__file__).parents[1]
RULES_MD = REPO.parent / "shared" / "spec" / "rules.md"
RULES_V2_MD = REPO.parent / "shared" / "spec" / "rules-v2.md"

# rules.md: the twelve rule ids and their severities; rules-v2.md "Two new rules", both (low)
EXPECTED = {
    "LC-FERRITIN-RLS": "low", "LC-MED-REVIEW": "low",
    "LC-QUININE": "high", "LC-MG-EMPIRIC": "medium", "LC-MG-RENAL": "high", "LC-MG-DOSE": "low",
    "LC-BACLOFEN-TITRATION": "medium", "LC-CIRRHOSIS-DIURETIC": "medium", "LC-ELECTROLYTES": "low",
    "LC-DEFICIENCY-UNTREATED": "medium", "LC-WORKUP-EXCESS": "low", "LC-REFERRAL-MISSED": "low",
    "LC-RLS-CONFUSION": "medium", "LC-NSAID-ELDERLY": "low",
}


def test_the_rule_pack_is_the_fourteen_rules_of_rules_md_and_rules_v2_md() -> None:
    assert {r.id: r.severity for r in discover_rules()} == EXPECTED


@pytest.mark.skipif(not RULES_MD.is_file(), reason="shared spec not available")
def test_each_header_quotes_its_rules_md_section() -> None:
    """Each rule of rules.md quotes its section; rules-v2.md wins where it renames a rule (LC-NSAID-ELDERLY's
    title) or adds one (the guideline sentence of each new rule)."""
    spec = RULES_MD.read_text(encoding="utf-8")
    v2 = " ".join(RULES_V2_MD.read_text(encoding="utf-8").split())
    for rule in discover_rules():
        heading = next((line for line in spec.splitlines() if line.startswith(f"### {rule.id} ")), None)
        if heading is None:
            assert f"**{rule.id}** (low)" in v2 and rule.guideline_statement in v2, rule.id
            continue
        assert rule.title.lower() in heading.lower() or f'title "{rule.title}"' in v2, rule.id
        section = spec.split(heading, 1)[1].split("\n### ", 1)[0]
        assert " ".join(f"Guideline: {rule.guideline}".split()) in " ".join(section.split()), rule.id


def test_header_value_sets_and_parameters_exist() -> None:
    counts = value_set_code_counts()
    params = load_parameters()
    for rule in discover_rules():
        assert rule.value_sets and all(counts.get(v, 0) > 0 for v in rule.value_sets), rule.id
        assert all(p in params for p in rule.parameters), rule.id
        assert rule.choices and rule.denominator, rule.id


def test_guideline_statement_drops_the_quote_marks_of_a_single_quotation() -> None:
    by_id = {r.id: r for r in discover_rules()}
    assert by_id["LC-QUININE"].guideline_statement == "Avoid quinine despite historical use"
    assert by_id["LC-CIRRHOSIS-DIURETIC"].guideline_statement.count('"') == 4


def test_docs_rules_md_is_the_current_catalogue() -> None:
    expected = catalogue_markdown(load_parameters())
    shipped = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert shipped.rstrip("\n") == expected.rstrip("\n"), (
        "docs/rules.md is stale: run `make catalogue`")


def test_readme_rule_table_lists_every_rule_with_its_title_and_severity() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = {line for line in readme.splitlines() if line.startswith("| LC-")}
    assert rows == {f"| {r.id} | {r.title} | {r.severity} |" for r in discover_rules()}


def test_terminal_listing_names_every_rule_with_its_parameters() -> None:
    text = list_rules_text({**load_parameters(), "followup_days": 90})
    assert all(rule_id in text for rule_id in EXPECTED)
    assert "followup_days = 90" in text


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


GOOD_HEADER = ("-- rule_id: LC-TEST\n-- title: t\n-- severity: low\n-- guideline: \"g\"\n-- value_sets: QUININE\n"
               "-- parameters: followup_days\n-- reason_codes: SOMETHING_WRONG\n")


@pytest.mark.parametrize("name, text, message", [
    ("LC-TEST.sql", "-- rule_id: LC-TEST\nSELECT 1", "header lacks"),
    ("LC-OTHER.sql", GOOD_HEADER + "SELECT 1", "must match the file name"),
    ("LC-TEST.sql", GOOD_HEADER.replace("low", "urgent") + "SELECT 1", "severity"),
    ("LC-TEST.sql", GOOD_HEADER + "-- requires: encounterz\nSELECT 1", "requires"),
    ("LC-TEST.sql", GOOD_HEADER + "SELECT 1; SELECT 2", "ONE SELECT"),
])
def test_a_rule_file_breaking_the_header_contract_is_refused(tmp_path: Path, name: str, text: str,
                                                            message: str) -> None:
    _write(tmp_path, name, text)
    with pytest.raises(RuleError, match=message):
        discover_rules(tmp_path)


def test_a_new_rule_is_just_a_new_file(tmp_path: Path) -> None:
    _write(tmp_path, "LC-TEST.sql", GOOD_HEADER + "-- choices:\n--   none\n--   really\nSELECT 1;\n")
    (rule,) = discover_rules(tmp_path)
    assert (rule.id, rule.severity, rule.value_sets, rule.parameters) == ("LC-TEST", "low", ("QUININE",),
                                                                          ("followup_days",))
    assert rule.choices == "none really" and rule.select_sql.endswith("SELECT 1")
