-- rule_id: LC-DEFICIENCY-UNTREATED
-- title: Documented deficiency not corrected
-- severity: medium
-- guideline: "documented deficiencies should be corrected"
-- value_sets: POTASSIUM_LAB, MAGNESIUM_LAB, POTASSIUM_SUPPLEMENT, MAGNESIUM_SUPPLEMENT
-- parameters: followup_days, deficiency_lookback_days, correction_days, mg_low_mmol, k_low_mmol
-- requires: labs
-- denominator: cohort patients with a low potassium or magnesium result from index - 30 days to the end of follow-up
-- choices:
--   Low results are taken from index - deficiency_lookback_days to followup_end (inclusive), and
--   only with a known unit (work.lab_matches.is_low: own ref_low, else mg_low_mmol / k_low_mmol).
--   A low result is corrected by a supplement of its kind (any route) that starts on the result
--   date or up to correction_days after it, or that is active on the result date. Each uncorrected
--   low result is one deviation row (event_date = collected date); the correction window may run
--   past the end of follow-up. Without usable labs the denominator is empty (rules.md builds it
--   from low results); the run's data-quality report names this rule among those the missing labs
--   left not fully evaluated, so "0 of 0" is not read as "no untreated deficiency".
WITH low_results AS (
    SELECT l.*,
           CASE l.value_set WHEN 'MAGNESIUM_LAB' THEN 'magnesium' ELSE 'potassium' END AS analyte,
           CASE l.value_set WHEN 'MAGNESIUM_LAB' THEN 'MAGNESIUM_SUPPLEMENT' ELSE 'POTASSIUM_SUPPLEMENT' END
               AS treatment_set,
           CASE WHEN l.ref_low IS NOT NULL THEN 'below its reference low ' || fmt_num(l.ref_low)
                WHEN l.value_set = 'MAGNESIUM_LAB' THEN 'below ' || fmt_num(getvariable('mg_low_mmol')) || ' mmol/L'
                ELSE 'below ' || fmt_num(getvariable('k_low_mmol')) || ' mmol/L' END AS threshold
    FROM work.cohort AS c
    JOIN work.lab_matches AS l ON l.patient_id = c.patient_id
    WHERE l.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB') AND l.is_low
      AND l.collected_date BETWEEN c.index_date - getvariable('deficiency_lookback_days') AND c.followup_end
),
untreated AS (
    SELECT r.*
    FROM low_results AS r
    WHERE NOT EXISTS (
        SELECT 1 FROM work.med_matches AS m
        WHERE m.patient_id = r.patient_id AND m.value_set = r.treatment_set
          AND (m.start_date BETWEEN r.collected_date AND r.collected_date + getvariable('correction_days')
               OR active_on(m.start_date, m.end_date, r.collected_date)))
)
SELECT patient_id, 'denominator' AS role, min(collected_date) AS event_date,
       count(*) || ' low potassium / magnesium result(s) from ' || min(collected_date) AS explanation,
       json_object('low_results', count(*)) AS evidence
FROM low_results
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'deviation', collected_date,
       'Low ' || analyte || ' ' || lab_value_text(value_numeric, unit) || ' on ' || collected_date
       || ' (' || threshold || '): no ' || analyte || ' supplement started within '
       || getvariable('correction_days') || ' days',
       json_object('analyte', analyte, 'code_system', code_system, 'code', code,
                   'collected_date', collected_date, 'value', value_numeric, 'unit', unit,
                   'value_mmol', value_mmol, 'ref_low', ref_low,
                   'source_file', source_file, 'source_row', source_row,
                   'correction_window_end', collected_date + getvariable('correction_days'))
FROM untreated
