"""Builds the project's shipped copy of the value sets from the shared reference lists.

    .venv/bin/python -m cramp_audit.sql.valuesets.build [--reference DIR]

Reads definitions.toml (which reference files and concept groups make up each value set of
rules.md and rules-v2.md), shared/reference/valuesets/*.csv and the project's own supplement lists
(supplement/*.csv: codes the shared lists lack, each row naming the published list it was taken
from), and writes beside this file:

- value_sets.csv            value_set, code_system, code, display, source: the members
- value_set_exclusions.csv  codes the reference names as explicitly NOT members (laxative magnesium,
                            intrathecal baclofen ...): "known codes", never matched by description
- skipped.csv               reference rows left out and why (verified=no, outside a code restriction,
                            removed on purpose by rules-v2.md)

Codes are stored normalised (upper case, ICD dots removed) with the canonical code-system tokens
(SNOMEDCT -> SNOMED; both as schemas/code_systems.csv says), so they join staging.* directly. Output
is sorted, so a rebuild is byte-identical unless the reference or the definitions changed
(tests/test_value_sets.py checks).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cramp_audit.schemas.code_systems import normalise_code, token_of

HERE = Path(__file__).parent
DEFINITIONS = HERE / "definitions.toml"
# The shared reference lists sit beside the repository (/work/shared next to /work/main).
DEFAULT_REFERENCE = Path(os.environ.get("CRAMP_AUDIT_REFERENCE",
                                        HERE.parents[2] / "shared" / "reference" / "valuesets"))
# Project-owned lists in the shared lists' format, for codes the shared lists do not hold.
SUPPLEMENT = HERE / "supplement"
ICD9_FILE = "icd9cm_conditions.csv"

MEMBER_COLUMNS = ("value_set", "code_system", "code", "display", "source")
EXCLUSION_COLUMNS = (*MEMBER_COLUMNS, "concept_group")
SKIPPED_COLUMNS = ("value_set", "file", "concept_group", "code_system", "code", "display", "reason")


def canonical_code_system(name: str) -> str:
    """A reference list's system name as its token (SNOMEDCT -> SNOMED); an unknown one as written."""
    return token_of(name) or name.strip().upper()


@dataclass(frozen=True)
class ReferenceRow:
    file: str
    concept_group: str
    code_system: str  # canonical token
    code: str         # as written in the reference file
    display: str
    source: str
    verified: bool


@dataclass
class Built:
    members: list[dict[str, str]]
    exclusions: list[dict[str, str]]
    skipped: list[dict[str, str]]


def read_reference(reference_dir: Path, file: str) -> list[ReferenceRow]:
    with open(reference_dir / file, newline="", encoding="utf-8") as handle:
        return [ReferenceRow(file, r["concept_group"].strip(), canonical_code_system(r["code_system"]),
                             r["code"].strip(), r["display"].strip(), r["source"].strip(),
                             r["verified"].strip().lower() != "no")
                for r in csv.DictReader(handle)]


def _selected(rows: Iterable[ReferenceRow], groups: list[str]) -> Iterator[ReferenceRow]:
    return (r for r in rows if groups == ["*"] or r.concept_group in groups)


def _entries(definition: dict, key: str, reference: dict[str, list[ReferenceRow]]
             ) -> Iterator[tuple[str, list[str], list[str] | None]]:
    """(file, groups, codes) per entry; condition sets also read their ICD-9-CM counterparts."""
    for entry in definition.get(key, []):
        yield entry["file"], entry["groups"], entry.get("codes")
        if definition["kind"] == "condition":
            groups = entry["groups"]
            if groups == ["*"]:  # the ICD-9 file holds many files' groups: expand "*" by name
                groups = sorted({r.concept_group for r in reference[entry["file"]]})
            yield ICD9_FILE, groups, entry.get("codes")


def read_lists(reference_dir: Path, supplement_dir: Path = SUPPLEMENT) -> dict[str, list[ReferenceRow]]:
    """File name -> rows, for the shared reference lists and the supplement lists (one namespace:
    a supplement file may not shadow a shared one)."""
    lists = {path.name: read_reference(reference_dir, path.name) for path in sorted(reference_dir.glob("*.csv"))}
    for path in sorted(supplement_dir.glob("*.csv")):
        if path.name in lists:
            raise ValueError(f"{path}: a supplement list may not shadow the shared reference file {path.name}")
        lists[path.name] = read_reference(supplement_dir, path.name)
    return lists


def build(reference_dir: Path = DEFAULT_REFERENCE, definitions_path: Path = DEFINITIONS,
          supplement_dir: Path = SUPPLEMENT) -> Built:
    definitions = tomllib.loads(definitions_path.read_text(encoding="utf-8"))
    reference = read_lists(reference_dir, supplement_dir)

    members: dict[tuple[str, str, str], dict[str, str]] = {}
    exclusions: dict[tuple[str, str, str], dict[str, str]] = {}
    skipped: list[dict[str, str]] = []
    removed_keys: set[tuple[str, str, str]] = set()

    def skip(value_set: str, row: ReferenceRow, reason: str) -> None:
        skipped.append({"value_set": value_set, "file": row.file, "concept_group": row.concept_group,
                        "code_system": row.code_system, "code": normalise_code(row.code_system, row.code),
                        "display": row.display, "reason": reason})

    for value_set, definition in definitions.items():
        removed = _removals(definition)
        for key, target in (("include", members), ("not_members", exclusions)):
            for file, groups, codes in _entries(definition, key, reference):
                wanted = {c.strip().upper() for c in codes or ()}
                for row in _selected(reference[file], groups):
                    code = normalise_code(row.code_system, row.code)
                    if codes is not None and row.code.upper() not in wanted:
                        if key == "include":
                            skip(value_set, row, f"outside the code restriction {codes}")
                        continue
                    if not row.verified:
                        skip(value_set, row, "verified=no in the reference list")
                        continue
                    record = {"value_set": value_set, "code_system": row.code_system, "code": code,
                              "display": row.display, "source": row.source}
                    reason = removed.get((row.code_system, code))
                    into = target
                    if key == "include" and reason is not None:
                        # Removed on purpose: listed as a known non-member, so an order carrying the
                        # code is never matched by its text instead.
                        skip(value_set, row, reason)
                        removed_keys.add((value_set, row.code_system, code))
                        into = exclusions
                    if into is exclusions:
                        record["concept_group"] = row.concept_group
                    into.setdefault((value_set, row.code_system, code), record)  # first listing wins

    for value_set, definition in definitions.items():
        stale = set(_removals(definition)) - {(s, c) for v, s, c in removed_keys if v == value_set}
        if stale:
            raise ValueError(f"definitions.toml [{value_set}] removes codes no include lists: {sorted(stale)}")
    # A removed code is never a member, even when another of the set's groups lists it too.
    for key in removed_keys:
        members.pop(key, None)
    # Otherwise a code listed both ways stays a member (the set's own groups win over a "not" group).
    for key in set(exclusions) & set(members):
        del exclusions[key]
    return Built(sorted(members.values(), key=_order), sorted(exclusions.values(), key=_order),
                 sorted(skipped, key=lambda r: (r["value_set"], r["code_system"], r["code"], r["file"])))


def _removals(definition: dict) -> dict[tuple[str, str], str]:
    """(code system, normalised code) -> reason, for the set's `remove` entries."""
    removed = {}
    for entry in definition.get("remove", []):
        system = canonical_code_system(entry["code_system"])
        for code in entry["codes"]:
            removed[(system, normalise_code(system, code))] = f"removed: {entry['reason']}"
    return removed


def _order(record: dict[str, str]) -> tuple[str, str, str]:
    return record["value_set"], record["code_system"], record["code"]


def render_csv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    from io import StringIO

    out = StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def rendered_files(built: Built) -> dict[str, str]:
    """File name -> exact text, so the staleness test compares without writing."""
    return {
        "value_sets.csv": render_csv(built.members, MEMBER_COLUMNS),
        "value_set_exclusions.csv": render_csv(built.exclusions, EXCLUSION_COLUMNS),
        "skipped.csv": render_csv(built.skipped, SKIPPED_COLUMNS),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help=f"folder of the reference CSV lists (default {DEFAULT_REFERENCE})")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"reference folder not found: {args.reference}", file=sys.stderr)
        return 2
    built = build(args.reference)
    for name, text in rendered_files(built).items():
        (HERE / name).write_text(text, encoding="utf-8")
    sets = sorted({r["value_set"] for r in built.members})
    print(f"{len(built.members)} codes in {len(sets)} value sets, {len(built.exclusions)} known non-members, "
          f"{len(built.skipped)} reference rows skipped (see skipped.csv)")
    for row in built.skipped:
        if row["reason"].startswith("verified=no"):
            print(f"  skipped unverified: {row['value_set']} {row['code_system']} {row['code']} {row['display']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
