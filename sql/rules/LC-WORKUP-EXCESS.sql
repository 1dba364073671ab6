-- rule_id: LC-WORKUP-EXCESS
-- title: Extensive work-up of typical cramps
-- severity: low
-- guideline: "Do not perform extensive imaging or laboratory workup in patients with typical idiopathic nocturnal leg cramps and normal examination"
-- value_sets: RED_FLAG, EXTENSIVE_WORKUP
-- parameters: red_flag_lookback_days, workup_days
-- requires: procedures
-- denominator: cohort patients with no red-flag diagnosis from index - 365 days to index + 90 days
-- choices:
--   A RED_FLAG diagnosis counts when recorded in index - red_flag_lookback_days .. index +
--   workup_days (inclusive). Work-up counts when performed in index .. index + workup_days
--   (inclusive). One deviation row per EXTENSIVE_WORKUP procedure row (several CPT lines of one
--   study are several rows).
WITH denominator AS (
    SELECT c.patient_id, c.index_date
    FROM work.cohort AS c
    WHERE NOT EXISTS (
        SELECT 1 FROM work.dx_matches AS d
        WHERE d.patient_id = c.patient_id AND d.value_set = 'RED_FLAG'
          AND d.recorded_date BETWEEN c.index_date - getvariable('red_flag_lookback_days')
                                  AND c.index_date + getvariable('workup_days'))
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'no red-flag diagnosis from ' || (index_date - getvariable('red_flag_lookback_days')) || ' to '
       || (index_date + getvariable('workup_days')) AS explanation,
       json_object('index_date', index_date) AS evidence
FROM denominator
UNION ALL
SELECT n.patient_id, 'deviation', p.performed_date,
       coalesce(p.description, p.display) || ' (' || p.code_system || ' ' || p.code || ') on ' || p.performed_date
       || ' for leg cramps without red flags (day ' || (p.performed_date - n.index_date) || ' after diagnosis)',
       json_object('code_system', p.code_system, 'code', p.code, 'description', p.description,
                   'performed_date', p.performed_date, 'source_file', p.source_file, 'source_row', p.source_row,
                   'index_date', n.index_date)
FROM denominator AS n
JOIN work.proc_matches AS p ON p.patient_id = n.patient_id AND p.value_set = 'EXTENSIVE_WORKUP'
WHERE p.performed_date BETWEEN n.index_date AND n.index_date + getvariable('workup_days')
