-- rule_id: LC-RLS-CONFUSION
-- title: Dopaminergic treatment without restless legs
-- severity: medium
-- guideline: "Do not confuse leg cramps with restless leg syndrome, which requires different treatment (dopaminergic agents)"
-- value_sets: DOPAMINERGIC, PARKINSONS, RESTLESS_LEGS
-- parameters: followup_days, parkinsons_after_days
-- reason_codes: DOPAMINERGIC_WITHOUT_RLS
-- denominator: cohort patients with a dopaminergic order started in follow-up
-- choices:
--   Judged per DOPAMINERGIC order starting inside follow-up: a PARKINSONS diagnosis present at the
--   order's start (recorded on or before it, not resolved before it: chronic, rules-v2.md) or
--   recorded up to parkinsons_after_days after it (a diagnostic trial) excludes (one exclusion row
--   per such order; by the decider's order an exclusion outranks deviations of other orders).
--   Otherwise a missing RESTLESS_LEGS diagnosis recorded on or before its start (whatever its
--   resolved_date) is a deviation (one row per order). The after-window for parkinsonism is not cut
--   at death or the end of data: the order is judged on what was recorded (project choice).
WITH orders AS (
    SELECT m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'DOPAMINERGIC'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
),
judged AS (
    SELECT o.*,
           (SELECT min_by(coalesce(d.description, d.display) || ' recorded ' || d.recorded_date,
                         (d.recorded_date, d.source_file, d.source_row))
            FROM work.dx_matches AS d
            WHERE d.patient_id = o.patient_id AND d.value_set = 'PARKINSONS'
              AND (present_on(d.recorded_date, d.resolved_date, o.start_date)
                   OR d.recorded_date BETWEEN o.start_date AND o.start_date + getvariable('parkinsons_after_days'))
           ) AS parkinsons,
           EXISTS (SELECT 1 FROM work.dx_matches AS d
                   WHERE d.patient_id = o.patient_id AND d.value_set = 'RESTLESS_LEGS'
                     AND d.recorded_date <= o.start_date) AS restless_legs_recorded
    FROM orders AS o
)
SELECT patient_id, 'denominator' AS role, min(start_date) AS event_date,
       count(*) || ' dopaminergic order(s) from ' || min(start_date) AS explanation,
       json_object('order_ids', list(order_id ORDER BY start_date, order_id)) AS evidence, NULL AS reason_code
FROM orders
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'exclusion', start_date,
       'Parkinsonism: ' || parkinsons || ', present at or up to ' || getvariable('parkinsons_after_days')
       || ' days after ' || label || ' started ' || start_date,
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'start_date', start_date, 'parkinsons', parkinsons),
       'PARKINSONISM'
FROM judged
WHERE parkinsons IS NOT NULL
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date
       || ' with no restless legs syndrome diagnosis recorded on or before it',
       json_object('order_id', order_id, 'encounter_id', encounter_id, 'status', status, 'route', route,
                   'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'matched_by', matched_by),
       'DOPAMINERGIC_WITHOUT_RLS'
FROM judged
WHERE parkinsons IS NULL AND NOT restless_legs_recorded
