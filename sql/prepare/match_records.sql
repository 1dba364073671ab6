-- work.lab_matches and work.proc_matches: lab results and procedures of cohort patients that
-- belong to a value set, joined on (code_system, normalised code) once per run (after cohort.sql:
-- only cohort patients are ever judged, so the rest of the extract is not carried along).
-- `display` is the value set's name for the code (for explanations).

-- Result columns (rules-v2.md "Labs"):
--   result_kind   'value' (a number), 'below' (<x), 'at_most' (<=x), 'above' (>x), 'at_least' (>=x), from
--                 value_numeric or value_text (ref.text_results patterns); NULL when the row holds no
--                 value (no text, or text that is not a value: haemolysed, cancelled, see note).
--   has_result    a value or a bound: the test was done and read ("checked").
--   low_threshold magnesium / potassium "low" in the result's own unit: its ref_low when plausible for
--                 the unit (ref.lab_thresholds ref_low_min .. ref_low_max), else the unit's default
--                 low (scaled by mg_low_mmol / k_low_mmol over their shipped defaults, so a site's
--                 threshold moves every unit); NULL when the unit has no row (unit unknown: not used).
--   is_low        below the threshold: a value under it, "<x" with x <= it, "<=x" with x < it; FALSE
--                 when the value or bound is at or above it; NULL when it cannot be told ("<0.8"
--                 against 0.70, ">0.5" against 0.70) or the unit is unknown.
CREATE OR REPLACE TEMP TABLE lab_text_kinds AS
SELECT t.value_text,
       CASE WHEN regexp_matches(lower(trim(t.value_text)), '^[0-9]+(\.[0-9]+)?$') THEN 'value'
            ELSE min(p.meaning) FILTER (WHERE p.meaning IS NOT NULL) END AS meaning,
       coalesce(try_cast(trim(t.value_text) AS DOUBLE),
                try_cast(min(regexp_extract(lower(trim(t.value_text)), p.pattern, 1)) AS DOUBLE)) AS bound
FROM (SELECT DISTINCT value_text FROM work.lab_values WHERE value_numeric IS NULL AND value_text IS NOT NULL) AS t
LEFT JOIN ref.text_results AS p ON regexp_matches(lower(trim(t.value_text)), p.pattern)
GROUP BY t.value_text;

CREATE OR REPLACE TABLE work.lab_matches AS
WITH matched AS (
    SELECT l.*, v.value_set, v.display,
           CASE WHEN l.value_numeric IS NOT NULL THEN 'value'
                WHEN k.meaning IN ('value', 'below', 'at_most', 'above', 'at_least') THEN k.meaning END AS result_kind,
           coalesce(l.value_numeric, k.bound) AS result_number
    FROM work.lab_values AS l  -- staging.labs with value_mmol (derive_labs.sql)
    JOIN ref.value_sets AS v ON v.code_system = l.code_system AND v.code = l.code
    LEFT JOIN lab_text_kinds AS k ON l.value_numeric IS NULL AND k.value_text = l.value_text
    WHERE l.patient_id IN (SELECT patient_id FROM work.cohort)
),
thresholds AS (
    SELECT m.*, t.unit AS threshold_unit,
           m.ref_low IS NOT NULL AND t.unit IS NOT NULL
               AND m.ref_low BETWEEN t.ref_low_min AND t.ref_low_max AS ref_low_plausible,
           t.low * CASE m.value_set WHEN 'MAGNESIUM_LAB' THEN getvariable('mg_low_mmol') / 0.70
                                    ELSE getvariable('k_low_mmol') / 3.5 END AS default_low
    FROM matched AS m
    LEFT JOIN ref.lab_thresholds AS t ON t.applies_to = m.value_set AND lower(t.unit) = lower(trim(m.unit))
),
judged AS (
    SELECT *,
           CASE WHEN threshold_unit IS NULL THEN NULL WHEN ref_low_plausible THEN ref_low ELSE default_low END
               AS low_threshold
    FROM thresholds
)
SELECT patient_id, encounter_id, value_set, code_system, code, description, display, collected_date,
       value_numeric, value_text, unit, ref_low, ref_high, value_mmol,
       result_kind, result_number, result_kind IS NOT NULL AS has_result,
       low_threshold, CASE WHEN ref_low_plausible THEN 'reference low' ELSE 'default' END AS threshold_source,
       CASE WHEN value_set NOT IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB') OR low_threshold IS NULL THEN NULL
            WHEN result_kind = 'value' THEN result_number < low_threshold
            WHEN result_kind = 'below' AND result_number <= low_threshold THEN true
            WHEN result_kind = 'at_most' AND result_number < low_threshold THEN true
            WHEN result_kind IN ('above', 'at_least') AND result_number >= low_threshold THEN false
       END AS is_low,
       -- "1.5 mg/dL" / "<0.5 mmol/L": the result as the clinician saw it, unit beside it
       CASE result_kind WHEN 'value' THEN with_unit(result_number, unit)
                        WHEN 'below' THEN '<' || with_unit(result_number, unit)
                        WHEN 'at_most' THEN '<=' || with_unit(result_number, unit)
                        WHEN 'above' THEN '>' || with_unit(result_number, unit)
                        WHEN 'at_least' THEN '>=' || with_unit(result_number, unit) END AS result_text,
       source_file, source_row
FROM judged;

DROP TABLE lab_text_kinds;

CREATE OR REPLACE TABLE work.proc_matches AS
SELECT p.patient_id, p.encounter_id, v.value_set, p.code_system, p.code, p.description, v.display, p.performed_date,
       p.source_file, p.source_row
FROM staging.procedures AS p
JOIN ref.value_sets AS v ON v.code_system = p.code_system AND v.code = p.code
WHERE p.patient_id IN (SELECT patient_id FROM work.cohort);
