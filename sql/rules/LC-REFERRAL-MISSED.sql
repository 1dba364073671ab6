-- rule_id: LC-REFERRAL-MISSED
-- title: Red flags without specialist referral
-- severity: low
-- guideline: "Consider specialist referral (neurology or vascular surgery) if ... associated neurological deficits ... vascular disease is suspected"
-- value_sets: RED_FLAG, REFERRAL
-- parameters: red_flag_lookback_days, workup_days, referral_days
-- requires: procedures
-- denominator: cohort patients with a red-flag diagnosis from index - 365 days to index + 90 days
-- choices:
--   A RED_FLAG diagnosis counts when recorded in index - red_flag_lookback_days .. index +
--   workup_days; a REFERRAL procedure when performed in index .. index + referral_days (both
--   inclusive). One deviation row per patient, event_date = index date; the explanation names the
--   first red flag in the window.
WITH red_flags AS (
    SELECT c.patient_id, c.index_date, coalesce(d.description, d.display) AS label, d.code_system, d.code,
           d.recorded_date, d.source_file, d.source_row
    FROM work.cohort AS c
    JOIN work.dx_matches AS d ON d.patient_id = c.patient_id AND d.value_set = 'RED_FLAG'
    WHERE d.recorded_date BETWEEN c.index_date - getvariable('red_flag_lookback_days')
                              AND c.index_date + getvariable('workup_days')
    QUALIFY row_number() OVER (PARTITION BY c.patient_id ORDER BY d.recorded_date, d.source_row) = 1
),
referred AS (
    SELECT DISTINCT r.patient_id
    FROM red_flags AS r
    JOIN work.proc_matches AS p ON p.patient_id = r.patient_id AND p.value_set = 'REFERRAL'
    WHERE p.performed_date BETWEEN r.index_date AND r.index_date + getvariable('referral_days')
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'red flag: ' || label || ' recorded ' || recorded_date AS explanation,
       json_object('code_system', code_system, 'code', code, 'recorded_date', recorded_date,
                   'source_file', source_file, 'source_row', source_row) AS evidence
FROM red_flags
UNION ALL
SELECT patient_id, 'deviation', index_date,
       'Red flag ' || label || ' recorded ' || recorded_date || ': no neurology or vascular surgery referral from '
       || index_date || ' to ' || (index_date + getvariable('referral_days')),
       json_object('red_flag', json_object('code_system', code_system, 'code', code, 'recorded_date', recorded_date,
                                           'source_file', source_file, 'source_row', source_row),
                   'referral_window_start', index_date,
                   'referral_window_end', index_date + getvariable('referral_days'))
FROM red_flags
WHERE patient_id NOT IN (SELECT patient_id FROM referred)
