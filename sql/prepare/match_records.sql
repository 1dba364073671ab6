-- work.lab_matches and work.proc_matches: lab results and procedures of cohort patients that
-- belong to a value set, joined on (code_system, normalised code) once per run (after cohort.sql:
-- only cohort patients are ever judged, so the rest of the extract is not carried along).
-- `display` is the value set's name for the code (for explanations).

-- is_low (rules.md): below the result's own ref_low when given (compared in the result's own unit),
-- else below mg_low_mmol / k_low_mmol; NULL when the unit is unknown (value_mmol NULL: not used).
CREATE OR REPLACE TABLE work.lab_matches AS
SELECT l.patient_id, v.value_set, l.code_system, l.code, l.description, v.display, l.collected_date,
       l.value_numeric, l.value_text, l.unit, l.ref_low, l.ref_high, l.value_mmol,
       CASE
           WHEN v.value_set NOT IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB') OR l.value_mmol IS NULL THEN NULL
           WHEN l.ref_low IS NOT NULL THEN l.value_numeric < l.ref_low
           WHEN v.value_set = 'MAGNESIUM_LAB' THEN l.value_mmol < getvariable('mg_low_mmol')
           ELSE l.value_mmol < getvariable('k_low_mmol')
       END AS is_low,
       l.source_file, l.source_row
FROM work.lab_values AS l  -- staging.labs with value_mmol (derive_labs.sql)
JOIN ref.value_sets AS v ON v.code_system = l.code_system AND v.code = l.code
WHERE l.patient_id IN (SELECT patient_id FROM work.cohort);

CREATE OR REPLACE TABLE work.proc_matches AS
SELECT p.patient_id, v.value_set, p.code_system, p.code, p.description, v.display, p.performed_date,
       p.source_file, p.source_row
FROM staging.procedures AS p
JOIN ref.value_sets AS v ON v.code_system = p.code_system AND v.code = p.code
WHERE p.patient_id IN (SELECT patient_id FROM work.cohort);
