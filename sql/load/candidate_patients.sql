-- The candidate patients exactly (outputs.md, staging.*): those with a validated LEG_CRAMPS
-- diagnosis. The load kept the rows of every patient with such a code in the raw diagnoses, a
-- superset (a patient whose only such row was rejected is among them); their rows go here.
CREATE OR REPLACE TEMP TABLE candidate_patients AS
SELECT DISTINCT d.patient_id
FROM staging.diagnoses AS d
JOIN ref.value_sets AS v ON v.value_set = 'LEG_CRAMPS' AND v.code_system = d.code_system AND v.code = d.code;
