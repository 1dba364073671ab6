-- rule_id: LC-NSAID-ELDERLY
-- title: NSAID started after a leg-cramps diagnosis in an older patient
-- severity: low
-- guideline: "Over-the-counter analgesics ... do not prevent cramps and carry risk of adverse effects, particularly in elderly patients"
-- value_sets: NSAID, PAIN_INDICATION
-- parameters: elderly_age, nsaid_days, pain_indication_lookback_days
-- reason_codes: NSAID_STARTED
-- denominator: cohort patients aged 65 or more on the index date
-- choices:
--   Age is work.cohort.age_at_index (whole years). An NSAID order counts when it starts in index ..
--   index + nsaid_days (inclusive) and its route (as recorded through the route map, else from its
--   dose form) is not topical or transdermal (rules-v2.md: topical NSAIDs do not count; the route
--   map keeps transdermal apart, and a patch or gel acts locally). An order with another pain
--   indication (PAIN_INDICATION) recorded from index - pain_indication_lookback_days to its start
--   excludes the patient. The window is cut at death and at the end of the data: an NSAID start
--   shown before the cut stands, none shown leaves the patient not evaluable. One deviation row
--   per order.
WITH denominator AS (
    SELECT c.patient_id, c.index_date, c.age_at_index,
           c.index_date + getvariable('nsaid_days') AS window_end,
           window_cut(c.index_date + getvariable('nsaid_days'), getvariable('nsaid_days'), x.death_date,
                      x.data_end) AS cut
    FROM work.cohort AS c
    JOIN work.cohort_context AS x USING (patient_id)
    WHERE c.age_at_index >= getvariable('elderly_age')
),
nsaid_orders AS (
    SELECT n.index_date, n.age_at_index, m.*,
           (SELECT min_by(coalesce(d.description, d.display) || ' recorded ' || d.recorded_date,
                          (d.recorded_date, d.source_row))
            FROM work.dx_matches AS d
            WHERE d.patient_id = m.patient_id AND d.value_set = 'PAIN_INDICATION'
              AND d.recorded_date BETWEEN n.index_date - getvariable('pain_indication_lookback_days')
                                      AND m.start_date) AS pain_indication
    FROM denominator AS n
    JOIN work.med_matches AS m ON m.patient_id = n.patient_id AND m.value_set = 'NSAID'
    WHERE m.start_date BETWEEN n.index_date AND n.window_end
      AND coalesce(m.route_group, '') NOT IN ('topical', 'transdermal')
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       'aged ' || age_at_index || ' on the index date ' || index_date AS explanation,
       json_object('index_date', index_date, 'age_at_index', age_at_index) AS evidence, NULL AS reason_code
FROM denominator
UNION ALL
SELECT patient_id, 'exclusion', start_date,
       'Another pain indication: ' || pain_indication || ', on or before ' || label || ' started ' || start_date,
       json_object('order_id', order_id, 'pain_indication', pain_indication), 'PAIN_INDICATION'
FROM nsaid_orders
WHERE pain_indication IS NOT NULL
UNION ALL
SELECT patient_id, 'not_evaluable', index_date,
       'no NSAID start from ' || index_date || ' to the cut: ' || cut,
       json_object('window_start', index_date, 'window_end', window_end), 'WINDOW_CUT'
FROM denominator
WHERE cut IS NOT NULL AND patient_id NOT IN (SELECT patient_id FROM nsaid_orders)
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date || ' (day ' || (start_date - index_date)
       || ' after leg cramps were diagnosed), patient aged ' || age_at_index,
       json_object('order_id', order_id, 'encounter_id', encounter_id, 'status', status, 'route', route,
                   'route_group', route_group, 'route_source', route_source,
                   'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'matched_by', matched_by, 'age_at_index', age_at_index),
       'NSAID_STARTED'
FROM nsaid_orders
WHERE pain_indication IS NULL
