"""Writes small canonical extracts for tests: rows as dicts, every other canonical column empty."""

from __future__ import annotations

import csv
from pathlib import Path

from cramp_audit.schemas.spec import TABLES_BY_NAME

DEFAULT_PATIENT = {"patient_id": "P1", "birth_date": "1950-01-01", "sex": "F", "site_id": "S1"}
DEFAULT_DIAGNOSIS = {"patient_id": "P1", "code_system": "ICD10CM", "code": "R25.2", "recorded_date": "2025-03-01"}
DEFAULT_MEDICATION = {"order_id": "O1", "patient_id": "P1", "code_system": "RXNORM", "code": "6582",
                      "description": "magnesium oxide 400 MG Oral Tablet", "start_date": "2025-03-02",
                      "dose_value": "400", "dose_unit": "mg", "frequency_per_day": "1", "status": "active"}


def write_table(folder: Path, table: str, rows: list[dict[str, str]], extra_columns: tuple[str, ...] = ()) -> Path:
    columns = TABLES_BY_NAME[table].column_names + list(extra_columns)
    path = folder / f"{table}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def write_extract(folder: Path, patients: list[dict] | None = None, diagnoses: list[dict] | None = None,
                  medications: list[dict] | None = None, **other_tables: list[dict]) -> Path:
    """A canonical extract folder; the three required tables default to one good row each."""
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder, "patients", patients if patients is not None else [DEFAULT_PATIENT])
    write_table(folder, "diagnoses", diagnoses if diagnoses is not None else [DEFAULT_DIAGNOSIS])
    write_table(folder, "medications", medications if medications is not None else [DEFAULT_MEDICATION])
    for table, rows in other_tables.items():
        write_table(folder, table, rows)
    return folder
