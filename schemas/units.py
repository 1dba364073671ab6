"""The units the validator accepts, read from units.csv (data, not code)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

UNITS_FILE = Path(__file__).with_name("units.csv")


@cache
def known_units(kind: str) -> list[str]:
    """Units of one kind (`lab` or `dose`)."""
    frame = pl.read_csv(UNITS_FILE, comment_prefix="#", infer_schema=False)
    return frame.filter(pl.col("unit_kind") == kind)["unit"].to_list()
