-- rule_id: LC-MG-DOSE
-- title: Magnesium oxide dose outside 12-24 mmol/day
-- severity: low
-- guideline: "magnesium oxide 12-24 mmol daily (approximately 480-960 mg) given at night"
-- value_sets: MAGNESIUM_SUPPLEMENT
-- parameters: followup_days, mgo_min_mg, mgo_max_mg
-- reason_codes: DOSE_BELOW_RANGE, DOSE_ABOVE_RANGE
-- denominator: cohort patients with a magnesium oxide order started in follow-up
-- choices:
--   Magnesium oxide = the MAGNESIUM_OXIDE subset of MAGNESIUM_SUPPLEMENT matches (sql/prepare/match_medications.sql:
--   code 6582 or an SCD whose display says magnesium oxide, or a description saying so).
--   A magnesium oxide order "inside follow-up" is one that starts inside it. Daily dose in mg =
--   dose_value x frequency_per_day converted by sql/valuesets/unit_conversions.csv (mg, g, gm, and
--   mmol / mEq at the guideline's 40 mg/mmol, so 12-24 mmol = 480-960 mg exactly), or for tablets and
--   capsules x the strength the description names (rules-v2.md); orders starting on the same day are
--   summed and judged as one daily dose (one deviation row per such day). The limits are inclusive.
--   rules-v2.md: a patient is not evaluable when an order has an unknown daily dose and no
--   known-dose day deviates.
WITH orders AS (
    SELECT m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'MAGNESIUM_OXIDE'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
),
days AS (
    SELECT patient_id, start_date, any_value(day_dose_mg) AS day_dose_mg, min_by(label, order_id) AS label,
           count(*) AS orders,
           json_group_array(json_object('order_id', order_id, 'encounter_id', encounter_id, 'status', status,
                                        'route', route, 'source_file', source_file, 'source_row', source_row,
                                        'code_system', code_system, 'code', code, 'description', description,
                                        'dose_value', dose_value, 'dose_unit', dose_unit,
                                        'frequency_per_day', frequency_per_day, 'daily_dose_mg', daily_dose_mg))
               AS order_evidence
    FROM orders
    GROUP BY patient_id, start_date
),
deviating AS (
    SELECT * FROM days
    WHERE day_dose_mg < getvariable('mgo_min_mg') OR day_dose_mg > getvariable('mgo_max_mg')
)
SELECT patient_id, 'denominator' AS role, min(start_date) AS event_date,
       count(*) || ' magnesium oxide order(s) from ' || min(start_date) AS explanation,
       json_object('order_ids', list(order_id ORDER BY start_date, order_id)) AS evidence, NULL AS reason_code
FROM orders
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'not_evaluable', start_date,
       label || ' started ' || start_date || ': daily dose unknown ('
       || CASE WHEN daily_dose IS NULL THEN 'dose or frequency missing'
               ELSE fmt_num(daily_dose) || ' ' || coalesce(dose_unit, '(no unit)') || ' per day is not a mass' END
       || ')',
       json_object('order_id', order_id, 'encounter_id', encounter_id, 'source_file', source_file,
                   'source_row', source_row, 'dose_value', dose_value, 'dose_unit', dose_unit,
                   'frequency_per_day', frequency_per_day),
       'DOSE_UNKNOWN'
FROM orders
WHERE daily_dose_mg IS NULL AND patient_id NOT IN (SELECT patient_id FROM deviating)
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date || ' at ' || fmt_num(day_dose_mg) || ' mg/day'
       || CASE WHEN orders > 1 THEN ' (' || orders || ' orders that day, summed)' ELSE '' END || ', '
       || CASE WHEN day_dose_mg < getvariable('mgo_min_mg')
               THEN 'below ' || getvariable('mgo_min_mg') || ' mg/day'
               ELSE 'above ' || getvariable('mgo_max_mg') || ' mg/day' END,
       json_object('start_date', start_date, 'daily_dose_mg', day_dose_mg, 'orders', order_evidence),
       CASE WHEN day_dose_mg < getvariable('mgo_min_mg') THEN 'DOSE_BELOW_RANGE' ELSE 'DOSE_ABOVE_RANGE' END
FROM deviating
