-- work.cohort and work.cohort_attrition (rules.md, "The cohort").
--   in the cohort: a LEG_CRAMPS diagnosis recorded inside period_start .. period_end on a date the
--   patient is min_age_years (18) or older, and alive on the index date.
--   index date   = the first such diagnosis date. Reading: when a patient has LEG_CRAMPS
--                  diagnoses in the period both before and after turning 18, the index is the first
--                  one at 18 or older (the earlier one never qualified the patient).
--   age_at_index = whole years on the index date.
--   follow-up    = index .. index + followup_days inclusive, ending at death_date when earlier:
--                  followup_end = least(index + followup_days, death_date).
--   alive at index: no death_date, or death_date on or after the index date (a diagnosis recorded
--                  after the recorded death cannot start follow-up).
-- index_code_kind = leg-specific / general (rules-v2.md), the last column as audit.cohort adds it.
-- Attrition steps are cumulative: each counts patients passing that step and all before it.
-- Needs work.dx_matches and the variables run_id, period_start, period_end, min_age_years,
-- followup_days.

CREATE OR REPLACE TEMP TABLE cramp_diagnoses AS
SELECT d.patient_id, d.recorded_date, d.code_system, d.code,
       d.recorded_date BETWEEN getvariable('period_start') AND getvariable('period_end') AS in_period,
       age_years(p.birth_date, d.recorded_date) >= getvariable('min_age_years') AS adult
FROM work.dx_matches AS d
JOIN staging.patients AS p USING (patient_id)
WHERE d.value_set = 'LEG_CRAMPS';

-- index_code_kind (rules-v2.md): leg-specific when any LEG_CRAMPS code on the index date is one
-- (ref.index_code_kinds), else general.
CREATE OR REPLACE TEMP TABLE cohort_index AS
WITH first_day AS (
    SELECT patient_id, min(recorded_date) AS index_date
    FROM cramp_diagnoses
    WHERE in_period AND adult
    GROUP BY patient_id
)
SELECT f.patient_id, f.index_date,
       CASE WHEN bool_or(k.kind = 'leg-specific') THEN 'leg-specific' ELSE 'general' END AS index_code_kind
FROM first_day AS f
JOIN cramp_diagnoses AS d ON d.patient_id = f.patient_id AND d.recorded_date = f.index_date
LEFT JOIN ref.index_code_kinds AS k ON k.code_system = d.code_system AND k.code = d.code
GROUP BY f.patient_id, f.index_date;

CREATE OR REPLACE TABLE work.cohort AS
SELECT getvariable('run_id')::VARCHAR AS run_id,
       i.patient_id,
       i.index_date,
       age_years(p.birth_date, i.index_date)::INTEGER AS age_at_index,
       p.sex,
       p.site_id,
       least(i.index_date + getvariable('followup_days'), p.death_date) AS followup_end,
       i.index_code_kind
FROM cohort_index AS i
JOIN staging.patients AS p USING (patient_id)
WHERE p.death_date IS NULL OR p.death_date >= i.index_date
ORDER BY i.patient_id;

CREATE OR REPLACE TABLE work.cohort_attrition AS
SELECT getvariable('run_id')::VARCHAR AS run_id, step_number::INTEGER AS step_number, step, patients::BIGINT AS patients
FROM (
    SELECT 1 AS step_number, 'patients in extract' AS step,
           -- staging keeps candidates only: every validated patient row (patient_id is unique) counts
           (SELECT coalesce(sum(rows_loaded), 0) FROM work.table_counts WHERE table_name = 'patients') AS patients
    UNION ALL
    SELECT 2, 'with a leg-cramps diagnosis', (SELECT count(DISTINCT patient_id) FROM cramp_diagnoses)
    UNION ALL
    SELECT 3, 'inside the period', (SELECT count(DISTINCT patient_id) FROM cramp_diagnoses WHERE in_period)
    UNION ALL
    SELECT 4, 'aged ' || getvariable('min_age_years') || '+', (SELECT count(*) FROM cohort_index)
    UNION ALL
    SELECT 5, 'alive at index', (SELECT count(*) FROM work.cohort)
)
ORDER BY step_number;

DROP TABLE cramp_diagnoses;
DROP TABLE cohort_index;
