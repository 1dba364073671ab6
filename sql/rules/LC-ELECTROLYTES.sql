-- rule_id: LC-ELECTROLYTES
-- title: Basic electrolytes not checked
-- severity: low
-- guideline: "check basic electrolytes (particularly magnesium and potassium)"
-- value_sets: POTASSIUM_LAB, MAGNESIUM_LAB
-- parameters: electrolyte_days
-- requires: labs
-- denominator: the cohort
-- choices:
--   The window is index - electrolyte_days .. index + electrolyte_days, both inclusive. Any
--   result row of the value set counts as "checked", including one with an unknown unit or only a
--   value_text (the test was done; the unit rule decides whether its value is used elsewhere).
--   One deviation row per patient, event_date = index date, naming what is missing.
WITH windows AS (
    SELECT patient_id, index_date,
           index_date - getvariable('electrolyte_days') AS window_start,
           index_date + getvariable('electrolyte_days') AS window_end
    FROM work.cohort
),
checked AS (
    SELECT w.patient_id,
           count(*) FILTER (WHERE l.value_set = 'POTASSIUM_LAB') AS potassium_results,
           count(*) FILTER (WHERE l.value_set = 'MAGNESIUM_LAB') AS magnesium_results
    FROM windows AS w
    JOIN work.lab_matches AS l ON l.patient_id = w.patient_id
    WHERE l.value_set IN ('POTASSIUM_LAB', 'MAGNESIUM_LAB')
      AND l.collected_date BETWEEN w.window_start AND w.window_end
    GROUP BY w.patient_id
),
judged AS (
    SELECT w.*, coalesce(k.potassium_results, 0) AS potassium_results,
           coalesce(k.magnesium_results, 0) AS magnesium_results
    FROM windows AS w
    LEFT JOIN checked AS k USING (patient_id)
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'in the cohort from ' || index_date AS explanation,
       json_object('index_date', index_date) AS evidence
FROM judged
UNION ALL
SELECT patient_id, 'deviation', index_date,
       'No ' || concat_ws(' and no ',
                          CASE WHEN potassium_results = 0 THEN 'potassium' END,
                          CASE WHEN magnesium_results = 0 THEN 'magnesium' END)
       || ' result from ' || window_start || ' to ' || window_end || ' (leg cramps diagnosed ' || index_date || ')',
       json_object('missing', list_concat(CASE WHEN potassium_results = 0 THEN ['potassium'] ELSE []::VARCHAR[] END,
                                          CASE WHEN magnesium_results = 0 THEN ['magnesium'] ELSE []::VARCHAR[] END),
                   'window_start', window_start, 'window_end', window_end,
                   'potassium_results', potassium_results, 'magnesium_results', magnesium_results)
FROM judged
WHERE potassium_results = 0 OR magnesium_results = 0
