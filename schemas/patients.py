"""pandera model of patients: unique key, dates, sex; death before birth cannot be placed (rejected)."""

import polars as pl
from cramp_audit.schemas.checks import RowCheck, one_of, row_check
from cramp_audit.schemas.spec import PATIENTS, SEXES

TABLE = PATIENTS


def extra_checks() -> list[RowCheck]:
    return [
        one_of(TABLE, "sex", SEXES),
        row_check(TABLE, "death_date", "before_birth", lambda: pl.col("death_date") >= pl.col("birth_date")),
    ]
