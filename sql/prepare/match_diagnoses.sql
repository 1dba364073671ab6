-- work.dx_matches: diagnoses that belong to a value set, joined on (code_system, normalised code)
-- once per run, for every patient (the cohort itself is found from LEG_CRAMPS matches). Codes in
-- staging are already normalised (upper case, ICD dots removed) and so are ref.value_sets codes,
-- so ICD-10 R25.2 and R252 both match, and ICD-9 V45.1 never meets ICD-10 V45.1 (the code system
-- is part of the key). `display` is the value set's name for the code (for explanations).

CREATE OR REPLACE TABLE work.dx_matches AS
SELECT d.patient_id, d.encounter_id, v.value_set, d.code_system, d.code, d.description, v.display, d.recorded_date, d.resolved_date,
       d.source_file, d.source_row
FROM staging.diagnoses AS d
JOIN ref.value_sets AS v ON v.code_system = d.code_system AND v.code = d.code;
