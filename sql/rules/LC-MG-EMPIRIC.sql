-- rule_id: LC-MG-EMPIRIC
-- title: Magnesium without documented deficiency
-- severity: medium
-- guideline: "Do not empirically supplement magnesium without documented deficiency"
-- value_sets: MAGNESIUM_SUPPLEMENT, MAGNESIUM_LAB, HYPOMAGNESEMIA
-- parameters: followup_days, mg_lookback_days, mg_low_mmol
-- requires: labs
-- denominator: cohort patients with an oral (or route missing) magnesium supplement started in follow-up
-- choices:
--   "The magnesium start" is the first MAGNESIUM_SUPPLEMENT order starting inside follow-up whose
--   route is oral (oral, po, by mouth, orally, per os) or missing; ties on a date go to the lowest
--   order_id. The look-back window is start - mg_lookback_days .. start, both inclusive, for
--   results (collected_date) and diagnoses (recorded_date) alike. Only results with a known unit
--   count (rules.md: a value with an unknown unit is not used); "low" is the result's own ref_low,
--   else mg_low_mmol (work.lab_matches.is_low). The evidence's finding is "no magnesium result" or
--   "magnesium normal: <value> <unit> on <date>" for the latest usable result in the window.
WITH magnesium_start AS (SELECT * FROM work.magnesium_starts),  -- sql/magnesium_starts.sql
window_results AS (
    SELECT s.patient_id, l.*
    FROM magnesium_start AS s
    JOIN work.lab_matches AS l ON l.patient_id = s.patient_id AND l.value_set = 'MAGNESIUM_LAB'
    WHERE l.collected_date BETWEEN s.start_date - getvariable('mg_lookback_days') AND s.start_date
      AND l.value_mmol IS NOT NULL
),
latest_result AS (
    SELECT * FROM window_results
    QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY collected_date DESC, value_mmol, source_row) = 1
),
documented AS (
    SELECT patient_id FROM window_results WHERE is_low
    UNION
    SELECT s.patient_id
    FROM magnesium_start AS s
    JOIN work.dx_matches AS d ON d.patient_id = s.patient_id AND d.value_set = 'HYPOMAGNESEMIA'
    WHERE d.recorded_date BETWEEN s.start_date - getvariable('mg_lookback_days') AND s.start_date
),
judged AS (
    SELECT s.*, r.collected_date AS mg_date, r.value_numeric AS mg_value, r.unit AS mg_unit,
           r.value_mmol AS mg_mmol, r.ref_low AS mg_ref_low,
           r.source_file AS mg_source_file, r.source_row AS mg_source_row,
           CASE WHEN r.patient_id IS NULL THEN 'no magnesium result'
                ELSE 'magnesium normal: ' || lab_value_text(r.value_numeric, r.unit) || ' on ' || r.collected_date
           END AS finding
    FROM magnesium_start AS s
    LEFT JOIN latest_result AS r USING (patient_id)
    WHERE s.patient_id NOT IN (SELECT patient_id FROM documented)
)
SELECT patient_id, 'denominator' AS role, start_date AS event_date, start_explanation AS explanation,
       start_evidence AS evidence
FROM magnesium_start
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date
       || CASE WHEN mg_date IS NULL
               THEN ' with no magnesium result and no hypomagnesaemia diagnosis in the '
                    || getvariable('mg_lookback_days') || ' days before'
               ELSE ' without documented deficiency: ' || finding END,
       json_object('finding', finding,
                   'order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'route', route, 'matched_by', matched_by,
                   'lookback_start', start_date - getvariable('mg_lookback_days'),
                   'magnesium_result', CASE WHEN mg_date IS NOT NULL THEN json_object(
                       'collected_date', mg_date, 'value', mg_value, 'unit', mg_unit, 'value_mmol', mg_mmol,
                       'ref_low', mg_ref_low, 'source_file', mg_source_file, 'source_row', mg_source_row) END)
FROM judged
