"""pandera model of procedures (imaging, tests, referrals): the column checks of schemas/spec.py."""

from cramp_audit.schemas.checks import RowCheck
from cramp_audit.schemas.spec import PROCEDURES

TABLE = PROCEDURES


def extra_checks() -> list[RowCheck]:
    return []
