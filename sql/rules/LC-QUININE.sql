-- rule_id: LC-QUININE
-- title: Quinine prescribed
-- severity: high
-- guideline: "Avoid quinine despite historical use"
-- value_sets: QUININE
-- parameters: followup_days
-- denominator: the cohort
-- choices:
--   A QUININE order deviates when it starts inside follow-up (index .. followup_end, both
--   inclusive) or is active on the index date (start <= index, end missing or >= index).
--   One deviation row per order; event_date is the order's start date, which for an order already
--   active on the index date lies before it.
WITH quinine_orders AS (
    SELECT c.index_date, m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'QUININE'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
       OR active_on(m.start_date, m.end_date, c.index_date)
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'in the cohort from ' || index_date AS explanation,
       json_object('index_date', index_date) AS evidence
FROM work.cohort
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date
       || CASE WHEN start_date < index_date
               THEN ' and still active on the index date ' || index_date
               ELSE ' (day ' || (start_date - index_date) || ' of follow-up)' END,
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'end_date', end_date, 'matched_by', matched_by,
                   'index_date', index_date)
FROM quinine_orders
