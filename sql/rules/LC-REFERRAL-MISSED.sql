-- rule_id: LC-REFERRAL-MISSED
-- title: Red flags without specialist referral
-- severity: low
-- guideline: "Consider specialist referral (neurology or vascular surgery) if ... associated neurological deficits ... vascular disease is suspected"
-- value_sets: RED_FLAG, RED_FLAG_VASCULAR, REFERRAL, VASCULAR_ASSESSMENT, LEG_CRAMPS
-- parameters: red_flag_lookback_days, workup_days, referral_days, referral_lookback_days, incident_lookback_days
-- reason_codes: NO_REFERRAL
-- requires: procedures
-- denominator: cohort patients with a red-flag diagnosis present from index - 365 days to index + 90 days
-- choices:
--   A RED_FLAG diagnosis counts as in LC-WORKUP-EXCESS (present on some day of index -
--   red_flag_lookback_days .. index + workup_days, chronic). The referral window is index -
--   referral_lookback_days .. index + referral_days (rules-v2.md), cut at death and at the end of
--   the data. A REFERRAL procedure in it is a referral; so is an ankle-brachial index or arterial
--   duplex (VASCULAR_ASSESSMENT) when every red flag the patient has is a PAD / claudication one
--   (RED_FLAG_VASCULAR): a neuropathy still needs its referral. Incident cases only: a LEG_CRAMPS
--   diagnosis in the incident_lookback_days before the index date excludes. One deviation row per
--   patient, event_date = index date; the explanation names the first red flag.
WITH flags AS (
    SELECT c.patient_id, c.index_date, d.*,
           EXISTS (SELECT 1 FROM work.dx_matches AS v
                   WHERE v.patient_id = d.patient_id AND v.value_set = 'RED_FLAG_VASCULAR'
                     AND v.code_system = d.code_system AND v.code = d.code) AS vascular
    FROM work.cohort AS c
    JOIN work.dx_matches AS d ON d.patient_id = c.patient_id AND d.value_set = 'RED_FLAG'
    WHERE d.recorded_date <= c.index_date + getvariable('workup_days')
      AND (d.resolved_date IS NULL OR d.resolved_date >= c.index_date - getvariable('red_flag_lookback_days'))
),
red_flags AS (
    SELECT f.patient_id, f.index_date, coalesce(f.description, f.display) AS label, f.code_system, f.code,
           f.recorded_date, f.encounter_id, f.source_file, f.source_row, x.earlier_cramps_date,
           bool_and(f.vascular) OVER (PARTITION BY f.patient_id) AS all_vascular,
           f.index_date - getvariable('referral_lookback_days') AS refer_from,
           f.index_date + getvariable('referral_days') AS refer_by,
           window_cut(f.index_date + getvariable('referral_days'), getvariable('referral_days'), x.death_date,
                      x.data_end) AS cut
    FROM flags AS f
    JOIN work.cohort_context AS x USING (patient_id)
    QUALIFY row_number() OVER (PARTITION BY f.patient_id ORDER BY f.recorded_date, f.source_row) = 1
),
referred AS (
    SELECT DISTINCT r.patient_id
    FROM red_flags AS r
    JOIN work.proc_matches AS p ON p.patient_id = r.patient_id
    WHERE p.performed_date BETWEEN r.refer_from AND r.refer_by
      AND (p.value_set = 'REFERRAL' OR (p.value_set = 'VASCULAR_ASSESSMENT' AND r.all_vascular))
),
unreferred AS (SELECT * FROM red_flags WHERE patient_id NOT IN (SELECT patient_id FROM referred))
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'red flag: ' || label || ' recorded ' || recorded_date AS explanation,
       json_object('code_system', code_system, 'code', code, 'recorded_date', recorded_date,
                   'encounter_id', encounter_id, 'source_file', source_file, 'source_row', source_row) AS evidence,
       NULL AS reason_code
FROM red_flags
UNION ALL
SELECT patient_id, 'exclusion', earlier_cramps_date,
       'not an incident case: already diagnosed on ' || earlier_cramps_date || ' (leg cramps, within '
       || getvariable('incident_lookback_days') || ' days before the index date ' || index_date || ')',
       json_object('earlier_diagnosis_date', earlier_cramps_date), 'NOT_INCIDENT'
FROM red_flags
WHERE earlier_cramps_date IS NOT NULL
UNION ALL
SELECT patient_id, 'not_evaluable', index_date,
       CASE WHEN table_missing('procedures') THEN missing_reason('procedures')
            ELSE 'Red flag ' || label || ' recorded ' || recorded_date || ', no referral from ' || refer_from
                 || ' to the cut: ' || cut END,
       json_object('referral_window_start', refer_from, 'referral_window_end', refer_by),
       CASE WHEN table_missing('procedures') THEN 'TABLE_MISSING' ELSE 'WINDOW_CUT' END
FROM unreferred
WHERE table_missing('procedures') OR cut IS NOT NULL
UNION ALL
SELECT patient_id, 'deviation', index_date,
       'Red flag ' || label || ' recorded ' || recorded_date || ': no neurology or vascular surgery referral'
       || CASE WHEN all_vascular THEN ' and no ankle-brachial index or arterial duplex' ELSE '' END
       || ' from ' || refer_from || ' to ' || refer_by,
       json_object('red_flag', json_object('code_system', code_system, 'code', code, 'recorded_date', recorded_date,
                                           'encounter_id', encounter_id, 'source_file', source_file,
                                           'source_row', source_row),
                   'referral_window_start', refer_from, 'referral_window_end', refer_by),
       'NO_REFERRAL'
FROM unreferred
WHERE NOT table_missing('procedures') AND cut IS NULL
