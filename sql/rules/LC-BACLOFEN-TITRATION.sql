-- rule_id: LC-BACLOFEN-TITRATION
-- title: Baclofen outside the titration schedule
-- severity: medium
-- guideline: "start at 10 mg/day with weekly increases of 10 mg up to 30 mg/day"
-- value_sets: BACLOFEN
-- parameters: followup_days, baclofen_start_max_mg, baclofen_max_mg, baclofen_step_max_mg, baclofen_step_min_days
-- denominator: cohort patients with a baclofen order started in follow-up
-- choices:
--   Orders are those starting inside follow-up, in start_date then order_id order. Daily dose in mg
--   via unit_conversions.csv (mg, g); other units or missing values are unknown. Orders with an
--   unknown daily dose are skipped: "the first order" is the first with a known daily dose and each
--   later order is compared with the known-dose order before it. A raise is any higher daily dose;
--   it deviates when it is more than baclofen_step_max_mg, or when it starts fewer than
--   baclofen_step_min_days days after the order before it started. One deviation row per order,
--   naming every limit it breaks. Intrathecal baclofen never reaches here (matching drops it).
WITH orders AS (
    SELECT m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'BACLOFEN'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
),
known AS (
    SELECT *,
           row_number() OVER w AS position,
           lag(daily_dose_mg) OVER w AS previous_dose_mg,
           lag(start_date) OVER w AS previous_start,
           lag(order_id) OVER w AS previous_order_id
    FROM orders
    WHERE daily_dose_mg IS NOT NULL
    WINDOW w AS (PARTITION BY patient_id ORDER BY start_date, order_id)
),
breaches AS (
    SELECT *,
           concat_ws('; ',
               CASE WHEN position = 1 AND daily_dose_mg > getvariable('baclofen_start_max_mg')
                    THEN 'first dose above ' || getvariable('baclofen_start_max_mg') || ' mg/day' END,
               CASE WHEN daily_dose_mg > getvariable('baclofen_max_mg')
                    THEN 'above the ' || getvariable('baclofen_max_mg') || ' mg/day maximum' END,
               CASE WHEN position > 1 AND daily_dose_mg - previous_dose_mg > getvariable('baclofen_step_max_mg')
                    THEN 'raised from ' || fmt_num(previous_dose_mg) || ' mg/day by ' || fmt_num(daily_dose_mg - previous_dose_mg)
                         || ' mg (more than ' || getvariable('baclofen_step_max_mg') || ')' END,
               CASE WHEN position > 1 AND daily_dose_mg > previous_dose_mg
                         AND start_date - previous_start < getvariable('baclofen_step_min_days')
                    THEN 'raised ' || (start_date - previous_start) || ' days after the previous order (less than '
                         || getvariable('baclofen_step_min_days') || ')' END
           ) AS breach
    FROM known
)
SELECT patient_id, 'denominator' AS role, min(start_date) AS event_date,
       count(*) || ' baclofen order(s) from ' || min(start_date) AS explanation,
       json_object('order_ids', list(order_id ORDER BY start_date, order_id)) AS evidence
FROM orders
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'not_evaluable', min(start_date),
       'no baclofen order has a known daily dose (' || count(*) || ' order(s))',
       json_object('order_ids', list(order_id ORDER BY start_date, order_id))
FROM orders
GROUP BY patient_id
HAVING count(daily_dose_mg) = 0
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date || ' at ' || fmt_num(daily_dose_mg)
       || ' mg/day: ' || breach,
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'daily_dose_mg', daily_dose_mg,
                   'previous_order_id', previous_order_id, 'previous_daily_dose_mg', previous_dose_mg,
                   'previous_start_date', previous_start)
FROM breaches
WHERE breach <> ''
