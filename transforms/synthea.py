"""Adapter for Synthea's native CSV export (v3 layout; later optional columns such as SYSTEM,
MIDDLE or FIPS are tolerated; files .csv or .csv.gz).

Mapping choices:
- patients.site_id: the ORGANIZATION of the encounters where the patient had most encounters
  (ties: the most recent); Synthea attributes no site to the patient itself.
- conditions and procedures are SNOMED unless a SYSTEM column names another vocabulary.
- medications have no order id: `medications:<row>`; the strength comes from the RxNorm
  DESCRIPTION ("10 MG Oral Tablet" -> 10 mg) with frequency unknown, as extract-format.md asks;
  the route comes from the dose form in the description.
- observations: only CATEGORY laboratory with TYPE numeric become labs; the rest is counted as
  skipped. Timestamps keep their date part.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from cramp_audit.schemas.code_systems import code_system_token
from cramp_audit.schemas.spec import DIAGNOSES, ENCOUNTERS, LABS, MEDICATIONS, PATIENTS, PROCEDURES
from cramp_audit.transforms.base import Extract, require_folder
from cramp_audit.transforms.common import (
    Part,
    SourceFile,
    attributed_site,
    build_extract,
    date_part,
    find_csv,
    part,
    require_file,
    route_from_description,
    row_order_id,
    scan_csv,
    strength_from_description,
    text_null,
)

FORMAT = "synthea"
EXPECTED = "Synthea CSV export: patients.csv and conditions.csv"
# Synthea writes these header names in exactly this case; the canonical format uses lower case.
SYNTHEA_HEADERS = {"patients": {"Id", "BIRTHDATE"}, "conditions": {"START", "PATIENT"}}


def _code_system(source: SourceFile, default: str) -> pl.Expr:
    """Newer Synthea adds a SYSTEM column; keep an unrecognised name as is so validation reports it."""
    if "system" not in source.columns:
        return pl.lit(default)
    system = pl.col("system")
    return (pl.when(system.is_null()).then(pl.lit(default))
            .otherwise(pl.coalesce(code_system_token(system), system)))


def _encounters(source: SourceFile) -> Part:
    source.require("id", "start", "patient")
    return part(ENCOUNTERS, source, source.frame, {
        "encounter_id": pl.col("id"),
        "patient_id": pl.col("patient"),
        "start_date": date_part(pl.col("start")),
        "end_date": date_part(source.col("stop")),
        "encounter_class": source.col("encounterclass"),
        "site_id": source.col("organization"),
        "provider_id": source.col("provider"),
    })


def _patients(source: SourceFile, encounters: Part | None) -> Part:
    source.require("id", "birthdate")
    frame = source.frame
    site = text_null()
    if encounters is not None:
        frame = frame.join(attributed_site(encounters.rows).rename({"patient_id": "id", "site_id": "_site"}),
                           on="id", how="left", maintain_order="left")
        site = pl.col("_site")
    return part(PATIENTS, source, frame, {
        "patient_id": pl.col("id"),
        "birth_date": date_part(pl.col("birthdate")),
        "sex": source.col("gender").str.to_uppercase(),
        "death_date": date_part(source.col("deathdate")),
        "site_id": site,
    })


def _diagnoses(source: SourceFile) -> Part:
    source.require("start", "patient", "code")
    return part(DIAGNOSES, source, source.frame, {
        "patient_id": pl.col("patient"),
        "encounter_id": source.col("encounter"),
        "code_system": _code_system(source, "SNOMED"),
        "code": pl.col("code"),
        "description": source.col("description"),
        "recorded_date": date_part(pl.col("start")),
        "resolved_date": date_part(source.col("stop")),
    })


def _medications(source: SourceFile) -> Part:
    source.require("start", "patient", "code")
    description = source.col("description")
    strength, unit = strength_from_description(description)
    return part(MEDICATIONS, source, source.frame, {
        "order_id": row_order_id("medications"),
        "patient_id": pl.col("patient"),
        "encounter_id": source.col("encounter"),
        "code_system": pl.lit("RXNORM"),
        "code": pl.col("code"),
        "description": description,
        "start_date": date_part(pl.col("start")),
        "end_date": date_part(source.col("stop")),
        "dose_value": strength,
        "dose_unit": unit,
        "route": route_from_description(description),
    })


def _labs(source: SourceFile) -> Part:
    source.require("date", "patient", "code", "category", "type")
    category = pl.col("category").str.to_lowercase()
    is_numeric = pl.col("type").str.to_lowercase() == "numeric"
    skip = (pl.when(category.is_null() | (category != "laboratory"))
            .then(pl.lit("Synthea observation that is not a laboratory result"))
            # Not kept as value_text: in Synthea these are questionnaire answers (LOINC 56799-0,
            # "What address do you live at?"): direct identifiers, not lab evidence.
            .when(~is_numeric | is_numeric.is_null())
            .then(pl.lit("Synthea laboratory observation with a text value (an answer such as an address)")))
    return part(LABS, source, source.frame, {
        "patient_id": pl.col("patient"),
        "encounter_id": source.col("encounter"),
        "code_system": pl.lit("LOINC"),
        "code": pl.col("code"),
        "description": source.col("description"),
        "collected_date": date_part(pl.col("date")),
        "value_numeric": source.col("value"),
        "unit": source.col("units"),
    }, skip_reason=skip)


def _procedures(source: SourceFile) -> Part:
    # Synthea before v3 called the procedure date DATE instead of START.
    start = "start" if "start" in source.columns else "date"
    source.require(start, "patient", "code")
    return part(PROCEDURES, source, source.frame, {
        "patient_id": pl.col("patient"),
        "encounter_id": source.col("encounter"),
        "code_system": _code_system(source, "SNOMED"),
        "code": pl.col("code"),
        "description": source.col("description"),
        "performed_date": date_part(pl.col(start)),
    })


def _header(path: Path) -> set[str]:
    try:
        return set(pl.scan_csv(path, infer_schema=False, n_rows=0).collect_schema().names())
    except (OSError, pl.exceptions.PolarsError):
        return set()


def detect(source: Path) -> bool:
    """patients.csv and conditions.csv, one of them with Synthea's upper-case header (the canonical
    format has a patients.csv too)."""
    found = {stem: find_csv(source, stem) for stem in SYNTHEA_HEADERS}
    return all(path is not None for path in found.values()) and any(
        SYNTHEA_HEADERS[stem] <= _header(path) for stem, path in found.items() if path is not None)


def check(source: Path) -> None:
    require_folder(source)
    for stem in SYNTHEA_HEADERS:
        require_file(source, stem, EXPECTED)


def read(source: Path, batch_rows: int | None = None) -> Extract:
    """The extract its per-file parts make, read batch_rows rows at a time (common.build_extract)."""
    require_folder(source)
    patients_path = require_file(source, "patients", EXPECTED)
    conditions_path = require_file(source, "conditions", EXPECTED)
    files = [patients_path, conditions_path]

    def optional(stem: str) -> SourceFile | None:
        path = find_csv(source, stem)
        if path is None:
            return None
        files.append(path)
        return scan_csv(path, source)

    encounters_file = optional("encounters")
    encounters = _encounters(encounters_file) if encounters_file else None
    parts = [_patients(scan_csv(patients_path, source), encounters), _diagnoses(scan_csv(conditions_path, source))]
    if encounters is not None:
        parts.append(encounters)
    for stem, mapper in (("medications", _medications), ("observations", _labs), ("procedures", _procedures)):
        found = optional(stem)
        if found is not None:
            parts.append(mapper(found))
    return build_extract(FORMAT, parts, files, batch_rows=batch_rows)
