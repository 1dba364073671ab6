"""Small vocabularies of the rule pack as data: rule severities (severities.csv: rank, the colour
reports draw them in) and the roles a rule's rows may take (roles.csv), read by the rules engine,
its contract check (sql/check_roles.sql) and the reports alike."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEVERITIES_FILE = Path(__file__).with_name("severities.csv")
ROLES_FILE = Path(__file__).with_name("roles.csv")


@dataclass(frozen=True)
class Severity:
    name: str
    rank: int      # 1 = most severe: worklists list it first
    colour: str    # CSS colour of its badge and chart bars
    meaning: str


@dataclass(frozen=True)
class Role:
    name: str
    meaning: str


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def severities() -> tuple[Severity, ...]:
    """Most severe first."""
    rows = [Severity(r["severity"], int(r["rank"]), r["colour"], r["meaning"]) for r in _rows(SEVERITIES_FILE)]
    return tuple(sorted(rows, key=lambda s: s.rank))


def severity_names() -> list[str]:
    """Most severe first."""
    return [s.name for s in severities()]


def severity_colours() -> dict[str, str]:
    return {s.name: s.colour for s in severities()}


@cache
def roles() -> tuple[Role, ...]:
    return tuple(Role(r["role"], r["meaning"]) for r in _rows(ROLES_FILE))


def role_names() -> list[str]:
    return [r.name for r in roles()]
