"""pandera model of procedures (imaging, tests, referrals): the column checks of schemas/spec.py."""

from schemas.checks import RowCheck
from schemas.spec import PROCEDURES

TABLE = PROCEDURES


def extra_checks() -> list[RowCheck]:
    return []
