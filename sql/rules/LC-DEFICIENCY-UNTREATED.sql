-- rule_id: LC-DEFICIENCY-UNTREATED
-- title: Documented deficiency not corrected
-- severity: medium
-- guideline: "documented deficiencies should be corrected"
-- value_sets: POTASSIUM_LAB, MAGNESIUM_LAB, POTASSIUM_SUPPLEMENT, MAGNESIUM_SUPPLEMENT, DIURETIC_THIAZIDE_OR_LOOP, DIURETIC_POTASSIUM_SPARING
-- parameters: followup_days, deficiency_lookback_days, correction_days, mg_low_mmol, k_low_mmol
-- reason_codes: LOW_MAGNESIUM_UNCORRECTED, LOW_POTASSIUM_UNCORRECTED
-- requires: labs
-- denominator: cohort patients with a low potassium or magnesium result from index - 30 days to the end of follow-up
-- choices:
--   Low results are taken from index - deficiency_lookback_days to followup_end (inclusive); "low" is
--   work.lab_matches.is_low: in the result's own unit, against its ref_low when plausible for the
--   unit, else the unit's default (1.7 mg/dL, 0.70 mmol/L, 1.4 mEq/L; potassium 3.5 mmol/L = mEq/L);
--   text "<0.5" counts. A low result is corrected (rules-v2.md) by a supplement of its kind (any
--   route) starting on the result date or up to correction_days after it, or active on the result
--   date; by a later result of the same analyte that is not low, collected up to correction_days
--   after it; and, for low potassium, by a thiazide or loop diuretic ending (recorded end date) or a
--   potassium-sparing diuretic starting in that window. Each uncorrected low result is one deviation
--   row (event_date = collected date). A correction window cut by death or the end of the data
--   leaves that result not judged: the patient is not evaluable unless another result deviates.
--   Without usable labs the denominator is empty (rules.md builds it from low results).
WITH low_results AS (
    SELECT l.*, x.death_date, x.data_end,
           CASE l.value_set WHEN 'MAGNESIUM_LAB' THEN 'magnesium' ELSE 'potassium' END AS analyte,
           CASE l.value_set WHEN 'MAGNESIUM_LAB' THEN 'MAGNESIUM_SUPPLEMENT' ELSE 'POTASSIUM_SUPPLEMENT' END
               AS treatment_set,
           CASE WHEN l.threshold_source = 'reference low' THEN 'below its reference low ' ELSE 'below ' END
               || with_unit(l.low_threshold, l.unit) AS threshold,
           l.collected_date + getvariable('correction_days') AS correct_by
    FROM work.cohort AS c
    JOIN work.cohort_context AS x USING (patient_id)
    JOIN work.lab_matches AS l ON l.patient_id = c.patient_id
    WHERE l.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB') AND l.is_low
      AND l.collected_date BETWEEN c.index_date - getvariable('deficiency_lookback_days') AND c.followup_end
),
untreated AS (
    SELECT r.*, window_cut(r.correct_by, getvariable('correction_days'), r.death_date, r.data_end) AS cut
    FROM low_results AS r
    WHERE NOT EXISTS (
        SELECT 1 FROM work.med_matches AS m
        WHERE m.patient_id = r.patient_id AND m.value_set = r.treatment_set
          AND (m.start_date BETWEEN r.collected_date AND r.correct_by
               OR active_on(m.start_date, m.active_until, r.collected_date)))
      AND NOT EXISTS (
        SELECT 1 FROM work.lab_matches AS n
        WHERE n.patient_id = r.patient_id AND n.value_set = r.value_set AND n.is_low = false
          AND n.collected_date > r.collected_date AND n.collected_date <= r.correct_by)
      AND NOT (r.analyte = 'potassium' AND EXISTS (
        SELECT 1 FROM work.med_matches AS m
        WHERE m.patient_id = r.patient_id
          AND ((m.value_set = 'DIURETIC_THIAZIDE_OR_LOOP' AND m.end_date BETWEEN r.collected_date AND r.correct_by)
               OR (m.value_set = 'DIURETIC_POTASSIUM_SPARING'
                   AND m.start_date BETWEEN r.collected_date AND r.correct_by))))
),
deviating AS (SELECT * FROM untreated WHERE cut IS NULL)
SELECT patient_id, 'denominator' AS role, min(collected_date) AS event_date,
       count(*) || ' low potassium / magnesium result(s) from ' || min(collected_date) AS explanation,
       json_object('low_results', count(*)) AS evidence, NULL AS reason_code
FROM low_results
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'not_evaluable', collected_date,
       'Low ' || analyte || ' ' || result_text || ' on ' || collected_date || ' (' || threshold || '): '
       || cut || ' (no correction seen up to then)',
       json_object('collected_date', collected_date, 'correction_window_end', correct_by), 'WINDOW_CUT'
FROM untreated
WHERE cut IS NOT NULL AND patient_id NOT IN (SELECT patient_id FROM deviating)
UNION ALL
SELECT patient_id, 'deviation', collected_date,
       'Low ' || analyte || ' ' || result_text || ' on ' || collected_date
       || ' (' || threshold || '): no ' || analyte || ' supplement started, no later ' || analyte
       || ' result that is not low'
       || CASE WHEN analyte = 'potassium' THEN ', no thiazide or loop diuretic stopped and no potassium-sparing diuretic started'
               ELSE '' END
       || ' within ' || getvariable('correction_days') || ' days',
       json_object('analyte', analyte, 'code_system', code_system, 'code', code,
                   'collected_date', collected_date, 'result', result_text, 'value', value_numeric,
                   'value_text', value_text, 'unit', unit, 'value_mmol', value_mmol, 'ref_low', ref_low,
                   'threshold', low_threshold, 'threshold_unit', unit, 'encounter_id', encounter_id,
                   'source_file', source_file, 'source_row', source_row, 'correction_window_end', correct_by),
       CASE analyte WHEN 'magnesium' THEN 'LOW_MAGNESIUM_UNCORRECTED' ELSE 'LOW_POTASSIUM_UNCORRECTED' END
FROM deviating
