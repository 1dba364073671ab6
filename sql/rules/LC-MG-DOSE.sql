-- rule_id: LC-MG-DOSE
-- title: Magnesium oxide dose outside 12-24 mmol/day
-- severity: low
-- guideline: "magnesium oxide 12-24 mmol daily (approximately 480-960 mg) given at night"
-- value_sets: MAGNESIUM_SUPPLEMENT
-- parameters: followup_days, mgo_min_mg, mgo_max_mg
-- denominator: cohort patients with a magnesium oxide order started in follow-up
-- choices:
--   Magnesium oxide = the MAGNESIUM_OXIDE subset of MAGNESIUM_SUPPLEMENT matches (sql/match_medications.sql:
--   code 6582 or an SCD whose display says magnesium oxide, or a description saying so).
--   A magnesium oxide order "inside follow-up" is one that starts inside it. Daily dose in mg =
--   dose_value x frequency_per_day converted by sql/valuesets/unit_conversions.csv (mg, g, and
--   mmol at the guideline's 40 mg/mmol, so 12-24 mmol = 480-960 mg exactly); any other unit or a
--   missing value is an unknown daily dose. The limits are inclusive (480 and 960 are met).
--   A patient is not evaluable only when none of their orders has a known daily dose; otherwise
--   the known doses decide (one deviation row per order outside the range).
WITH orders AS (
    SELECT m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'MAGNESIUM_OXIDE'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
),
dose_known AS (
    SELECT DISTINCT patient_id FROM orders WHERE daily_dose_mg IS NOT NULL
)
SELECT patient_id, 'denominator' AS role, min(start_date) AS event_date,
       count(*) || ' magnesium oxide order(s) from ' || min(start_date) AS explanation,
       json_object('order_ids', list(order_id ORDER BY start_date, order_id)) AS evidence
FROM orders
GROUP BY patient_id
UNION ALL
SELECT patient_id, 'not_evaluable', start_date,
       label || ' started ' || start_date || ': daily dose unknown ('
       || CASE WHEN daily_dose IS NULL THEN 'dose or frequency missing'
               ELSE fmt_num(daily_dose) || ' ' || coalesce(dose_unit, '(no unit)') || ' per day is not a mass' END
       || ')',
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'dose_value', dose_value, 'dose_unit', dose_unit, 'frequency_per_day', frequency_per_day)
FROM orders
WHERE patient_id NOT IN (SELECT patient_id FROM dose_known)
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date || ' at '
       || fmt_num(daily_dose_mg) || ' mg/day, '
       || CASE WHEN daily_dose_mg < getvariable('mgo_min_mg')
               THEN 'below ' || getvariable('mgo_min_mg') || ' mg/day'
               ELSE 'above ' || getvariable('mgo_max_mg') || ' mg/day' END,
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'dose_value', dose_value, 'dose_unit', dose_unit,
                   'frequency_per_day', frequency_per_day, 'daily_dose_mg', daily_dose_mg)
FROM orders
WHERE daily_dose_mg < getvariable('mgo_min_mg') OR daily_dose_mg > getvariable('mgo_max_mg')
