"""The adapters, in detection order (the first whose `detect` says yes reads the folder), and the
one way to open an extract: its format resolved (given, or detected), its headers checked, its
tables planned for reading in batches."""

from __future__ import annotations

from pathlib import Path

from cramp_audit.transforms import canonical, fhir, mimic, omop, synthea
from cramp_audit.transforms.base import Adapter, Extract, ExtractError

# FHIR and MIMIC-IV are told by their file names; Synthea's patients.csv by its header (before the
# canonical format, which also has a patients.csv).
ADAPTERS: tuple[Adapter, ...] = (fhir, mimic, omop, synthea, canonical)
BY_FORMAT: dict[str, Adapter] = {adapter.FORMAT: adapter for adapter in ADAPTERS}
FORMATS = tuple(BY_FORMAT)

EXPECTED = (
    "expected one of: canonical (patients, diagnoses, medications as .csv, .csv.gz or .parquet), "
    "Synthea CSV (patients.csv + conditions.csv), OMOP CDM (person.csv + condition_occurrence.csv), "
    "MIMIC-IV (hosp/patients.csv.gz + hosp/admissions.csv.gz) or FHIR bulk NDJSON (Patient.*.ndjson)"
)


def _require_folder(source: Path) -> None:
    if not source.exists():
        raise ExtractError(f"{source}: no such folder")
    if not source.is_dir():
        raise ExtractError(f"{source}: not a folder (an extract is a folder with one file per table)")


def detect_format(source: Path) -> str:
    """The format of the first adapter that recognises the folder; ExtractError when none does."""
    _require_folder(source)
    for adapter in ADAPTERS:
        if adapter.detect(source):
            return adapter.FORMAT
    raise ExtractError(f"{source}: cannot tell the extract format; {EXPECTED}")


def adapter_for(source: Path, requested: str | None = None) -> Adapter:
    """The adapter of the requested format, else of the detected one (the folder must exist)."""
    _require_folder(source)
    if requested is None:
        return BY_FORMAT[detect_format(source)]
    if requested not in BY_FORMAT:
        raise ExtractError(f"unknown format '{requested}' (expected one of {', '.join(FORMATS)})")
    return BY_FORMAT[requested]


def preflight(source: Path, requested: str | None = None) -> str:
    """Refuses an unreadable extract cheaply (format, required files and columns, from names and
    headers), before anything is read or written; returns the format."""
    adapter = adapter_for(source, requested)
    adapter.check(source)
    return adapter.FORMAT


def open_extract(source: Path, requested: str | None = None, batch_rows: int | None = None) -> Extract:
    """The extract, checked and planned (check_extract, then the adapter's read)."""
    adapter = adapter_for(source, requested)
    adapter.check(source)
    return adapter.read(source, batch_rows)
