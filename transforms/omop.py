"""Adapter for OMOP CDM v5.4 as CSV or CSV.gz (file and column names in any case).

Mapping choices:
- Codes: the CONCEPT table shipped with the extract gives vocabulary and code. The standard
  concept (`*_concept_id`) is used when its vocabulary is one the canonical table accepts, else the
  source concept (`*_source_concept_id`), else the `*_source_value` as a LOCAL code (described by
  whichever concept name is known, so it can still be matched by text).
- person: birth date from birth_datetime, else year/month/day (missing month or day = 01);
  death_date from DEATH (earliest per person; records of unknown persons are counted as
  skipped); site_id = care_site_id, else the care site of most of the person's visits.
- drug_exposure: order_id = drug_exposure_id. When quantity, days_supply and a single-ingredient
  DRUG_STRENGTH amount are all known, dose_value is the daily amount (quantity x amount /
  days_supply) with frequency_per_day = 1; otherwise dose_value is the strength (DRUG_STRENGTH, or
  the drug's name "40 MG Oral Tablet") with frequency unknown.
- measurement -> labs, except rows with no numeric value whose concept is not a lab test
  (counted as skipped).
- extract_date: CDM_SOURCE.source_release_date (else cdm_release_date).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from cramp_audit.schemas.code_systems import code_system_token
from cramp_audit.schemas.spec import CODE_SYSTEMS, DIAGNOSES, ENCOUNTERS, LABS, MEDICATIONS, PATIENTS, PROCEDURES, Table
from cramp_audit.transforms.base import Extract, Skipped, require_folder
from cramp_audit.transforms.common import (
    Part,
    SourceFile,
    attributed_site,
    build_extract,
    date_part,
    find_csv,
    number_text,
    part,
    require_file,
    route_from_description,
    scan_csv,
    strength_from_description,
    text_null,
)
from cramp_audit.transforms.files import file_error

FORMAT = "omop"
EXPECTED = "OMOP CDM: person.csv and condition_occurrence.csv"
REQUIRED_STEMS = ("person", "condition_occurrence")

SEX_BY_GENDER_CONCEPT = {"8507": "M", "8532": "F", "8521": "O", "8551": "U"}
# OMOP visit concepts -> the canonical encounter classes; others fall back to the concept name.
CLASS_BY_VISIT_CONCEPT = {
    "9202": "ambulatory", "581477": "ambulatory", "9201": "inpatient", "262": "inpatient",
    "9203": "emergency", "5083": "virtual", "581476": "home", "32036": "ambulatory",
}


class Concepts:
    """CONCEPT as a lookup: id -> canonical token, code, name (and class, for 'is this a lab')."""

    def __init__(self, source: SourceFile | None) -> None:
        if source is None:
            self.frame = pl.LazyFrame(schema={c: pl.String for c in (
                "concept_id", "token", "concept_code", "concept_name", "concept_class_id")})
            return
        source.require("concept_id", "vocabulary_id", "concept_code")
        # Concept 0 is "No matching concept": treat it as no concept at all. Read once (a full
        # vocabulary has millions of concepts, and every fact table joins it more than once).
        lookup = source.frame.filter(pl.col("concept_id") != "0").select(
            pl.col("concept_id"), code_system_token(pl.col("vocabulary_id")).alias("token"),
            pl.col("concept_code"), source.col("concept_name").alias("concept_name"),
            source.col("concept_class_id").alias("concept_class_id")).unique("concept_id", keep="first")
        try:
            self.frame = lookup.collect().lazy()
        except pl.exceptions.PolarsError as exc:
            raise file_error(source.path, str(source.path), exc) from exc

    def attach(self, frame: pl.LazyFrame, id_column: str | None, prefix: str) -> pl.LazyFrame:
        """Adds `<prefix>token`, `<prefix>code`, `<prefix>name`, `<prefix>class` for the concept in
        `id_column` (all null when the table lacks that column)."""
        names = {"token": f"{prefix}token", "concept_code": f"{prefix}code",
                 "concept_name": f"{prefix}name", "concept_class_id": f"{prefix}class"}
        if id_column is None:
            return frame.with_columns(*[text_null().alias(n) for n in names.values()])
        lookup = self.frame.rename({"concept_id": "_concept_id", **names})
        return frame.join(lookup, left_on=id_column, right_on="_concept_id", how="left", maintain_order="left")


def _coded(source: SourceFile, concepts: Concepts, table: Table, stem: str) -> tuple[pl.LazyFrame, dict]:
    """The row's code: standard concept, else source concept, when accepted by the table; else the
    source value as a LOCAL code."""
    accepted = list(CODE_SYSTEMS[table.name])
    frame = concepts.attach(source.frame, f"{stem}_concept_id" if f"{stem}_concept_id" in source.columns
                            else None, "_std_")
    frame = concepts.attach(frame, f"{stem}_source_concept_id" if f"{stem}_source_concept_id" in source.columns
                            else None, "_src_")
    std_ok = pl.col("_std_token").is_in(accepted)
    src_ok = pl.col("_src_token").is_in(accepted)
    source_value = source.col(f"{stem}_source_value")
    values = {
        "code_system": pl.when(std_ok).then(pl.col("_std_token")).when(src_ok).then(pl.col("_src_token"))
        .when(source_value.is_not_null()).then(pl.lit("LOCAL")),
        "code": pl.when(std_ok).then(pl.col("_std_code")).when(src_ok).then(pl.col("_src_code"))
        .otherwise(source_value),
        "description": pl.when(std_ok).then(pl.col("_std_name")).when(src_ok).then(pl.col("_src_name"))
        .otherwise(pl.coalesce(pl.col("_std_name"), pl.col("_src_name"), source_value)),
    }
    return frame, values


def _birth_date(source: SourceFile) -> pl.Expr:
    def two_digits(name: str) -> pl.Expr:
        return pl.coalesce(source.col(name), pl.lit("1")).str.zfill(2)

    assembled = pl.when(source.col("year_of_birth").is_not_null()).then(pl.concat_str(
        source.col("year_of_birth"), pl.lit("-"), two_digits("month_of_birth"), pl.lit("-"),
        two_digits("day_of_birth")))
    return pl.coalesce(date_part(source.col("birth_datetime")), assembled)


def _deaths(death: SourceFile | None, persons: SourceFile) -> tuple[pl.LazyFrame | None, list[pl.LazyFrame]]:
    """Earliest death date per person, and the death rows that cannot be placed on a person."""
    if death is None:
        return None, []
    death.require("person_id", "death_date")
    known = persons.frame.select("person_id").unique()
    per_person = death.frame.group_by("person_id").agg(
        date_part(pl.col("death_date")).min().alias("_death_date"), pl.len().alias("_records"))
    unknown = death.frame.join(known, on="person_id", how="anti").select(pl.len().alias("rows"))
    extra = per_person.join(known, on="person_id", how="semi").select(
        (pl.col("_records") - 1).sum().alias("rows"))
    return per_person.select("person_id", "_death_date"), [unknown, extra]


def _patients(source: SourceFile, death: SourceFile | None, visits: Part | None) -> tuple[Part, list[pl.LazyFrame]]:
    source.require("person_id")
    frame = source.frame
    deaths, death_checks = _deaths(death, source)
    if deaths is not None:
        frame = frame.join(deaths, on="person_id", how="left", maintain_order="left")
    site = source.col("care_site_id")
    if visits is not None:
        attributed = attributed_site(visits.rows).rename({"patient_id": "person_id", "site_id": "_visit_site"})
        frame = frame.join(attributed, on="person_id", how="left", maintain_order="left")
        site = pl.coalesce(site, pl.col("_visit_site"))
    gender = source.col("gender_concept_id")
    return part(PATIENTS, source, frame, {
        "patient_id": pl.col("person_id"),
        "birth_date": _birth_date(source),
        "sex": gender.replace_strict(SEX_BY_GENDER_CONCEPT, default=None, return_dtype=pl.String),
        "death_date": pl.col("_death_date") if deaths is not None else text_null(),
        "site_id": site,
    }), death_checks


def _encounters(source: SourceFile, concepts: Concepts) -> Part:
    source.require("visit_occurrence_id", "person_id", "visit_start_date")
    frame = concepts.attach(source.frame, "visit_concept_id" if "visit_concept_id" in source.columns else None,
                            "_visit_")
    visit = source.col("visit_concept_id")
    return part(ENCOUNTERS, source, frame, {
        "encounter_id": pl.col("visit_occurrence_id"),
        "patient_id": pl.col("person_id"),
        "start_date": date_part(pl.col("visit_start_date")),
        "end_date": date_part(source.col("visit_end_date")),
        "encounter_class": pl.coalesce(
            visit.replace_strict(CLASS_BY_VISIT_CONCEPT, default=None, return_dtype=pl.String),
            pl.col("_visit_name").str.to_lowercase()),
        "site_id": source.col("care_site_id"),
        "provider_id": source.col("provider_id"),
    })


def _diagnoses(source: SourceFile, concepts: Concepts) -> Part:
    source.require("person_id", "condition_start_date")
    frame, coded = _coded(source, concepts, DIAGNOSES, "condition")
    return part(DIAGNOSES, source, frame, {
        "patient_id": pl.col("person_id"),
        "encounter_id": source.col("visit_occurrence_id"),
        **coded,
        "recorded_date": date_part(pl.col("condition_start_date")),
        "resolved_date": date_part(source.col("condition_end_date")),
    })


def _drug_strengths(strength: SourceFile | None, concepts: Concepts) -> pl.LazyFrame | None:
    """Per single-ingredient drug: amount per unit of the dose form and its unit (UCUM code)."""
    if strength is None or not {"drug_concept_id", "amount_value"} <= strength.columns:
        return None
    single = strength.frame.group_by("drug_concept_id").agg(
        pl.len().alias("_ingredients"), pl.col("amount_value").first().alias("_amount"),
        strength.col("amount_unit_concept_id").first().alias("_amount_unit_id"))
    single = single.filter((pl.col("_ingredients") == 1) & pl.col("_amount").is_not_null())
    units = concepts.frame.select(pl.col("concept_id").alias("_amount_unit_id"),
                                  pl.col("concept_code").alias("_amount_unit")).unique("_amount_unit_id")
    return single.join(units, on="_amount_unit_id", how="left").select("drug_concept_id", "_amount", "_amount_unit")


def _medications(source: SourceFile, concepts: Concepts, strength: SourceFile | None) -> Part:
    source.require("drug_exposure_id", "person_id", "drug_exposure_start_date")
    frame, coded = _coded(source, concepts, MEDICATIONS, "drug")
    strengths = _drug_strengths(strength, concepts)
    if strengths is not None and "drug_concept_id" in source.columns:
        frame = frame.join(strengths, on="drug_concept_id", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(text_null().alias("_amount"), text_null().alias("_amount_unit"))
    amount = pl.col("_amount").cast(pl.Float64, strict=False)
    quantity = source.col("quantity").cast(pl.Float64, strict=False)
    days = source.col("days_supply").cast(pl.Float64, strict=False)
    daily_known = (quantity > 0) & (days > 0) & amount.is_not_null()
    named_strength, named_unit = strength_from_description(coded["description"])
    frame = concepts.attach(frame, "route_concept_id" if "route_concept_id" in source.columns else None, "_route_")
    return part(MEDICATIONS, source, frame, {
        "order_id": pl.col("drug_exposure_id"),
        "patient_id": pl.col("person_id"),
        "encounter_id": source.col("visit_occurrence_id"),
        **coded,
        "start_date": date_part(pl.col("drug_exposure_start_date")),
        "end_date": date_part(source.col("drug_exposure_end_date")),
        "dose_value": pl.when(daily_known).then(number_text(quantity * amount / days))
        .otherwise(pl.coalesce(pl.col("_amount"), named_strength)),
        "dose_unit": pl.when(amount.is_not_null()).then(pl.col("_amount_unit")).otherwise(named_unit),
        # Only a computed daily amount has a known frequency (one "dose" of that amount a day).
        "frequency_per_day": pl.when(daily_known).then(pl.lit("1")),
        "route": pl.coalesce(pl.col("_route_name").str.to_lowercase(), source.col("route_source_value"),
                             route_from_description(coded["description"])),
        "prescriber_id": source.col("provider_id"),
    })


def _labs(source: SourceFile, concepts: Concepts) -> Part:
    source.require("person_id", "measurement_date")
    frame, coded = _coded(source, concepts, LABS, "measurement")
    frame = concepts.attach(frame, "unit_concept_id" if "unit_concept_id" in source.columns else None, "_unit_")
    frame = concepts.attach(frame, "value_as_concept_id" if "value_as_concept_id" in source.columns else None,
                            "_value_")
    value = source.col("value_as_number")
    is_lab = (pl.col("_std_class") == "Lab Test") | (pl.col("_src_class") == "Lab Test")
    skip = pl.when(value.is_null() & ~is_lab.fill_null(False)).then(
        pl.lit("OMOP measurement without a numeric value and not a lab"))
    return part(LABS, source, frame, {
        "patient_id": pl.col("person_id"),
        "encounter_id": source.col("visit_occurrence_id"),
        **coded,
        "collected_date": date_part(pl.col("measurement_date")),
        "value_numeric": value,
        "value_text": pl.when(value.is_null()).then(
            pl.coalesce(source.col("value_source_value"), pl.col("_value_name"))),
        "unit": pl.coalesce(source.col("unit_source_value"), pl.col("_unit_code")),
        "ref_low": source.col("range_low"),
        "ref_high": source.col("range_high"),
    }, skip_reason=skip)


def _procedures(source: SourceFile, concepts: Concepts) -> Part:
    source.require("person_id", "procedure_date")
    frame, coded = _coded(source, concepts, PROCEDURES, "procedure")
    return part(PROCEDURES, source, frame, {
        "patient_id": pl.col("person_id"),
        "encounter_id": source.col("visit_occurrence_id"),
        **coded,
        "performed_date": date_part(pl.col("procedure_date")),
    })


def _extract_date(cdm_source: SourceFile | None) -> date | None:
    if cdm_source is None:
        return None
    stated = cdm_source.frame.select(pl.coalesce(
        cdm_source.col("source_release_date"), cdm_source.col("cdm_release_date")).alias("d")).collect()
    dates = stated.select(date_part(pl.col("d")).str.to_date("%Y-%m-%d", strict=False)).to_series().drop_nulls()
    return dates.max() if len(dates) else None


def detect(source: Path) -> bool:
    return all(find_csv(source, stem) is not None for stem in REQUIRED_STEMS)


def check(source: Path) -> None:
    require_folder(source)
    for stem in REQUIRED_STEMS:
        require_file(source, stem, EXPECTED)


def read(source: Path, batch_rows: int | None = None) -> Extract:
    """The extract its per-file parts make, read batch_rows rows at a time (common.build_extract)."""
    require_folder(source)
    person_path = require_file(source, "person", EXPECTED)
    require_file(source, "condition_occurrence", EXPECTED)
    files: list[Path] = []

    def optional(stem: str) -> SourceFile | None:
        path = find_csv(source, stem)
        if path is None:
            return None
        files.append(path)
        return scan_csv(path, source)

    concepts = Concepts(optional("concept"))
    visits_file = optional("visit_occurrence")
    visits = _encounters(visits_file, concepts) if visits_file else None
    person = scan_csv(person_path, source)
    files.append(person_path)
    death = optional("death")
    patients, death_checks = _patients(person, death, visits)
    parts = [patients] + ([visits] if visits else [])
    parts.append(_diagnoses(optional("condition_occurrence"), concepts))
    drugs = optional("drug_exposure")
    if drugs is not None:
        parts.append(_medications(drugs, concepts, optional("drug_strength")))
    for stem, mapper in (("measurement", _labs), ("procedure_occurrence", _procedures)):
        found = optional(stem)
        if found is not None:
            parts.append(mapper(found, concepts))

    extra: list[Skipped] = []
    if death is not None:
        try:
            unknown, repeated = (int(f.collect().item()) for f in death_checks)
        except pl.exceptions.PolarsError as exc:
            raise file_error(death.path, str(death.path), exc) from exc
        if unknown:
            extra.append(Skipped(PATIENTS.name, death.name, unknown, "OMOP death record of a person not in PERSON"))
        if repeated:
            extra.append(Skipped(PATIENTS.name, death.name, repeated,
                                 "further OMOP death record of the same person (the earliest date is used)"))
    return build_extract(FORMAT, parts, files, extract_date=_extract_date(optional("cdm_source")), extra_skipped=extra,
                         batch_rows=batch_rows)
