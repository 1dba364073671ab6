-- rule_id: LC-RLS-CONFUSION
-- title: Dopaminergic treatment without restless legs
-- severity: medium
-- guideline: "Do not confuse leg cramps with restless leg syndrome, which requires different treatment (dopaminergic agents)"
-- value_sets: DOPAMINERGIC, PARKINSONS, RESTLESS_LEGS
-- parameters: followup_days
-- denominator: cohort patients with a dopaminergic order started in follow-up
-- choices:
--   Judged per DOPAMINERGIC order starting inside follow-up: a PARKINSONS diagnosis recorded on or
--   before the order's start excludes (one exclusion row per such order, and by the decider's order
--   an exclusion outranks deviations of other orders); otherwise a missing RESTLESS_LEGS diagnosis
--   recorded on or before its start is a deviation (one row per order). Diagnoses count whatever
--   their resolved_date.
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
            WHERE d.patient_id = o.patient_id AND d.value_set = 'PARKINSONS' AND d.recorded_date <= o.start_date
           ) AS parkinsons,
           EXISTS (SELECT 1 FROM work.dx_matches AS d
                   WHERE d.patient_id = o.patient_id AND d.value_set = 'RESTLESS_LEGS'
                     AND d.recorded_date <= o.start_date) AS restless_legs_recorded
    FROM orders AS o
)
SELECT patient_id, 'denominator' AS role, min(start_date) AS event_date,
       count(*) || ' dopaminergic order(s) from ' || min(start_date) AS explanation,
       json_object('order_ids', list(order_id ORDER BY start_date, order_id)) AS evidence
FROM orders
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'exclusion', start_date,
       'Parkinsonism: ' || parkinsons || ', before ' || label
       || ' started ' || start_date,
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'start_date', start_date, 'parkinsons', parkinsons)
FROM judged
WHERE parkinsons IS NOT NULL
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date
       || ' with no restless legs syndrome diagnosis recorded before it',
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'matched_by', matched_by)
FROM judged
WHERE parkinsons IS NULL AND NOT restless_legs_recorded
