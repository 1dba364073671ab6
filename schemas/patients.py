"""pandera model of patients: unique key, dates, sex; death before birth cannot be placed (rejected)."""

import polars as pl

from schemas.checks import REJECTED, RowCheck, one_of
from schemas.spec import PATIENTS, SEXES

TABLE = PATIENTS


def extra_checks() -> list[RowCheck]:
    return [
        one_of("sex", list(SEXES), "sex"),
        RowCheck("death_date", "before_birth", lambda: pl.col("death_date") >= pl.col("birth_date"), REJECTED,
                 "death_date before birth_date"),
    ]
