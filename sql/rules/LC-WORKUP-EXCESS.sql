-- rule_id: LC-WORKUP-EXCESS
-- title: Extensive work-up of typical cramps
-- severity: low
-- guideline: "Do not perform extensive imaging or laboratory workup in patients with typical idiopathic nocturnal leg cramps and normal examination"
-- value_sets: RED_FLAG, EXTENSIVE_WORKUP, LEG_CRAMPS
-- parameters: red_flag_lookback_days, workup_days, incident_lookback_days
-- reason_codes: EXTENSIVE_WORKUP_DONE
-- requires: procedures
-- denominator: cohort patients with no red-flag diagnosis present from index - 365 days to index + 90 days
-- choices:
--   A RED_FLAG diagnosis is a chronic condition (rules-v2.md): it counts when it was present on some
--   day of index - red_flag_lookback_days .. index + workup_days (recorded on or before the window's
--   end and not resolved before its start), however long ago it was recorded. Work-up counts when
--   performed in index .. index + workup_days (inclusive); that window is cut at death and at the end
--   of the data: work-up shown before the cut stands, none shown leaves the patient not evaluable.
--   Incident cases only: a LEG_CRAMPS diagnosis in the incident_lookback_days before the index date
--   excludes. One deviation row per EXTENSIVE_WORKUP procedure row (several CPT lines of one study
--   are several rows). Without procedures every patient is not evaluable.
WITH denominator AS (
    SELECT c.patient_id, c.index_date, x.earlier_cramps_date,
           c.index_date - getvariable('red_flag_lookback_days') AS flag_start,
           c.index_date + getvariable('workup_days') AS workup_by,
           window_cut(c.index_date + getvariable('workup_days'), getvariable('workup_days'), x.death_date,
                      x.data_end) AS cut
    FROM work.cohort AS c
    JOIN work.cohort_context AS x USING (patient_id)
    WHERE NOT EXISTS (
        SELECT 1 FROM work.dx_matches AS d
        WHERE d.patient_id = c.patient_id AND d.value_set = 'RED_FLAG'
          AND d.recorded_date <= c.index_date + getvariable('workup_days')
          AND (d.resolved_date IS NULL OR d.resolved_date >= c.index_date - getvariable('red_flag_lookback_days')))
),
workup AS (
    SELECT n.patient_id, n.index_date, p.*
    FROM denominator AS n
    JOIN work.proc_matches AS p ON p.patient_id = n.patient_id AND p.value_set = 'EXTENSIVE_WORKUP'
    WHERE p.performed_date BETWEEN n.index_date AND n.workup_by
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'no red-flag diagnosis coded from ' || flag_start || ' to ' || workup_by AS explanation,
       json_object('index_date', index_date) AS evidence, NULL AS reason_code
FROM denominator
UNION ALL
SELECT patient_id, 'exclusion', earlier_cramps_date,
       'not an incident case: already diagnosed on ' || earlier_cramps_date || ' (leg cramps, within '
       || getvariable('incident_lookback_days') || ' days before the index date ' || index_date || ')',
       json_object('earlier_diagnosis_date', earlier_cramps_date), 'NOT_INCIDENT'
FROM denominator
WHERE earlier_cramps_date IS NOT NULL
UNION ALL
SELECT patient_id, 'not_evaluable', index_date,
       CASE WHEN table_missing('procedures') THEN missing_reason('procedures')
            ELSE 'no extensive work-up from ' || index_date || ' to the cut: ' || cut END,
       json_object('workup_window_start', index_date, 'workup_window_end', workup_by),
       CASE WHEN table_missing('procedures') THEN 'TABLE_MISSING' ELSE 'WINDOW_CUT' END
FROM denominator
WHERE table_missing('procedures')
   OR (cut IS NOT NULL AND patient_id NOT IN (SELECT patient_id FROM workup))
UNION ALL
SELECT patient_id, 'deviation', performed_date,
       coalesce(description, display) || ' (' || code_system || ' ' || code || ') on ' || performed_date
       || ' for leg cramps with no red-flag diagnosis coded (day ' || (performed_date - index_date)
       || ' after diagnosis)',
       json_object('code_system', code_system, 'code', code, 'description', description,
                   'performed_date', performed_date, 'encounter_id', encounter_id,
                   'source_file', source_file, 'source_row', source_row, 'index_date', index_date),
       'EXTENSIVE_WORKUP_DONE'
FROM workup
