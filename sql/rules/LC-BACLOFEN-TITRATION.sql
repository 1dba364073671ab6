-- rule_id: LC-BACLOFEN-TITRATION
-- title: Baclofen outside the titration schedule
-- severity: medium
-- guideline: "start at 10 mg/day with weekly increases of 10 mg up to 30 mg/day"
-- value_sets: BACLOFEN, SPASTICITY
-- parameters: followup_days, baclofen_start_max_mg, baclofen_max_mg, baclofen_step_max_mg, baclofen_step_min_days
-- reason_codes: ABOVE_MAXIMUM, FIRST_DOSE_ABOVE_START, RAISE_TOO_LARGE, RAISE_TOO_SOON
-- denominator: cohort patients with a baclofen order started in follow-up
-- choices:
--   Orders are those starting inside follow-up. Daily dose in mg via unit_conversions.csv (mg, g, gm)
--   or tablets x the strength in the description; orders starting on the same day are summed into
--   one daily dose (rules-v2.md). rules-v2.md: "the first order" is the first day by start date,
--   whatever its dose (an unknown dose: its start is not judged), and each day's dose is compared
--   with the day just before it (a raise after an unknown dose is not judged). A raise is any
--   higher daily dose; it deviates when it is more than baclofen_step_max_mg, or when it starts
--   fewer than baclofen_step_min_days after the order before it started. One deviation row per day,
--   naming every limit it breaks; its reason code is the first of the header's list it breaks. A
--   patient none of whose orders has a known daily dose is not evaluable (with some known, the known
--   ones decide, as in v1: rules-v2.md only says an unknown start is not judged). SPASTICITY present at the
--   first order (recorded on or before it, not resolved before it) excludes. Intrathecal baclofen
--   never reaches here (matching drops it).
WITH orders AS (
    SELECT m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'BACLOFEN'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
),
days AS (
    SELECT patient_id, start_date, any_value(day_dose_mg) AS dose_mg, min_by(label, order_id) AS label,
           list(order_id ORDER BY order_id) AS order_ids,
           json_group_array(json_object('order_id', order_id, 'encounter_id', encounter_id, 'status', status,
                                        'route', route, 'source_file', source_file, 'source_row', source_row,
                                        'code_system', code_system, 'code', code, 'description', description,
                                        'daily_dose_mg', daily_dose_mg)) AS order_evidence
    FROM orders
    GROUP BY patient_id, start_date
),
sequenced AS (
    SELECT *,
           row_number() OVER w AS position,
           lag(dose_mg) OVER w AS previous_dose_mg,
           lag(start_date) OVER w AS previous_start
    FROM days
    WINDOW w AS (PARTITION BY patient_id ORDER BY start_date)
),
breaches AS (
    SELECT *,
           dose_mg > getvariable('baclofen_max_mg') AS above_max,
           position = 1 AND dose_mg > getvariable('baclofen_start_max_mg') AS first_high,
           position > 1 AND dose_mg - previous_dose_mg > getvariable('baclofen_step_max_mg') AS step_large,
           position > 1 AND dose_mg > previous_dose_mg
               AND start_date - previous_start < getvariable('baclofen_step_min_days') AS step_soon
    FROM sequenced
),
deviating AS (
    SELECT *,
           concat_ws('; ',
               CASE WHEN first_high THEN 'first dose above ' || getvariable('baclofen_start_max_mg') || ' mg/day' END,
               CASE WHEN above_max THEN 'above the ' || getvariable('baclofen_max_mg') || ' mg/day maximum' END,
               CASE WHEN step_large THEN 'raised from ' || fmt_num(previous_dose_mg) || ' mg/day by '
                                         || fmt_num(dose_mg - previous_dose_mg) || ' mg/day (more than '
                                         || getvariable('baclofen_step_max_mg') || ' mg/day)' END,
               CASE WHEN step_soon THEN 'raised ' || (start_date - previous_start) || ' days after the previous order (less than '
                                        || getvariable('baclofen_step_min_days') || ' days)' END) AS breach,
           CASE WHEN above_max THEN 'ABOVE_MAXIMUM' WHEN first_high THEN 'FIRST_DOSE_ABOVE_START'
                WHEN step_large THEN 'RAISE_TOO_LARGE' ELSE 'RAISE_TOO_SOON' END AS code
    FROM breaches
    WHERE above_max OR first_high OR step_large OR step_soon
),
spasticity AS (
    SELECT o.patient_id, min_by(d, (d.recorded_date, d.source_row)) AS dx, min(o.start_date) AS first_start
    FROM (SELECT patient_id, min(start_date) AS start_date FROM orders GROUP BY patient_id) AS o
    JOIN work.dx_matches AS d ON d.patient_id = o.patient_id AND d.value_set = 'SPASTICITY'
    WHERE present_on(d.recorded_date, d.resolved_date, o.start_date)
    GROUP BY ALL
)
SELECT patient_id, 'denominator' AS role, min(start_date) AS event_date,
       count(*) || ' baclofen order(s) from ' || min(start_date) AS explanation,
       json_object('order_ids', list(order_id ORDER BY start_date, order_id)) AS evidence, NULL AS reason_code
FROM orders
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'exclusion', first_start,
       'Spasticity: ' || coalesce(dx.description, dx.display) || ' recorded ' || dx.recorded_date
       || ', on or before the first baclofen order ' || first_start,
       json_object('code_system', dx.code_system, 'code', dx.code, 'recorded_date', dx.recorded_date,
                   'encounter_id', dx.encounter_id, 'source_file', dx.source_file, 'source_row', dx.source_row),
       'SPASTICITY'
FROM spasticity
UNION ALL
SELECT patient_id, 'not_evaluable', min(start_date),
       'no baclofen order has a known daily dose (' || count(*) || ' order(s) from ' || min(start_date)
       || '; dose, frequency or a mass unit missing)',
       json_object('order_ids', list(order_id ORDER BY start_date, order_id)), 'DOSE_UNKNOWN'
FROM orders
GROUP BY patient_id
HAVING count(daily_dose_mg) = 0
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date || ' at ' || fmt_num(dose_mg) || ' mg/day: ' || breach,
       json_object('order_ids', order_ids, 'orders', order_evidence, 'start_date', start_date,
                   'daily_dose_mg', dose_mg, 'previous_daily_dose_mg', previous_dose_mg,
                   'previous_start_date', previous_start),
       code
FROM deviating
