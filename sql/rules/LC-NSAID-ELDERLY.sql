-- rule_id: LC-NSAID-ELDERLY
-- title: Analgesic started for cramps in an older patient
-- severity: low
-- guideline: "Over-the-counter analgesics ... do not prevent cramps and carry risk of adverse effects, particularly in elderly patients"
-- value_sets: NSAID
-- parameters: elderly_age, nsaid_days
-- denominator: cohort patients aged 65 or more on the index date
-- choices:
--   Age is work.cohort.age_at_index (whole years). An NSAID order deviates when it starts in
--   index .. index + nsaid_days (inclusive); one deviation row per order.
WITH denominator AS (
    SELECT patient_id, index_date, age_at_index
    FROM work.cohort
    WHERE age_at_index >= getvariable('elderly_age')
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'aged ' || age_at_index || ' on the index date ' || index_date AS explanation,
       json_object('index_date', index_date, 'age_at_index', age_at_index) AS evidence
FROM denominator
UNION ALL
SELECT n.patient_id, 'deviation', m.start_date,
       m.label || ' started ' || m.start_date || ' (day ' || (m.start_date - n.index_date)
       || ' after leg cramps were diagnosed), patient aged ' || n.age_at_index,
       json_object('order_id', m.order_id, 'source_file', m.source_file, 'source_row', m.source_row,
                   'code_system', m.code_system, 'code', m.code, 'description', m.description,
                   'start_date', m.start_date, 'matched_by', m.matched_by, 'age_at_index', n.age_at_index)
FROM denominator AS n
JOIN work.med_matches AS m ON m.patient_id = n.patient_id AND m.value_set = 'NSAID'
WHERE m.start_date BETWEEN n.index_date AND n.index_date + getvariable('nsaid_days')
