-- rule_id: LC-FERRITIN-RLS
-- title: Ferritin not measured when restless legs are suspected
-- severity: low
-- guideline: "Measure serum ferritin if restless leg syndrome is suspected"
-- value_sets: RESTLESS_LEGS, DOPAMINERGIC, ALPHA2DELTA, FERRITIN_LAB
-- parameters: followup_days, ferritin_lookback_days, ferritin_after_days
-- reason_codes: NO_FERRITIN_RESULT
-- requires: labs
-- denominator: cohort patients with a restless legs diagnosis or a dopaminergic / alpha-2-delta start in follow-up
-- choices:
--   The suspicion date is the first RESTLESS_LEGS diagnosis recorded, or DOPAMINERGIC / ALPHA2DELTA
--   order started, inside follow-up (index .. followup_end; a diagnosis recorded before the index
--   date does not make the patient suspected now). A ferritin result read (a value or a bound; text
--   that is not a value does not count) collected from that date - ferritin_lookback_days to + 
--   ferritin_after_days (inclusive) meets it. The window is cut at death and at the end of the data
--   (none seen: not evaluable). Without labs every patient is not evaluable.
WITH suspicions AS (
    SELECT c.patient_id, d.recorded_date AS suspected_on,
           'restless legs: ' || coalesce(d.description, d.display) || ' recorded ' || d.recorded_date AS what
    FROM work.cohort AS c
    JOIN work.dx_matches AS d ON d.patient_id = c.patient_id AND d.value_set = 'RESTLESS_LEGS'
    WHERE d.recorded_date BETWEEN c.index_date AND c.followup_end
    UNION ALL
    SELECT c.patient_id, m.start_date, m.label || ' started ' || m.start_date
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set IN ('DOPAMINERGIC', 'ALPHA2DELTA')
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
),
suspected AS (
    SELECT s.patient_id, min(s.suspected_on) AS suspected_on, min_by(s.what, (s.suspected_on, s.what)) AS what,
           min(s.suspected_on) - getvariable('ferritin_lookback_days') AS window_start,
           min(s.suspected_on) + getvariable('ferritin_after_days') AS window_end,
           any_value(x.death_date) AS death_date, any_value(x.data_end) AS data_end
    FROM suspicions AS s
    JOIN work.cohort_context AS x USING (patient_id)
    GROUP BY s.patient_id
),
measured AS (
    SELECT DISTINCT s.patient_id
    FROM suspected AS s
    JOIN work.lab_matches AS l ON l.patient_id = s.patient_id AND l.value_set = 'FERRITIN_LAB'
    WHERE l.has_result AND l.collected_date BETWEEN s.window_start AND s.window_end
),
unmeasured AS (
    SELECT *, window_cut(window_end, getvariable('ferritin_after_days'), death_date, data_end) AS cut
    FROM suspected
    WHERE patient_id NOT IN (SELECT patient_id FROM measured)
)
SELECT patient_id, 'denominator' AS role, suspected_on AS event_date, what AS explanation,
       json_object('suspected_on', suspected_on) AS evidence, NULL AS reason_code
FROM suspected
UNION ALL
SELECT patient_id, 'not_evaluable', suspected_on,
       CASE WHEN table_missing('labs') THEN missing_reason('labs')
            ELSE 'no ferritin result from ' || window_start || ' to the cut: ' || cut END,
       json_object('window_start', window_start, 'window_end', window_end),
       CASE WHEN table_missing('labs') THEN 'TABLE_MISSING' ELSE 'WINDOW_CUT' END
FROM unmeasured
WHERE table_missing('labs') OR cut IS NOT NULL
UNION ALL
SELECT patient_id, 'deviation', suspected_on,
       'Restless legs suspected (' || what || '): no ferritin result from ' || window_start || ' to ' || window_end,
       json_object('suspected_on', suspected_on, 'window_start', window_start, 'window_end', window_end),
       'NO_FERRITIN_RESULT'
FROM unmeasured
WHERE NOT table_missing('labs') AND cut IS NULL
