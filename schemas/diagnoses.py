"""pandera model of diagnoses: the column checks of schemas/spec.py (known patient and code
system, plausible dates) and nothing table-specific."""

from cramp_audit.schemas.checks import RowCheck
from cramp_audit.schemas.spec import DIAGNOSES

TABLE = DIAGNOSES


def extra_checks() -> list[RowCheck]:
    return []
