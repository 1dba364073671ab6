"""Adapter for FHIR R4 bulk-export NDJSON: `<Resource>.ndjson` or `<Resource>.<anything>.ndjson`,
optionally gzipped, several files per resource allowed. Each file's top-level fields are taken
with DuckDB's JSON functions (transforms/ndjson.py) and the small fragments (codings, dosage)
with polars JSONPaths, so there is no Python loop per resource and only the fields below are ever
read (names, addresses, identifiers are not).

Mapping choices:
- Patient -> patients (site = managingOrganization, else the serviceProvider of most of the
  patient's encounters); Encounter -> encounters (class from the v3 ActCode, site from
  serviceProvider, provider from the first participant); Condition -> diagnoses (onset, else
  recordedDate); MedicationRequest -> medications (order_id = resource id); Observation of category
  laboratory -> labs; Procedure and ServiceRequest -> procedures.
- Codes: the first coding whose system the table accepts (ICD10CM before SNOMED for diagnoses);
  otherwise LOCAL with the first coding's code (or the text) and the text as description.
- References ("Patient/123", "urn:uuid:123", absolute URLs, or conditional
  "Patient?identifier=system|123") resolve to the id (for a conditional reference, the
  identifier value: Synthea uses the resource id there).
- Doses: doseQuantity with a unit is used as is; a unitless dose or one in tablets/capsules is
  multiplied by the single strength in the RxNorm text ("10 MG Oral Tablet"); the frequency comes
  from timing.repeat (frequency / period) or a timing code (BID, TID, ...). With no doseQuantity the
  strength alone is given and the frequency left unknown, as extract-format.md asks.
- A line that is not JSON, or not a resource of the file's type, is emitted as a row whose fields
  are all null: validation rejects it with its file and line number, so rows read = loaded +
  rejected + skipped. Blank lines, and resources that record nothing usable (entered in error,
  refuted, cancelled, not done, non-laboratory Observations, laboratory ServiceRequests), are
  counted as skipped.
- extract_date: the bulk export's transactionTime, from log.ndjson or manifest.json when present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl
from cramp_audit.schemas.code_systems import system_uris
from cramp_audit.schemas.spec import CODE_SYSTEMS, DIAGNOSES, ENCOUNTERS, LABS, MEDICATIONS, PATIENTS, PROCEDURES
from cramp_audit.transforms.base import Extract, ExtractError, require_folder
from cramp_audit.transforms.common import (
    Part,
    SourceFile,
    attributed_site,
    build_extract,
    date_part,
    number_text,
    part,
    relative_name,
    route_from_description,
    strength_from_description,
    text_null,
)
from cramp_audit.transforms.ndjson import BLANK, read_fields, scan_fields

FORMAT = "fhir"
EXPECTED = "FHIR bulk NDJSON: Patient.*.ndjson or Patient.*.ndjson.gz"
RESOURCE_FILE = re.compile(r"^(?P<resource>[A-Z][A-Za-z]*)(?:\..+)?\.ndjson(?:\.gz)?$")
RESOURCE_TYPE = "_resource_type"

SEX_BY_GENDER = {"male": "M", "female": "F", "other": "O", "unknown": "U"}
CLASS_BY_ACT_CODE = {
    "AMB": "ambulatory", "IMP": "inpatient", "ACUTE": "inpatient", "NONAC": "inpatient", "EMER": "emergency",
    "HH": "home", "VR": "virtual", "OBSENC": "observation", "SS": "short stay", "PRENC": "pre-admission",
    "FLD": "field",
}
DAYS_PER_PERIOD_UNIT = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}
TIMES_PER_DAY_BY_TIMING_CODE = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "AM": 1.0, "PM": 1.0, "QOD": 0.5,
                                "Q4H": 6.0, "Q6H": 4.0, "Q8H": 3.0, "Q12H": 2.0}
# Dose units that count units of the dose form, so the strength in the drug's name applies.
DOSE_FORM_UNITS = ("1", "tablet", "tablets", "tab", "tbl", "capsule", "capsules", "cap", "each", "ea")
# Preferred code system first: the billing code where the source carries one.
TOKENS_BY_TABLE = {
    "diagnoses": ("ICD10CM", "SNOMED", "ICD9CM"),
    "medications": ("RXNORM", "NDC"),
    "labs": ("LOINC",),
    "procedures": ("CPT", "HCPCS", "SNOMED", "ICD10PCS", "ICD9CM"),
}


# --------------------------------------------------------------------------------- JSON helpers
# Top-level fields come out of the resource once (ndjson.read_fields); the fragments used more than
# once (a CodeableConcept, a dosage) are then read with JSONPaths on those small columns.

def field(path: str, of: str) -> pl.Expr:
    """The value at a JSONPath in a JSON fragment column, as text."""
    return pl.col(of).str.json_path_match(path)


def with_fields(frame: pl.LazyFrame, of: str, **paths: str) -> pl.LazyFrame:
    return frame.with_columns(*[field(path, of).alias(name) for name, path in paths.items()])


def reference_id(reference: str, resource: str) -> pl.Expr:
    ref = pl.col(reference)
    return pl.coalesce(
        ref.str.extract(rf"(?:^|/){resource}/([^/?#]+)", 1),
        ref.str.extract(r"^urn:uuid:(.+)$", 1),
        ref.str.extract(rf"^{resource}\?identifier=(?:[^|]*\|)?(.+)$", 1),
    )


def any_reference_id(reference: str) -> pl.Expr:
    """The id at the end of any reference (practitioners, organizations)."""
    ref = pl.col(reference)
    return pl.coalesce(
        ref.str.extract(r"^urn:uuid:(.+)$", 1),
        ref.str.extract(r"\?identifier=(?:[^|]*\|)?(.+)$", 1),
        ref.str.extract(r"([^/]+)(?:/_history/[^/]+)?$", 1),
    )


def with_coded(frame: pl.LazyFrame, concept: pl.Expr, table: str) -> pl.LazyFrame:
    """Adds `_code_system`, `_code`, `_description` from a CodeableConcept (JSON text): the first
    coding whose system the table accepts, in TOKENS_BY_TABLE order, else LOCAL."""
    accepted = [t for t in TOKENS_BY_TABLE[table] if t in CODE_SYSTEMS[table]]
    candidates = [(token, uri) for token in accepted for uri in system_uris(token)]
    frame = frame.with_columns(concept.alias("_concept"))
    paths = {"_first_code": "$.coding[0].code", "_first_display": "$.coding[0].display", "_text": "$.text"}
    for i, (_, uri) in enumerate(candidates):
        match = f"$.coding[?(@.system=='{uri}')]"
        paths |= {f"_code{i}": f"{match}.code", f"_display{i}": f"{match}.display"}
    frame = with_fields(frame, "_concept", **paths)
    system = pl.when(pl.col("_concept").is_null()).then(text_null())
    for i, (token, _) in enumerate(candidates):
        system = system.when(pl.col(f"_code{i}").is_not_null()).then(pl.lit(token))
    system = system.when(pl.col("_first_code").is_not_null() | pl.col("_text").is_not_null()).then(pl.lit("LOCAL"))
    codes = [pl.col(f"_code{i}") for i in range(len(candidates))]
    displays = [pl.col(f"_display{i}") for i in range(len(candidates))]
    return frame.with_columns(
        system.alias("_code_system"),
        pl.coalesce(*codes, "_first_code", "_text").alias("_code"),
        pl.coalesce(*displays, "_text", "_first_display").alias("_description"),
    )


CODED = {"code_system": pl.col("_code_system"), "code": pl.col("_code"), "description": pl.col("_description")}


def _is_one_of(value: pl.Expr, options: Sequence[str]) -> pl.Expr:
    return value.is_in(list(options)).fill_null(False)


def _date(*columns: str) -> pl.Expr:
    return date_part(pl.coalesce(*columns))


# ---------------------------------------------------------------------------------- resources

def _scan(path: Path, root: Path, resource: str, **paths: str) -> tuple[SourceFile, pl.LazyFrame, pl.Expr]:
    """The file's fields, all null on a line that is not a resource of the file's type (so the row
    is rejected by validation), and the skip reason for blank lines."""
    name = relative_name(path, root)
    fields = scan_fields(path, name, {RESOURCE_TYPE: "$.resourceType", **paths})
    valid = pl.col(RESOURCE_TYPE) == resource
    frame = fields.with_columns(*[pl.when(valid).then(pl.col(n)).alias(n) for n in paths],
                                       valid.fill_null(False).alias(RESOURCE_TYPE))
    blank = pl.when(pl.col(BLANK)).then(pl.lit("blank line in an NDJSON file"))
    return SourceFile(path, name, frame, frozenset(paths)), frame, blank


def _patients(path: Path, root: Path, encounters: list[Part]) -> Part:
    source, frame, blank = _scan(path, root, "Patient", _id="$.id", _birth="$.birthDate", _gender="$.gender",
                                 _death="$.deceasedDateTime", _organization="$.managingOrganization.reference")
    site = reference_id("_organization", "Organization")
    if encounters:
        attributed = attributed_site(pl.concat([p.rows for p in encounters]))
        frame = frame.join(attributed.rename({"patient_id": "_id", "site_id": "_visit_site"}), on="_id",
                           how="left", maintain_order="left")
        site = pl.coalesce(site, pl.col("_visit_site"))
    return part(PATIENTS, source, frame, {
        "patient_id": pl.col("_id"),
        "birth_date": date_part(pl.col("_birth")),
        "sex": pl.col("_gender").replace_strict(SEX_BY_GENDER, default=None, return_dtype=pl.String),
        "death_date": date_part(pl.col("_death")),
        "site_id": site,
    }, skip_reason=blank)


def _encounters(path: Path, root: Path) -> Part:
    source, frame, blank = _scan(
        path, root, "Encounter", _id="$.id", _subject="$.subject.reference", _start="$.period.start",
        _end="$.period.end", _class="$.class.code", _status="$.status", _organization="$.serviceProvider.reference",
        _practitioner="$.participant[0].individual.reference")
    act = pl.col("_class")
    skip = blank.when(_is_one_of(pl.col("_status"), ("cancelled", "entered-in-error"))).then(
        pl.lit("FHIR Encounter cancelled or entered in error"))
    return part(ENCOUNTERS, source, frame, {
        "encounter_id": pl.col("_id"),
        "patient_id": reference_id("_subject", "Patient"),
        "start_date": date_part(pl.col("_start")),
        "end_date": date_part(pl.col("_end")),
        "encounter_class": pl.coalesce(act.replace_strict(CLASS_BY_ACT_CODE, default=None, return_dtype=pl.String),
                                       act.str.to_lowercase()),
        "site_id": any_reference_id("_organization"),
        "provider_id": any_reference_id("_practitioner"),
    }, skip_reason=skip)


SUBJECT_AND_ENCOUNTER = {"_subject": "$.subject.reference", "_encounter": "$.encounter.reference"}
PATIENT_AND_ENCOUNTER = {"patient_id": reference_id("_subject", "Patient"),
                         "encounter_id": reference_id("_encounter", "Encounter")}


def _diagnoses(path: Path, root: Path) -> Part:
    source, frame, blank = _scan(
        path, root, "Condition", **SUBJECT_AND_ENCOUNTER, _verification="$.verificationStatus.coding[0].code",
        _code_json="$.code", _onset="$.onsetDateTime", _onset_start="$.onsetPeriod.start", _recorded="$.recordedDate",
        _abatement="$.abatementDateTime", _abatement_end="$.abatementPeriod.end")
    skip = blank.when(_is_one_of(pl.col("_verification"), ("entered-in-error", "refuted"))).then(
        pl.lit("FHIR Condition entered in error or refuted"))
    return part(DIAGNOSES, source, with_coded(frame, pl.col("_code_json"), "diagnoses"), {
        **PATIENT_AND_ENCOUNTER,
        **CODED,
        "recorded_date": _date("_onset", "_onset_start", "_recorded"),
        "resolved_date": _date("_abatement", "_abatement_end"),
    }, skip_reason=skip)


def _medication_codes(paths: list[Path], root: Path) -> pl.LazyFrame | None:
    """Medication resources (id -> code JSON), for requests that use medicationReference."""
    if not paths:
        return None
    frames = [_scan(path, root, "Medication", _medication_id="$.id", _medication_code="$.code")[1]
              .select("_medication_id", "_medication_code") for path in paths]
    return pl.concat(frames).drop_nulls("_medication_id").unique("_medication_id", keep="first")


def _frequency_per_day() -> pl.Expr:
    frequency = pl.col("_frequency").cast(pl.Float64, strict=False)
    period = pl.col("_period").cast(pl.Float64, strict=False)
    days = pl.col("_period_unit").replace_strict(DAYS_PER_PERIOD_UNIT, default=None, return_dtype=pl.Float64)
    from_repeat = pl.when(period > 0).then(frequency / (period * days))
    from_code = pl.col("_timing_code").str.to_uppercase().replace_strict(
        TIMES_PER_DAY_BY_TIMING_CODE, default=None, return_dtype=pl.Float64)
    return pl.coalesce(from_repeat, from_code)


def _medications(path: Path, root: Path, medications: pl.LazyFrame | None) -> Part:
    source, frame, blank = _scan(
        path, root, "MedicationRequest", **SUBJECT_AND_ENCOUNTER, _id="$.id", _status="$.status",
        _authored="$.authoredOn", _requester="$.requester.reference", _concept_given="$.medicationCodeableConcept",
        _medication="$.medicationReference.reference", _dosage="$.dosageInstruction[0]",
        _validity_start="$.dispenseRequest.validityPeriod.start", _validity_end="$.dispenseRequest.validityPeriod.end")
    concept = pl.col("_concept_given")
    if medications is not None:
        frame = frame.with_columns(reference_id("_medication", "Medication").alias("_medication_id")).join(
            medications, on="_medication_id", how="left", maintain_order="left")
        concept = pl.coalesce(concept, pl.col("_medication_code"))
    frame = with_fields(
        with_coded(frame, concept, "medications"), "_dosage",
        _dose="$.doseAndRate[0].doseQuantity.value", _dose_unit_given="$.doseAndRate[0].doseQuantity.unit",
        _dose_code="$.doseAndRate[0].doseQuantity.code", _frequency="$.timing.repeat.frequency",
        _period="$.timing.repeat.period", _period_unit="$.timing.repeat.periodUnit",
        _timing_code="$.timing.code.coding[0].code", _bounds_start="$.timing.repeat.boundsPeriod.start",
        _bounds_end="$.timing.repeat.boundsPeriod.end", _route_text="$.route.text",
        _route_display="$.route.coding[0].display")
    strength, strength_unit = strength_from_description(pl.col("_description"))
    frame = frame.with_columns(strength.alias("_strength"), strength_unit.alias("_strength_unit"),
                               pl.coalesce("_dose_unit_given", "_dose_code").alias("_dose_unit"))
    dose = pl.col("_dose")
    counts_dose_forms = (pl.col("_dose_unit").is_null() | _is_one_of(
        pl.col("_dose_unit").str.to_lowercase().str.strip_chars("{}"), DOSE_FORM_UNITS))
    frame = frame.with_columns((dose.is_not_null() & counts_dose_forms & pl.col("_strength").is_not_null())
                               .alias("_per_dose_forms"))
    per_dose_forms = pl.col("_per_dose_forms")
    dose_value = (pl.when(per_dose_forms).then(number_text(
        dose.cast(pl.Float64, strict=False) * pl.col("_strength").cast(pl.Float64, strict=False)))
        .when(dose.is_not_null()).then(dose)
        .otherwise(pl.col("_strength")))
    route = pl.coalesce("_route_text", "_route_display")
    return part(MEDICATIONS, source, frame, {
        "order_id": pl.col("_id"),
        **PATIENT_AND_ENCOUNTER,
        **CODED,
        "start_date": _date("_authored", "_bounds_start", "_validity_start"),
        "end_date": _date("_bounds_end", "_validity_end"),
        "dose_value": dose_value,
        "dose_unit": pl.when(per_dose_forms | dose.is_null()).then(pl.col("_strength_unit"))
        .otherwise(pl.col("_dose_unit")),
        # Known only when the dose per administration is (a strength alone says nothing of it).
        "frequency_per_day": pl.when(dose.is_not_null()).then(number_text(_frequency_per_day())),
        "route": pl.coalesce(route.str.to_lowercase(), route_from_description(pl.col("_description"))),
        "prescriber_id": any_reference_id("_requester"),
        "status": pl.col("_status"),
    }, skip_reason=blank)


def _labs(path: Path, root: Path) -> Part:
    source, frame, blank = _scan(
        path, root, "Observation", **SUBJECT_AND_ENCOUNTER, _status="$.status", _code_json="$.code",
        _category="$.category", _effective="$.effectiveDateTime",
        _effective_start="$.effectivePeriod.start", _issued="$.issued", _quantity="$.valueQuantity",
        _value_string="$.valueString", _value_text="$.valueCodeableConcept.text",
        _value_display="$.valueCodeableConcept.coding[0].display", _low="$.referenceRange[0].low.value",
        _high="$.referenceRange[0].high.value")
    frame = with_fields(with_coded(frame, pl.col("_code_json"), "labs"), "_quantity", _comparator="$.comparator",
                        _value="$.value", _unit="$.unit", _unit_code="$.code")
    laboratory = field("$[*].coding[?(@.code=='laboratory')].code", "_category").is_not_null()
    skip = (blank.when(pl.col(RESOURCE_TYPE) & ~laboratory)
            .then(pl.lit("FHIR Observation that is not a laboratory result"))
            .when(_is_one_of(pl.col("_status"), ("entered-in-error", "cancelled")))
            .then(pl.lit("FHIR Observation cancelled or entered in error")))
    comparator = pl.col("_comparator")
    return part(LABS, source, frame, {
        **PATIENT_AND_ENCOUNTER,
        **CODED,
        "collected_date": _date("_effective", "_effective_start", "_issued"),
        # "<0.5" is not a number: it is kept as text.
        "value_numeric": pl.when(comparator.is_null()).then(pl.col("_value")),
        "value_text": pl.coalesce(pl.when(comparator.is_not_null()).then(pl.concat_str(comparator, "_value")),
                                  "_value_string", "_value_text", "_value_display"),
        "unit": pl.coalesce("_unit", "_unit_code"),
        "ref_low": pl.col("_low"),
        "ref_high": pl.col("_high"),
    }, skip_reason=skip)


def _procedures(path: Path, root: Path) -> Part:
    source, frame, blank = _scan(path, root, "Procedure", **SUBJECT_AND_ENCOUNTER, _status="$.status",
                                 _code_json="$.code", _performed="$.performedDateTime",
                                 _performed_start="$.performedPeriod.start")
    skip = blank.when(_is_one_of(pl.col("_status"), ("not-done", "entered-in-error"))).then(
        pl.lit("FHIR Procedure not done or entered in error"))
    return part(PROCEDURES, source, with_coded(frame, pl.col("_code_json"), "procedures"), {
        **PATIENT_AND_ENCOUNTER,
        **CODED,
        "performed_date": _date("_performed", "_performed_start"),
    }, skip_reason=skip)


def _service_requests(path: Path, root: Path) -> Part:
    """Referrals, imaging and procedure orders; laboratory orders say nothing a result does not."""
    source, frame, blank = _scan(
        path, root, "ServiceRequest", **SUBJECT_AND_ENCOUNTER, _status="$.status", _do_not_perform="$.doNotPerform",
        _code_json="$.code", _category="$.category", _occurrence="$.occurrenceDateTime",
        _occurrence_start="$.occurrencePeriod.start", _authored="$.authoredOn")
    # 108252007 is SNOMED "Laboratory procedure", the category US Core uses for lab orders.
    laboratory = (field("$[*].coding[?(@.code=='108252007')].code", "_category").is_not_null()
                  | field("$[*].coding[?(@.code=='laboratory')].code", "_category").is_not_null())
    skip = (blank.when(_is_one_of(pl.col("_status"), ("revoked", "entered-in-error"))
                       | (pl.col("_do_not_perform") == "true").fill_null(False))
            .then(pl.lit("FHIR ServiceRequest revoked, not to be performed or entered in error"))
            .when(laboratory)
            .then(pl.lit("FHIR ServiceRequest for a laboratory test")))
    return part(PROCEDURES, source, with_coded(frame, pl.col("_code_json"), "procedures"), {
        **PATIENT_AND_ENCOUNTER,
        **CODED,
        "performed_date": _date("_occurrence", "_occurrence_start", "_authored"),
    }, skip_reason=skip)


# ------------------------------------------------------------------------------------- reading

def resource_files(folder: Path) -> dict[str, list[Path]]:
    """Resource type -> its NDJSON files, in name order."""
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        match = RESOURCE_FILE.match(path.name)
        if path.is_file() and match:
            found.setdefault(match["resource"], []).append(path)
    return found


def _export_date(folder: Path) -> tuple[date | None, list[Path]]:
    """The bulk export's transactionTime (log.ndjson events or the export manifest)."""
    times: list[str] = []
    read: list[Path] = []
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if name in ("log.ndjson", "log.ndjson.gz"):
            read.append(path)
            events = read_fields(path, path.name, {"time": "$.eventDetail.transactionTime"})
            times += events["time"].drop_nulls().to_list()
        elif name == "manifest.json":
            read.append(path)
            try:
                stated = json.loads(path.read_text(encoding="utf-8")).get("transactionTime")
            except (ValueError, AttributeError):
                stated = None
            if isinstance(stated, str):
                times.append(stated)
    dates = [date.fromisoformat(t[:10]) for t in times if re.match(r"^\d{4}-\d{2}-\d{2}", t)]
    return (max(dates) if dates else None), read


def detect(source: Path) -> bool:
    return "Patient" in resource_files(source)


def check(source: Path) -> None:
    require_folder(source)
    if not detect(source):
        raise ExtractError(f"{source}: no Patient file (expected {EXPECTED})")


def read(source: Path, batch_rows: int | None = None) -> Extract:
    """The extract its per-file parts make, read batch_rows rows at a time (common.build_extract)."""
    require_folder(source)
    files = resource_files(source)
    if "Patient" not in files:
        raise ExtractError(f"{source}: no Patient file (expected {EXPECTED})")
    encounters = [_encounters(p, source) for p in files.get("Encounter", [])]
    parts = [_patients(p, source, encounters) for p in files["Patient"]] + encounters
    parts += [_diagnoses(p, source) for p in files.get("Condition", [])]
    medications = _medication_codes(files.get("Medication", []), source)
    parts += [_medications(p, source, medications) for p in files.get("MedicationRequest", [])]
    parts += [_labs(p, source) for p in files.get("Observation", [])]
    parts += [_procedures(p, source) for p in files.get("Procedure", [])]
    parts += [_service_requests(p, source) for p in files.get("ServiceRequest", [])]
    extract_date, log_files = _export_date(source)
    read_resources = ("Patient", "Encounter", "Condition", "Medication", "MedicationRequest", "Observation",
                      "Procedure", "ServiceRequest")
    read_files = [p for r in read_resources for p in files.get(r, [])] + log_files
    return build_extract(FORMAT, parts, read_files, extract_date=extract_date, batch_rows=batch_rows)
