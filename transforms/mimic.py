"""Adapter for MIMIC-IV (v2.x layout: hosp/, icu/, mapping/; files .csv or .csv.gz). Only the hosp
module and the lab-to-LOINC map are read.

Date shifting. MIMIC moves each patient's dates into 2110-2201 by a per-patient offset and
publishes `anchor_year` (shifted) with `anchor_year_group` (the real 3-year range that anchor year
falls in). Every date of a patient is moved back by one constant number of days: from
1 January of anchor_year to 1 January of the middle year of anchor_year_group ("2011 - 2013" ->
2012). Intervals within a patient are therefore exact; the real calendar position is right to
within about a year and a half, which is all MIMIC discloses. birth_date = 1 January of
(real anchor year - anchor_age). extract_date = the latest mapped date in the extract.

Mapping choices:
- patients: no site (one hospital); admissions -> encounters, class "observation" for the
  observation admission types and "inpatient" otherwise, provider = admit_provider_id.
- diagnoses_icd: ICD9CM / ICD10CM by icd_version, dated by the admission's admittime, titled
  from d_icd_diagnoses when present.
- prescriptions: order_id = `prescriptions:<row>` (pharmacy_id and poe_id repeat across the
  components of one order, so only the row is unique); NDC when present and not 0, else LOCAL with
  the drug name as code; dose_val_rx / dose_unit_rx / doses_per_24_hrs / route as given.
- labevents: LOINC where mapping/d_labitems_to_loinc maps the itemid, else LOCAL itemid; the
  d_labitems label is the description; value_text only when there is no valuenum.
- procedures: procedures_icd (ICD9CM / ICD10PCS by icd_version, titled from d_icd_procedures) and
  new Radiology orders of poe (LOCAL, order_subtype as code and description, "Radiology"
  when it has none). Other poe rows, and
  radiology rows that change or discontinue an earlier order, are counted as skipped.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from cramp_audit.schemas.spec import DIAGNOSES, ENCOUNTERS, LABS, MEDICATIONS, PATIENTS, PROCEDURES
from cramp_audit.transforms.base import Extract, ExtractError, require_folder
from cramp_audit.transforms.common import (
    Part,
    SourceFile,
    build_extract,
    date_part,
    find_csv,
    part,
    require_file,
    row_order_id,
    scan_csv,
    text_null,
)
from cramp_audit.transforms.files import extract_error

FORMAT = "mimic"
EXPECTED = "MIMIC-IV: hosp/patients.csv.gz and hosp/admissions.csv.gz"
REQUIRED_STEMS = ("patients", "admissions")  # in hosp/
SHIFT_DAYS = "_shift_days"


def _shifts(patients: SourceFile) -> pl.LazyFrame:
    """Per subject_id: days to add to a shifted date to get the real one, and the birth date."""
    patients.require("subject_id", "anchor_age", "anchor_year", "anchor_year_group")
    group = pl.col("anchor_year_group")
    real_year = ((group.str.extract(r"^\s*(\d{4})", 1).cast(pl.Int32, strict=False)
                  + group.str.extract(r"(\d{4})\s*$", 1).cast(pl.Int32, strict=False)) // 2)
    anchor_year = pl.col("anchor_year").cast(pl.Int32, strict=False)
    shift = (pl.date(real_year, 1, 1) - pl.date(anchor_year, 1, 1)).dt.total_days()
    birth_year = real_year - pl.col("anchor_age").cast(pl.Int32, strict=False)
    return patients.frame.select(
        "subject_id", shift.alias(SHIFT_DAYS),
        pl.date(birth_year, 1, 1).dt.to_string("%Y-%m-%d").alias("_birth_date"),
    ).unique("subject_id", keep="first")


def _with_shift(frame: pl.LazyFrame, shifts: pl.LazyFrame) -> pl.LazyFrame:
    return frame.join(shifts.select("subject_id", SHIFT_DAYS), on="subject_id", how="left", maintain_order="left")


def real_date(value: pl.Expr) -> pl.Expr:
    """A shifted date or timestamp moved back into real time (needs SHIFT_DAYS on the row); a value
    that is not a date, or of a patient without an anchor, passes through for validation to judge."""
    text = date_part(value)
    parsed = text.str.to_date("%Y-%m-%d", strict=False)
    moved = (parsed + pl.duration(days=pl.col(SHIFT_DAYS))).dt.to_string("%Y-%m-%d")
    return pl.when(parsed.is_not_null() & pl.col(SHIFT_DAYS).is_not_null()).then(moved).otherwise(text)


def _patients(source: SourceFile, shifts: pl.LazyFrame) -> Part:
    frame = source.frame.join(shifts, on="subject_id", how="left", maintain_order="left")
    return part(PATIENTS, source, frame, {
        "patient_id": pl.col("subject_id"),
        "birth_date": pl.col("_birth_date"),
        "sex": source.col("gender").str.to_uppercase(),
        "death_date": real_date(source.col("dod")),
    })


def _encounters(source: SourceFile, shifts: pl.LazyFrame) -> Part:
    source.require("subject_id", "hadm_id", "admittime")
    kind = source.col("admission_type").str.to_uppercase()
    return part(ENCOUNTERS, source, _with_shift(source.frame, shifts), {
        "encounter_id": pl.col("hadm_id"),
        "patient_id": pl.col("subject_id"),
        "start_date": real_date(pl.col("admittime")),
        "end_date": real_date(source.col("dischtime")),
        "encounter_class": pl.when(kind.str.contains("OBSERVATION")).then(pl.lit("observation"))
        .when(kind.is_not_null()).then(pl.lit("inpatient")),
        "provider_id": source.col("admit_provider_id"),
    })


def _titles(dictionary: SourceFile | None) -> pl.LazyFrame | None:
    if dictionary is None or not {"icd_code", "icd_version", "long_title"} <= dictionary.columns:
        return None
    return dictionary.frame.select("icd_code", "icd_version", pl.col("long_title").alias("_title")).unique(
        ["icd_code", "icd_version"], keep="first")


def _with_titles(frame: pl.LazyFrame, titles: pl.LazyFrame | None) -> pl.LazyFrame:
    if titles is None:
        return frame.with_columns(text_null().alias("_title"))
    return frame.join(titles, on=["icd_code", "icd_version"], how="left", maintain_order="left")


def _diagnoses(source: SourceFile, admissions: SourceFile, shifts: pl.LazyFrame,
               titles: pl.LazyFrame | None) -> Part:
    source.require("subject_id", "hadm_id", "icd_code", "icd_version")
    admitted = admissions.frame.select("hadm_id", pl.col("admittime").alias("_admittime")).unique(
        "hadm_id", keep="first")
    frame = _with_titles(_with_shift(source.frame, shifts), titles).join(
        admitted, on="hadm_id", how="left", maintain_order="left")
    version = pl.col("icd_version").str.strip_chars()
    return part(DIAGNOSES, source, frame, {
        "patient_id": pl.col("subject_id"),
        "encounter_id": pl.col("hadm_id"),
        "code_system": pl.when(version == "9").then(pl.lit("ICD9CM")).when(version == "10").then(pl.lit("ICD10CM"))
        .otherwise(pl.concat_str(pl.lit("ICD version "), version)),
        "code": pl.col("icd_code"),
        "description": pl.col("_title"),
        "recorded_date": real_date(pl.col("_admittime")),
    })


def _medications(source: SourceFile, shifts: pl.LazyFrame) -> Part:
    source.require("subject_id", "drug", "starttime")
    ndc = source.col("ndc").str.strip_chars()
    has_ndc = ndc.is_not_null() & ~ndc.str.contains(r"^0*$")
    return part(MEDICATIONS, source, _with_shift(source.frame, shifts), {
        "order_id": row_order_id("prescriptions"),
        "patient_id": pl.col("subject_id"),
        "encounter_id": source.col("hadm_id"),
        "code_system": pl.when(has_ndc).then(pl.lit("NDC")).otherwise(pl.lit("LOCAL")),
        "code": pl.when(has_ndc).then(ndc).otherwise(pl.col("drug")),
        "description": pl.col("drug"),
        "start_date": real_date(pl.col("starttime")),
        "end_date": real_date(source.col("stoptime")),
        "dose_value": source.col("dose_val_rx"),
        "dose_unit": source.col("dose_unit_rx"),
        "frequency_per_day": source.col("doses_per_24_hrs"),
        "route": source.col("route"),
        "prescriber_id": source.col("order_provider_id"),
    })


def _lab_items(items: SourceFile | None, loinc: SourceFile | None) -> pl.LazyFrame:
    """itemid -> label and, where mapped, LOINC code."""
    frames: list[pl.LazyFrame] = []
    if items is not None and {"itemid", "label"} <= items.columns:
        frames.append(items.frame.select("itemid", pl.col("label").alias("_label"), text_null().alias("_loinc")))
    if loinc is not None:
        # The map's id column is "itemid (omop_source_code)" (SSSOM naming).
        item_column = next((c for c in sorted(loinc.columns) if c.startswith("itemid")), None)
        if item_column is None or not {"omop_vocabulary_id", "omop_concept_code"} <= loinc.columns:
            raise ExtractError(f"{loinc.path}: expected columns itemid, omop_vocabulary_id, omop_concept_code")
        frames.append(loinc.frame.select(
            pl.col(item_column).alias("itemid"), loinc.col("label").alias("_label"),
            pl.when(pl.col("omop_vocabulary_id") == "LOINC").then(pl.col("omop_concept_code")).alias("_loinc")))
    if not frames:
        return pl.LazyFrame(schema={"itemid": pl.String, "_label": pl.String, "_loinc": pl.String})
    return pl.concat(frames).group_by("itemid").agg(
        pl.col("_label").drop_nulls().first(), pl.col("_loinc").drop_nulls().first())


def _labs(source: SourceFile, shifts: pl.LazyFrame, items: pl.LazyFrame) -> Part:
    source.require("subject_id", "itemid", "charttime")
    frame = _with_shift(source.frame, shifts).join(items, on="itemid", how="left", maintain_order="left")
    value = source.col("valuenum")
    return part(LABS, source, frame, {
        "patient_id": pl.col("subject_id"),
        "encounter_id": source.col("hadm_id"),
        "code_system": pl.when(pl.col("_loinc").is_not_null()).then(pl.lit("LOINC")).otherwise(pl.lit("LOCAL")),
        "code": pl.coalesce(pl.col("_loinc"), pl.col("itemid")),
        "description": pl.col("_label"),
        "collected_date": real_date(pl.col("charttime")),
        "value_numeric": value,
        "value_text": pl.when(value.is_null()).then(source.col("value")),
        "unit": source.col("valueuom"),
        "ref_low": source.col("ref_range_lower"),
        "ref_high": source.col("ref_range_upper"),
    })


def _icd_procedures(source: SourceFile, shifts: pl.LazyFrame, titles: pl.LazyFrame | None) -> Part:
    source.require("subject_id", "icd_code", "icd_version", "chartdate")
    version = pl.col("icd_version").str.strip_chars()
    return part(PROCEDURES, source, _with_titles(_with_shift(source.frame, shifts), titles), {
        "patient_id": pl.col("subject_id"),
        "encounter_id": source.col("hadm_id"),
        "code_system": pl.when(version == "9").then(pl.lit("ICD9CM")).when(version == "10").then(pl.lit("ICD10PCS"))
        .otherwise(pl.concat_str(pl.lit("ICD version "), version)),
        "code": pl.col("icd_code"),
        "description": pl.col("_title"),
        "performed_date": real_date(pl.col("chartdate")),
    })


def _radiology_orders(source: SourceFile, shifts: pl.LazyFrame) -> Part:
    source.require("subject_id", "order_type", "ordertime")
    transaction = source.col("transaction_type")
    skip = (pl.when(pl.col("order_type").is_null() | (pl.col("order_type") != "Radiology"))
            .then(pl.lit("MIMIC provider order that is not a radiology order"))
            .when(transaction.is_not_null() & (transaction != "New"))
            .then(pl.lit("MIMIC radiology order entry that changes or discontinues an earlier order")))
    # An order without a subtype is still a radiology order.
    kind = pl.coalesce(source.col("order_subtype"), pl.lit("Radiology"))
    return part(PROCEDURES, source, _with_shift(source.frame, shifts), {
        "patient_id": pl.col("subject_id"),
        "encounter_id": source.col("hadm_id"),
        "code_system": pl.lit("LOCAL"),
        "code": kind,
        "description": kind,
        "performed_date": real_date(pl.col("ordertime")),
    }, skip_reason=skip)


def latest_date(parts: list[Part]) -> date | None:
    """The latest date anywhere in the canonical tables the parts make (unparseable values ignored):
    one small aggregation per part, so the tables are never held whole to find it."""
    plans = [p.rows.select(pl.max_horizontal(*[pl.col(c.name).str.to_date("%Y-%m-%d", strict=False).max()
                                               for c in p.table.columns if c.dtype == "date"]).alias("latest"))
             for p in parts]
    try:
        found = [frame["latest"][0] for frame in pl.collect_all(plans)]
    except pl.exceptions.PolarsError as exc:
        raise extract_error(exc, FORMAT, [p.path for p in parts if p.path is not None]) from exc
    found = [d for d in found if d is not None]
    return max(found) if found else None


def detect(source: Path) -> bool:
    return all(find_csv(source / "hosp", stem) is not None for stem in REQUIRED_STEMS)


def check(source: Path) -> None:
    require_folder(source)
    for stem in REQUIRED_STEMS:
        require_file(source / "hosp", stem, EXPECTED)


def read(source: Path, batch_rows: int | None = None) -> Extract:
    """The extract its per-file parts make, read batch_rows rows at a time (common.build_extract)."""
    require_folder(source)
    hosp = source / "hosp"
    patients_path = require_file(hosp, "patients", EXPECTED)
    admissions_path = require_file(hosp, "admissions", EXPECTED)
    files = [patients_path, admissions_path]

    def optional(folder: Path, stem: str) -> SourceFile | None:
        path = find_csv(folder, stem)
        if path is None:
            return None
        files.append(path)
        return scan_csv(path, source)

    patients = scan_csv(patients_path, source)
    admissions = scan_csv(admissions_path, source)
    shifts = _shifts(patients)
    parts = [_patients(patients, shifts), _encounters(admissions, shifts)]
    diagnoses = optional(hosp, "diagnoses_icd")
    if diagnoses is not None:
        parts.append(_diagnoses(diagnoses, admissions, shifts, _titles(optional(hosp, "d_icd_diagnoses"))))
    prescriptions = optional(hosp, "prescriptions")
    if prescriptions is not None:
        parts.append(_medications(prescriptions, shifts))
    labevents = optional(hosp, "labevents")
    if labevents is not None:
        items = _lab_items(optional(hosp, "d_labitems"), optional(source / "mapping", "d_labitems_to_loinc"))
        parts.append(_labs(labevents, shifts, items))
    procedures = optional(hosp, "procedures_icd")
    if procedures is not None:
        parts.append(_icd_procedures(procedures, shifts, _titles(optional(hosp, "d_icd_procedures"))))
    poe = optional(hosp, "poe")
    if poe is not None:
        parts.append(_radiology_orders(poe, shifts))

    return build_extract(FORMAT, parts, files, extract_date=latest_date(parts), batch_rows=batch_rows)
