"""Which format an extract folder is in, from its file names (and, to tell Synthea's patients.csv
from the canonical one, the first line of a file)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from transforms.base import ExtractError
from transforms.common import find_csv
from transforms.fhir import resource_files
from transforms.files import find_table_file

EXPECTED = (
    "expected one of: canonical (patients, diagnoses, medications as .csv, .csv.gz or .parquet), "
    "Synthea CSV (patients.csv + conditions.csv), OMOP CDM (person.csv + condition_occurrence.csv), "
    "MIMIC-IV (hosp/patients.csv.gz + hosp/admissions.csv.gz) or FHIR bulk NDJSON (Patient.*.ndjson)"
)
# Synthea writes these header names in exactly this case; the canonical format uses lower case.
SYNTHEA_HEADERS = {"patients": {"Id", "BIRTHDATE"}, "conditions": {"START", "PATIENT"}}


def _header(path: Path) -> set[str]:
    try:
        return set(pl.scan_csv(path, infer_schema=False, n_rows=0).collect_schema().names())
    except (OSError, pl.exceptions.PolarsError):
        return set()


def _is_synthea(folder: Path) -> bool:
    found = {stem: find_csv(folder, stem) for stem in SYNTHEA_HEADERS}
    if any(path is None for path in found.values()):
        return False
    return any(SYNTHEA_HEADERS[stem] <= _header(path) for stem, path in found.items() if path is not None)


def _has_all(folder: Path, stems: tuple[str, ...], finder=find_csv) -> bool:
    return folder.is_dir() and all(finder(folder, stem) is not None for stem in stems)


def detect_format(source: Path) -> str:
    """"canonical", "synthea", "omop", "mimic" or "fhir"; ExtractError when none matches."""
    if not source.is_dir():
        raise ExtractError(f"{source}: not a folder (an extract is a folder with one file per table)")
    if "Patient" in resource_files(source):
        return "fhir"
    if _has_all(source / "hosp", ("patients", "admissions")):
        return "mimic"
    if _has_all(source, ("person", "condition_occurrence")):
        return "omop"
    if _is_synthea(source):
        return "synthea"
    if _has_all(source, ("patients", "diagnoses", "medications"), finder=find_table_file):
        return "canonical"
    raise ExtractError(f"{source}: cannot tell the extract format; {EXPECTED}")
