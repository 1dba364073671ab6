"""Benchmark helper: turns a canonical extract folder into an OMOP CDM v5.4 CSV folder that
transforms/omop.py reads, so the OMOP adapter can be timed on the same data as the canonical reader.

    python -m bench.omop_from_canonical SRC_CANONICAL_FOLDER OUT_OMOP_FOLDER

Set-based DuckDB SQL, every value read as text. Integer ids (person, visit, drug exposure, provider,
care site) are ranks of the distinct canonical text ids taken over every table that mentions them, so
rows of unknown patients or visits keep an id that PERSON / VISIT_OCCURRENCE lack, and duplicated
order ids stay duplicated. Each (code_system, code) becomes one local CONCEPT row (id > 2e9) with
the OMOP vocabulary_id and the code as concept_code; it is both the standard and the source concept.
Not carried (OMOP has no column for them): medication status, dose_value and frequency_per_day
(the adapter takes the strength from the drug name instead). Not a production ETL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

# canonical code_system -> OMOP vocabulary_id (others are kept as they are, i.e. unknown to the adapter)
VOCABULARIES = {"ICD10CM": "ICD10CM", "SNOMED": "SNOMED", "RXNORM": "RxNorm", "LOINC": "LOINC",
                "CPT": "CPT4", "HCPCS": "HCPCS"}
GENDERS = {"M": 8507, "F": 8532, "O": 8521, "U": 8551}
VISITS = {"ambulatory": (9202, "Outpatient Visit"), "inpatient": (9201, "Inpatient Visit"),
          "emergency": (9203, "Emergency Room Visit"), "virtual": (5083, "Telehealth"),
          "home": (581476, "Home Visit")}
CODED = {"diagnoses": "Condition", "medications": "Drug", "labs": "Measurement", "procedures": "Procedure"}

# Id maps: kind -> the (table, column) pairs that carry that id.
FACTS = tuple(CODED)
ID_MAPS = {
    "person": [(t, "patient_id") for t in ("patients", "encounters", *FACTS)],
    "visit": [(t, "encounter_id") for t in ("encounters", *FACTS)],
    "drug": [("medications", "order_id")],
    "provider": [("encounters", "provider_id"), ("medications", "prescriber_id")],
    "site": [("patients", "site_id"), ("encounters", "site_id")],
}
# Joins the output queries use ({person} ...): canonical text id of `src` -> integer id.
JOINS = {
    "person": "LEFT JOIN person_ids p ON p.value = src.patient_id",
    "visit": "LEFT JOIN visit_ids v ON v.value = src.encounter_id",
    "drug": "LEFT JOIN drug_ids d ON d.value = src.order_id",
    "provider": "LEFT JOIN provider_ids r ON r.value = src.provider_id",
    "prescriber": "LEFT JOIN provider_ids r ON r.value = src.prescriber_id",
    "site": "LEFT JOIN site_ids s ON s.value = src.site_id",
    "concept": "LEFT JOIN concepts c ON c.code_system = src.code_system AND c.code = src.code",
}


def _values(mapping: dict) -> str:
    """A Python dict as a DuckDB VALUES list (key, value...)."""
    rows = []
    for key, value in mapping.items():
        items = (key, *value) if isinstance(value, tuple) else (key, value)
        rows.append("(" + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in items) + ")")
    return "VALUES " + ", ".join(rows)


OUTPUTS = {
    "person": ("patients", """
        SELECT p.id AS person_id, coalesce(g.concept_id, 0) AS gender_concept_id,
               try_cast(substr(src.birth_date, 1, 4) AS INTEGER) AS year_of_birth,
               try_cast(substr(src.birth_date, 6, 2) AS INTEGER) AS month_of_birth,
               try_cast(substr(src.birth_date, 9, 2) AS INTEGER) AS day_of_birth,
               src.birth_date AS birth_datetime, 0 AS race_concept_id, 0 AS ethnicity_concept_id,
               s.id AS care_site_id, src.patient_id AS person_source_value, src.sex AS gender_source_value
        FROM src {person} LEFT JOIN genders g ON g.sex = src.sex {site}"""),
    "death": ("patients", """
        SELECT p.id AS person_id, src.death_date, 0 AS death_type_concept_id
        FROM src {person} WHERE src.death_date IS NOT NULL"""),
    "visit_occurrence": ("encounters", """
        SELECT v.id AS visit_occurrence_id, p.id AS person_id, coalesce(c.concept_id, 0) AS visit_concept_id,
               src.start_date AS visit_start_date, src.end_date AS visit_end_date, 32817 AS visit_type_concept_id,
               r.id AS provider_id, s.id AS care_site_id, src.encounter_id AS visit_source_value
        FROM src {person} {visit} {provider} {site}
        LEFT JOIN visit_classes c ON c.class = src.encounter_class"""),
    "condition_occurrence": ("diagnoses", """
        SELECT row_number() OVER () AS condition_occurrence_id, p.id AS person_id,
               coalesce(c.concept_id, 0) AS condition_concept_id, src.recorded_date AS condition_start_date,
               src.resolved_date AS condition_end_date, 32817 AS condition_type_concept_id,
               v.id AS visit_occurrence_id, src.code AS condition_source_value,
               coalesce(c.concept_id, 0) AS condition_source_concept_id
        FROM src {person} {visit} {concept}"""),
    "drug_exposure": ("medications", """
        SELECT d.id AS drug_exposure_id, p.id AS person_id, coalesce(c.concept_id, 0) AS drug_concept_id,
               src.start_date AS drug_exposure_start_date, src.end_date AS drug_exposure_end_date,
               32817 AS drug_type_concept_id, v.id AS visit_occurrence_id, src.code AS drug_source_value,
               coalesce(c.concept_id, 0) AS drug_source_concept_id, src.route AS route_source_value,
               r.id AS provider_id
        FROM src {person} {visit} {drug} {prescriber} {concept}"""),
    "measurement": ("labs", """
        SELECT row_number() OVER () AS measurement_id, p.id AS person_id,
               coalesce(c.concept_id, 0) AS measurement_concept_id, src.collected_date AS measurement_date,
               32817 AS measurement_type_concept_id, src.value_numeric AS value_as_number,
               src.ref_low AS range_low, src.ref_high AS range_high, v.id AS visit_occurrence_id,
               src.code AS measurement_source_value, coalesce(c.concept_id, 0) AS measurement_source_concept_id,
               src.unit AS unit_source_value, src.value_text AS value_source_value
        FROM src {person} {visit} {concept}"""),
    "procedure_occurrence": ("procedures", """
        SELECT row_number() OVER () AS procedure_occurrence_id, p.id AS person_id,
               coalesce(c.concept_id, 0) AS procedure_concept_id, src.performed_date AS procedure_date,
               32817 AS procedure_type_concept_id, v.id AS visit_occurrence_id,
               src.code AS procedure_source_value, coalesce(c.concept_id, 0) AS procedure_source_concept_id
        FROM src {person} {visit} {concept}"""),
}


def convert(canonical: Path, out: Path) -> dict[str, int]:
    """Writes the OMOP folder; returns rows written per OMOP file."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    for table in ("patients", "encounters", *CODED):
        path = str(canonical / f"{table}.csv").replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_csv('{path}', all_varchar = true, header = true)")
    con.execute(f"CREATE TABLE genders(sex, concept_id) AS {_values(GENDERS)}")
    con.execute(f"CREATE TABLE visit_classes(class, concept_id, name) AS {_values(VISITS)}")
    con.execute(f"CREATE TABLE vocabularies(code_system, vocabulary_id) AS {_values(VOCABULARIES)}")
    for kind, columns in ID_MAPS.items():
        union = " UNION ALL ".join(f"SELECT {column} AS value FROM {t}" for t, column in columns)
        con.execute(f"CREATE TABLE {kind}_ids AS SELECT value, row_number() OVER (ORDER BY value) AS id "
                    f"FROM (SELECT DISTINCT value FROM ({union}) WHERE value IS NOT NULL)")
    coded = " UNION ALL ".join(
        f"SELECT code_system, code, description, '{domain}' AS domain_id FROM {t} WHERE code IS NOT NULL"
        for t, domain in CODED.items())
    con.execute(f"""
        CREATE TABLE concepts AS
        SELECT 2000000000 + row_number() OVER (ORDER BY code_system, code) AS concept_id, code_system, code,
               min(description) AS concept_name, min(domain_id) AS domain_id
        FROM ({coded}) GROUP BY code_system, code""")
    counts = {}
    for name, (source, select) in OUTPUTS.items():
        query = f"WITH src AS (SELECT * FROM {source}) {select.format(**JOINS)}"
        counts[name] = _copy(con, query, out / f"{name}.csv")
    counts["concept"] = _copy(con, """
        SELECT concept_id, concept_name, domain_id, coalesce(v.vocabulary_id, c.code_system) AS vocabulary_id,
               CASE WHEN c.code_system = 'LOINC' THEN 'Lab Test' ELSE 'Local' END AS concept_class_id,
               'S' AS standard_concept, code AS concept_code, DATE '1970-01-01' AS valid_start_date,
               DATE '2099-12-31' AS valid_end_date
        FROM concepts c LEFT JOIN vocabularies v USING (code_system)
        UNION ALL
        SELECT concept_id, name, 'Visit', 'Visit', 'Visit', 'S', class, DATE '1970-01-01', DATE '2099-12-31'
        FROM visit_classes""", out / "concept.csv")
    # The canonical extract states no extract date (it is the run date): say the same here.
    counts["cdm_source"] = _copy(con, """
        SELECT 'cramp-audit bench' AS cdm_source_name, 'bench' AS cdm_source_abbreviation,
               current_date AS source_release_date, current_date AS cdm_release_date,
               'v5.4' AS cdm_version""", out / "cdm_source.csv")
    con.close()
    return counts


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    target = str(path).replace("'", "''")
    return con.execute(f"COPY ({query}) TO '{target}' (HEADER, DELIMITER ',')").fetchone()[0]


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python -m bench.omop_from_canonical CANONICAL_FOLDER OMOP_FOLDER")
    started = time.perf_counter()
    counts = convert(Path(argv[0]), Path(argv[1]))
    for name, rows in counts.items():
        print(f"{name:22} {rows:>12,}")
    print(f"converted in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
