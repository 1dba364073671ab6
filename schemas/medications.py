"""pandera model of medications: unique order_id; doses and frequencies must be positive and
units known, else that one field is nulled (the order itself is still good evidence)."""

from cramp_audit.schemas.checks import RowCheck, known_unit, one_of, positive
from cramp_audit.schemas.spec import MEDICATION_STATUSES, MEDICATIONS
from cramp_audit.schemas.units import known_units

TABLE = MEDICATIONS


def extra_checks() -> list[RowCheck]:
    return [
        positive(TABLE, "dose_value"),
        positive(TABLE, "frequency_per_day"),
        known_unit(TABLE, "dose_unit", known_units("dose")),
        one_of(TABLE, "status", MEDICATION_STATUSES),
    ]
