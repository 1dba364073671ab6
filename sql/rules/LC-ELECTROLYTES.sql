-- rule_id: LC-ELECTROLYTES
-- title: Basic electrolytes not checked
-- severity: low
-- guideline: "check basic electrolytes (particularly magnesium and potassium)"
-- value_sets: POTASSIUM_LAB, MAGNESIUM_LAB, LEG_CRAMPS
-- parameters: electrolyte_days, incident_lookback_days
-- reason_codes: NO_POTASSIUM_RESULT, NO_MAGNESIUM_RESULT, NO_ELECTROLYTE_RESULT
-- requires: labs
-- denominator: the cohort
-- choices:
--   The window is index - electrolyte_days .. index + electrolyte_days, both inclusive, cut at death
--   and at the end of the data (rules-v2.md). A result counts as "checked" when it was read: a value
--   (whatever its unit) or a bound such as "<0.5"; text that is not a value (haemolysed, cancelled,
--   see note) does not. A patient with both checked is met even when the window was cut; otherwise a
--   cut window leaves the patient not evaluable with the reason. Incident cases only (rules-v2.md): a
--   LEG_CRAMPS diagnosis in the incident_lookback_days before the index date excludes. One deviation
--   row per patient, event_date = index date, naming what is missing. Without labs every patient is
--   not evaluable.
WITH windows AS (
    SELECT c.patient_id, c.index_date, x.earlier_cramps_date,
           c.index_date - getvariable('electrolyte_days') AS window_start,
           c.index_date + getvariable('electrolyte_days') AS window_end,
           window_cut(c.index_date + getvariable('electrolyte_days'), getvariable('electrolyte_days'),
                      x.death_date, x.data_end) AS cut
    FROM work.cohort AS c
    JOIN work.cohort_context AS x USING (patient_id)
),
checked AS (
    SELECT w.patient_id,
           count(*) FILTER (WHERE l.value_set = 'POTASSIUM_LAB') AS potassium_results,
           count(*) FILTER (WHERE l.value_set = 'MAGNESIUM_LAB') AS magnesium_results
    FROM windows AS w
    JOIN work.lab_matches AS l ON l.patient_id = w.patient_id
    WHERE l.value_set IN ('POTASSIUM_LAB', 'MAGNESIUM_LAB') AND l.has_result
      AND l.collected_date BETWEEN w.window_start AND w.window_end
    GROUP BY w.patient_id
),
judged AS (
    SELECT w.*, coalesce(k.potassium_results, 0) AS potassium_results,
           coalesce(k.magnesium_results, 0) AS magnesium_results,
           concat_ws(' and no ', CASE WHEN coalesce(k.potassium_results, 0) = 0 THEN 'potassium' END,
                     CASE WHEN coalesce(k.magnesium_results, 0) = 0 THEN 'magnesium' END) AS missing
    FROM windows AS w
    LEFT JOIN checked AS k USING (patient_id)
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'in the cohort from ' || index_date AS explanation,
       json_object('index_date', index_date) AS evidence, NULL AS reason_code
FROM judged
UNION ALL
SELECT patient_id, 'exclusion', earlier_cramps_date,
       'not an incident case: already diagnosed on ' || earlier_cramps_date || ' (leg cramps, within '
       || getvariable('incident_lookback_days') || ' days before the index date ' || index_date || ')',
       json_object('earlier_diagnosis_date', earlier_cramps_date), 'NOT_INCIDENT'
FROM judged
WHERE earlier_cramps_date IS NOT NULL
UNION ALL
SELECT patient_id, 'not_evaluable', index_date,
       CASE WHEN table_missing('labs') THEN missing_reason('labs')
            ELSE 'No ' || missing || ' result from ' || window_start || ' to the cut: ' || cut END,
       json_object('window_start', window_start, 'window_end', window_end),
       CASE WHEN table_missing('labs') THEN 'TABLE_MISSING' ELSE 'WINDOW_CUT' END
FROM judged
WHERE table_missing('labs') OR (missing <> '' AND cut IS NOT NULL)
UNION ALL
SELECT patient_id, 'deviation', index_date,
       'No ' || missing || ' result from ' || window_start || ' to ' || window_end
       || ' (leg cramps diagnosed ' || index_date || ')',
       json_object('missing', list_concat(CASE WHEN potassium_results = 0 THEN ['potassium'] ELSE []::VARCHAR[] END,
                                          CASE WHEN magnesium_results = 0 THEN ['magnesium'] ELSE []::VARCHAR[] END),
                   'window_start', window_start, 'window_end', window_end,
                   'potassium_results', potassium_results, 'magnesium_results', magnesium_results),
       CASE WHEN potassium_results = 0 AND magnesium_results = 0 THEN 'NO_ELECTROLYTE_RESULT'
            WHEN potassium_results = 0 THEN 'NO_POTASSIUM_RESULT' ELSE 'NO_MAGNESIUM_RESULT' END
FROM judged
WHERE missing <> '' AND cut IS NULL AND NOT table_missing('labs')
