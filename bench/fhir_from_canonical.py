"""Benchmark helper: turns a canonical extract folder into a FHIR R4 bulk-export NDJSON folder that
transforms/fhir.py reads, so the FHIR adapter can be timed on the same data as the canonical reader.

    python -m bench.fhir_from_canonical SRC_CANONICAL_FOLDER OUT_FHIR_FOLDER [--gzip]

One `<Resource>.000.ndjson` per resource, one resource per line, written set-based by DuckDB
(`COPY (SELECT <struct columns>) TO ... (FORMAT json)` writes NDJSON); no Python per row. Every value
is read as text and carried as it is, so the planted deviations (bad dates, unknown patients,
negative doses, duplicate order ids ...) stay in the FHIR folder; numbers are written as JSON
numbers when the text is one, else as JSON strings.

Mapping (the inverse of the adapter's): patients -> Patient (managingOrganization = site);
encounters -> Encounter (class as a v3 ActCode, serviceProvider = site, first participant =
provider); diagnoses -> Condition; medications -> MedicationRequest (medicationCodeableConcept,
doseQuantity with its unit, timing.repeat frequency per 1 day, boundsPeriod end); labs ->
Observation of category laboratory (valueQuantity, else valueString); procedures -> Procedure.
Canonical code systems become the FHIR system URIs below; a system with no URI (e.g. ICPC2) is
written as its canonical name, so the adapter sees an unknown system. Resources that have no
canonical id (Condition, Observation, Procedure) get `<table>-<row number>`; lines keep the CSV's
row order (line n = data row n). No log.ndjson is written: like the canonical extract, the FHIR
folder states no extract date. Not a production ETL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb
from cramp_audit.schemas.code_systems import code_systems

# canonical code_system -> its FHIR system URI (schemas/code_systems.csv)
SYSTEMS = {s.token: s.uris[0] for s in code_systems().values() if s.uris}
GENDERS = {"M": "male", "F": "female", "O": "other", "U": "unknown"}
ACT_CODES = {"ambulatory": "AMB", "inpatient": "IMP", "emergency": "EMER", "home": "HH", "virtual": "VR",
             "observation": "OBSENC", "short stay": "SS", "pre-admission": "PRENC", "field": "FLD"}
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"

MACROS = """
CREATE MACRO ref(kind, id) AS CASE WHEN id IS NOT NULL THEN {'reference': kind || '/' || id} END;
CREATE MACRO num(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN regexp_full_match(v, '-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?') THEN v::JSON
    ELSE to_json(v) END;
CREATE MACRO concept(system, code, display) AS {
    'coding': [{'system': system, 'code': code, 'display': display}],
    'text': display};
"""

# resource -> (canonical table, SELECT list over `src` joined to its code system URI as `u`)
RESOURCES = {
    "Patient": ("patients", """
        'Patient' AS "resourceType", src.patient_id AS id,
        coalesce(g.gender, src.sex) AS gender, src.birth_date AS "birthDate",
        src.death_date AS "deceasedDateTime", ref('Organization', src.site_id) AS "managingOrganization"
        FROM src LEFT JOIN genders g ON g.sex = src.sex"""),
    "Encounter": ("encounters", f"""
        'Encounter' AS "resourceType", src.encounter_id AS id, 'finished' AS status,
        {{'system': '{ACT_CODE_SYSTEM}', 'code': coalesce(a.code, src.encounter_class)}} AS class,
        ref('Patient', src.patient_id) AS subject,
        {{'start': src.start_date, 'end': src.end_date}} AS period,
        CASE WHEN src.provider_id IS NOT NULL
             THEN [{{'individual': ref('Practitioner', src.provider_id)}}] END AS participant,
        ref('Organization', src.site_id) AS "serviceProvider"
        FROM src LEFT JOIN act_codes a ON a.class = src.encounter_class"""),
    "Condition": ("diagnoses", """
        'Condition' AS "resourceType", 'diagnoses-' || src._row AS id,
        {'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
                     'code': 'confirmed'}]} AS "verificationStatus",
        concept(coalesce(u.uri, src.code_system), src.code, src.description) AS code,
        ref('Patient', src.patient_id) AS subject, ref('Encounter', src.encounter_id) AS encounter,
        src.recorded_date AS "onsetDateTime", src.resolved_date AS "abatementDateTime"
        FROM src LEFT JOIN systems u ON u.code_system = src.code_system"""),
    "MedicationRequest": ("medications", """
        'MedicationRequest' AS "resourceType", src.order_id AS id, src.status AS status, 'order' AS intent,
        concept(coalesce(u.uri, src.code_system), src.code, src.description) AS "medicationCodeableConcept",
        ref('Patient', src.patient_id) AS subject, ref('Encounter', src.encounter_id) AS encounter,
        src.start_date AS "authoredOn", ref('Practitioner', src.prescriber_id) AS requester,
        [{'timing': {'repeat': {
              'boundsPeriod': {'start': src.start_date, 'end': src.end_date},
              'frequency': num(src.frequency_per_day),
              'period': CASE WHEN src.frequency_per_day IS NOT NULL THEN 1 END,
              'periodUnit': CASE WHEN src.frequency_per_day IS NOT NULL THEN 'd' END}},
          'route': CASE WHEN src.route IS NOT NULL THEN {'text': src.route} END,
          'doseAndRate': CASE WHEN src.dose_value IS NOT NULL
              THEN [{'doseQuantity': {'value': num(src.dose_value), 'unit': src.dose_unit}}] END
        }] AS "dosageInstruction"
        FROM src LEFT JOIN systems u ON u.code_system = src.code_system"""),
    "Observation": ("labs", f"""
        'Observation' AS "resourceType", 'labs-' || src._row AS id, 'final' AS status,
        [{{'coding': [{{'system': '{CATEGORY_SYSTEM}', 'code': 'laboratory'}}]}}] AS category,
        concept(coalesce(u.uri, src.code_system), src.code, src.description) AS code,
        ref('Patient', src.patient_id) AS subject, ref('Encounter', src.encounter_id) AS encounter,
        src.collected_date AS "effectiveDateTime",
        CASE WHEN src.value_numeric IS NOT NULL OR src.unit IS NOT NULL
             THEN {{'value': num(src.value_numeric), 'unit': src.unit}} END AS "valueQuantity",
        CASE WHEN src.value_numeric IS NULL THEN src.value_text END AS "valueString",
        CASE WHEN src.ref_low IS NOT NULL OR src.ref_high IS NOT NULL
             THEN [{{'low': CASE WHEN src.ref_low IS NOT NULL THEN {{'value': num(src.ref_low)}} END,
                     'high': CASE WHEN src.ref_high IS NOT NULL THEN {{'value': num(src.ref_high)}} END}}]
             END AS "referenceRange"
        FROM src LEFT JOIN systems u ON u.code_system = src.code_system"""),
    "Procedure": ("procedures", """
        'Procedure' AS "resourceType", 'procedures-' || src._row AS id, 'completed' AS status,
        concept(coalesce(u.uri, src.code_system), src.code, src.description) AS code,
        ref('Patient', src.patient_id) AS subject, ref('Encounter', src.encounter_id) AS encounter,
        src.performed_date AS "performedDateTime"
        FROM src LEFT JOIN systems u ON u.code_system = src.code_system"""),
}


def _values(mapping: dict[str, str]) -> str:
    return "VALUES " + ", ".join(f"('{k}', '{v}')" for k, v in mapping.items())


def convert(canonical: Path, out: Path, gzip: bool = False) -> dict[str, int]:
    """Writes the FHIR folder; returns resources written per file."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(MACROS)
    con.execute(f"CREATE TABLE systems(code_system, uri) AS {_values(SYSTEMS)}")
    con.execute(f"CREATE TABLE genders(sex, gender) AS {_values(GENDERS)}")
    con.execute(f"CREATE TABLE act_codes(class, code) AS {_values(ACT_CODES)}")
    counts = {}
    for resource, (table, select) in RESOURCES.items():
        source = str(canonical / f"{table}.csv").replace("'", "''")
        name = f"{resource}.000.ndjson" + (".gz" if gzip else "")
        target = str(out / name).replace("'", "''")
        query = (f"WITH src AS (SELECT *, row_number() OVER () AS _row "
                 f"FROM read_csv('{source}', all_varchar = true, header = true)) SELECT {select} ORDER BY src._row")
        compression = "gzip" if gzip else "none"
        counts[name] = con.execute(
            f"COPY ({query}) TO '{target}' (FORMAT json, COMPRESSION {compression})").fetchone()[0]
    con.close()
    return counts


def main(argv: list[str]) -> None:
    gzip = "--gzip" in argv
    args = [a for a in argv if a != "--gzip"]
    if len(args) != 2:
        sys.exit("usage: python -m bench.fhir_from_canonical CANONICAL_FOLDER FHIR_FOLDER [--gzip]")
    started = time.perf_counter()
    counts = convert(Path(args[0]), Path(args[1]), gzip=gzip)
    for name, rows in counts.items():
        print(f"{name:30} {rows:>12,}")
    print(f"converted in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
