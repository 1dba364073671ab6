-- rule_id: LC-QUININE
-- title: Quinine prescribed
-- severity: high
-- guideline: "Avoid quinine despite historical use"
-- value_sets: QUININE, MALARIA
-- parameters: followup_days, closed_order_days, open_order_max_days, quinine_malaria_days
-- reason_codes: QUININE_STARTED, QUININE_ACTIVE_AT_INDEX
-- denominator: the cohort
-- choices:
--   A QUININE order deviates when it starts inside follow-up (index .. followup_end, both
--   inclusive) or is active on the index date (rules-v2.md "Active on a date": an order without an
--   end date is active closed_order_days after its start when completed or stopped, else
--   open_order_max_days). One deviation row per order; event_date is the order's start date.
--   Malaria (rules-v2.md) recorded from index - quinine_malaria_days (or from the order's start -
--   quinine_malaria_days when the order started before that) to the order's start +
--   quinine_malaria_days excludes the patient. The malaria window is not cut at death (a malaria
--   diagnosis can only be recorded while alive; a shorter window just shows fewer).
WITH quinine_orders AS (
    SELECT c.index_date, m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'QUININE'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
       OR active_on(m.start_date, m.active_until, c.index_date)
),
malaria AS (
    SELECT q.patient_id, q.order_id, q.label, q.start_date,
           min_by(d, (d.recorded_date, d.source_row)) AS dx
    FROM quinine_orders AS q
    JOIN work.dx_matches AS d ON d.patient_id = q.patient_id AND d.value_set = 'MALARIA'
    WHERE d.recorded_date BETWEEN least(q.index_date, q.start_date) - getvariable('quinine_malaria_days')
                              AND q.start_date + getvariable('quinine_malaria_days')
    GROUP BY ALL
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'in the cohort from ' || index_date AS explanation,
       json_object('index_date', index_date) AS evidence, NULL AS reason_code
FROM work.cohort
UNION ALL
SELECT patient_id, 'exclusion', start_date,
       'Malaria: ' || coalesce(dx.description, dx.display) || ' recorded ' || dx.recorded_date || ', within '
       || getvariable('quinine_malaria_days') || ' days of ' || label || ' started ' || start_date,
       json_object('order_id', order_id, 'malaria', json_object('code_system', dx.code_system, 'code', dx.code,
                   'recorded_date', dx.recorded_date, 'encounter_id', dx.encounter_id,
                   'source_file', dx.source_file, 'source_row', dx.source_row)),
       'MALARIA'
FROM malaria
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date
       || CASE WHEN start_date >= index_date THEN ' (day ' || (start_date - index_date) || ' of follow-up)'
               WHEN end_date IS NOT NULL THEN ', end date ' || end_date || ' on or after the index date ' || index_date
               ELSE ', no end date recorded (' || CASE WHEN status = 'status unknown' THEN status
                                                       ELSE 'status ' || status END
                    || '), within ' || (active_until - start_date) || ' days of its start on the index date '
                    || index_date END,
       json_object('order_id', order_id, 'encounter_id', encounter_id, 'status', status, 'route', route,
                   'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'end_date', end_date, 'matched_by', matched_by,
                   'index_date', index_date),
       CASE WHEN start_date >= index_date THEN 'QUININE_STARTED' ELSE 'QUININE_ACTIVE_AT_INDEX' END
FROM quinine_orders
