"""pandera model of labs: a value that is not a number is repaired (kept in value_text), an
unknown unit is nulled (the rules then do not use the value, and count it)."""

from cramp_audit.schemas.checks import RowCheck, known_unit
from cramp_audit.schemas.spec import LABS
from cramp_audit.schemas.units import known_units

TABLE = LABS


def extra_checks() -> list[RowCheck]:
    return [known_unit(TABLE, "unit", known_units("lab"))]
