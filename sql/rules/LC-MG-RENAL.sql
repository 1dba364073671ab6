-- rule_id: LC-MG-RENAL
-- title: Magnesium in renal insufficiency
-- severity: high
-- guideline: "Use extreme caution with magnesium supplementation in renal insufficiency"
-- value_sets: MAGNESIUM_SUPPLEMENT, EGFR_LAB, CKD_SEVERE, MAGNESIUM_LAB, HYPOMAGNESEMIA
-- parameters: followup_days, egfr_min, egfr_lookback_days, mg_lookback_days, mg_monitor_from_days, mg_monitor_days
-- reason_codes: NO_DOCUMENTED_DEFICIENCY, NO_MAGNESIUM_MONITORING
-- requires: labs
-- denominator: cohort patients with a magnesium supplement (any route) started in follow-up
-- choices:
--   The start is the first MAGNESIUM_SUPPLEMENT order starting in follow-up, any route (rules-v2.md).
--   Severe renal impairment at the start: the latest EGFR_LAB result read (a value or a bound) in
--   start - egfr_lookback_days .. start is below egfr_min ("<30" is; "<35" is not shown to be), else a
--   CKD_SEVERE diagnosis present at the start (recorded on or before, not resolved before) unless that
--   latest eGFR is shown >= egfr_min and was collected after the diagnosis was recorded. eGFR is
--   compared as reported (no conversion), the threshold in the result's own unit. Documented
--   deficiency as LC-MG-EMPIRIC (sql/prepare/magnesium_starts.sql). Deviation: severe and no documented
--   deficiency (NO_DOCUMENTED_DEFICIENCY), or documented and no magnesium result read from start +
--   mg_monitor_from_days to start + mg_monitor_days (NO_MAGNESIUM_MONITORING). The monitoring window
--   cut by death or the end of the data leaves the patient not evaluable; so does a missing labs
--   table where the diagnoses cannot decide.
WITH magnesium_start AS (SELECT * FROM work.magnesium_starts WHERE start_kind = 'any'),
latest_egfr AS (
    SELECT s.patient_id, l.*,
           (l.result_kind = 'value' AND l.result_number < getvariable('egfr_min'))
           OR (l.result_kind = 'below' AND l.result_number <= getvariable('egfr_min'))
           OR (l.result_kind = 'at_most' AND l.result_number < getvariable('egfr_min')) AS egfr_low,
           l.result_kind IN ('value', 'above', 'at_least') AND l.result_number >= getvariable('egfr_min') AS egfr_ok
    FROM magnesium_start AS s
    JOIN work.lab_matches AS l ON l.patient_id = s.patient_id AND l.value_set = 'EGFR_LAB'
    WHERE l.collected_date BETWEEN s.start_date - getvariable('egfr_lookback_days') AND s.start_date AND l.has_result
    QUALIFY row_number() OVER (PARTITION BY s.patient_id ORDER BY l.collected_date DESC, l.result_number, l.source_row) = 1
),
severe_ckd AS (
    SELECT s.patient_id, max_by(d, (d.recorded_date, d.source_row)) AS dx
    FROM magnesium_start AS s
    JOIN work.dx_matches AS d ON d.patient_id = s.patient_id AND d.value_set = 'CKD_SEVERE'
    WHERE present_on(d.recorded_date, d.resolved_date, s.start_date)
    GROUP BY ALL
),
monitored AS (
    SELECT DISTINCT s.patient_id
    FROM magnesium_start AS s
    JOIN work.lab_matches AS l ON l.patient_id = s.patient_id AND l.value_set = 'MAGNESIUM_LAB'
    WHERE l.has_result AND l.collected_date BETWEEN s.start_date + getvariable('mg_monitor_from_days')
                                                AND s.start_date + getvariable('mg_monitor_days')
),
judged AS (
    SELECT s.*, x.context_death, x.data_end,
           e.collected_date AS egfr_date, e.result_text AS egfr_text, e.unit AS egfr_unit,
           e.encounter_id AS egfr_encounter_id, e.source_file AS egfr_source_file, e.source_row AS egfr_source_row,
           coalesce(e.egfr_low, false) AS egfr_low, k.dx AS ckd,
           coalesce(e.egfr_low, false)
           OR (k.dx IS NOT NULL AND NOT (coalesce(e.egfr_ok, false) AND e.collected_date > k.dx.recorded_date))
               AS severe,
           s.patient_id IN (SELECT patient_id FROM monitored) AS is_monitored,
           window_cut(s.start_date + getvariable('mg_monitor_days'), getvariable('mg_monitor_days'),
                      x.context_death, x.data_end) AS cut
    FROM magnesium_start AS s
    JOIN (SELECT patient_id, death_date AS context_death, data_end FROM work.cohort_context) AS x USING (patient_id)
    LEFT JOIN latest_egfr AS e USING (patient_id)
    LEFT JOIN severe_ckd AS k USING (patient_id)
),
outcome AS (
    SELECT *,
           CASE WHEN NOT severe AND table_missing('labs') THEN 'not_evaluable'
                WHEN NOT severe THEN NULL
                WHEN documented_by IS NULL THEN 'NO_DOCUMENTED_DEFICIENCY'
                WHEN is_monitored THEN NULL
                WHEN table_missing('labs') OR cut IS NOT NULL THEN 'not_evaluable'
                ELSE 'NO_MAGNESIUM_MONITORING' END AS verdict,
           concat_ws(' and ',
               CASE WHEN egfr_low THEN 'eGFR ' || egfr_text || ' on ' || egfr_date || ' (below '
                                       || with_unit(getvariable('egfr_min'), coalesce(egfr_unit, 'mL/min/1.73 m2')) || ')' END,
               CASE WHEN NOT egfr_low AND ckd IS NOT NULL
                    THEN coalesce(ckd.description, ckd.display) || ' recorded ' || ckd.recorded_date
                         || ' (on or before the start, not resolved)' END) AS impairment
    FROM judged
)
SELECT patient_id, 'denominator' AS role, start_date AS event_date, start_explanation AS explanation,
       start_evidence AS evidence, NULL AS reason_code
FROM magnesium_start
UNION ALL
SELECT patient_id, 'not_evaluable', start_date,
       CASE WHEN NOT severe THEN missing_reason('labs') || ': no severe-renal diagnosis recorded on or before '
                                 || start_date || ', and no eGFR can be looked for'
            WHEN table_missing('labs') THEN missing_reason('labs') || ': ' || impairment
                                 || ' with a documented deficiency, but the magnesium check cannot be looked for'
            ELSE cut || ' (magnesium check due from ' || (start_date + getvariable('mg_monitor_from_days')) || ')' END,
       json_object('order_id', order_id, 'start_date', start_date),
       CASE WHEN table_missing('labs') THEN 'TABLE_MISSING' ELSE 'WINDOW_CUT' END
FROM outcome
WHERE verdict = 'not_evaluable'
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date || ' with ' || impairment
       || CASE verdict WHEN 'NO_DOCUMENTED_DEFICIENCY'
                       THEN ': no documented magnesium deficiency (no low magnesium result from '
                            || (start_date - getvariable('mg_lookback_days')) || ' to ' || start_date
                            || ' and no hypomagnesaemia diagnosis recorded on or before it)'
                       ELSE ': ' || documented_by || ', but no magnesium result from '
                            || (start_date + getvariable('mg_monitor_from_days')) || ' to '
                            || (start_date + getvariable('mg_monitor_days')) END,
       json_object('order_id', order_id, 'encounter_id', encounter_id, 'status', status, 'route', route,
                   'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'matched_by', matched_by, 'documented_by', documented_by,
                   'egfr', CASE WHEN egfr_low THEN json_object('result', egfr_text, 'unit', egfr_unit,
                       'collected_date', egfr_date, 'encounter_id', egfr_encounter_id,
                       'source_file', egfr_source_file, 'source_row', egfr_source_row) END,
                   'ckd_diagnosis', CASE WHEN NOT egfr_low AND ckd IS NOT NULL THEN json_object(
                       'code_system', ckd.code_system, 'code', ckd.code, 'recorded_date', ckd.recorded_date,
                       'encounter_id', ckd.encounter_id, 'source_file', ckd.source_file,
                       'source_row', ckd.source_row) END),
       verdict
FROM outcome
WHERE verdict IN ('NO_DOCUMENTED_DEFICIENCY', 'NO_MAGNESIUM_MONITORING')
