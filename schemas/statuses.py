"""Order status synonyms (rules-v2.md "Status synonyms"), read from sql/valuesets/order_statuses.csv:
case, spaces, hyphens and underscores are not significant, and each spelling maps to a token of
extract-format.md. A status no row names stays as written and fails validation (it is then unknown)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from cramp_audit import sql

STATUSES_FILE = Path(sql.__file__).parent / "valuesets" / "order_statuses.csv"


@cache
def _synonyms() -> dict[str, str]:
    frame = pl.read_csv(STATUSES_FILE, infer_schema=False)
    return dict(zip(frame["spelling"], frame["status"], strict=True))


def status_key(status: pl.Expr) -> pl.Expr:
    """The spelling as order_statuses.csv lists it: lower case, no spaces, hyphens or underscores."""
    return status.str.to_lowercase().str.replace_all(r"[\s_-]+", "")


def normalised_status(status: pl.Expr) -> pl.Expr:
    """The extract-format.md token for a status spelling; an unlisted spelling stays as written
    (lower case), so the status check reports it and the order counts with its status unknown."""
    return status_key(status).replace_strict(_synonyms(), default=status.str.to_lowercase(),
                                             return_dtype=pl.String)
