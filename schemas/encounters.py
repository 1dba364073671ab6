"""pandera model of encounters: the column checks of schemas/spec.py (unique encounter_id,
known patient, end not before start) and nothing table-specific."""

from cramp_audit.schemas.checks import RowCheck
from cramp_audit.schemas.spec import ENCOUNTERS

TABLE = ENCOUNTERS


def extra_checks() -> list[RowCheck]:
    return []
