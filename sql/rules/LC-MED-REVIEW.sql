-- rule_id: LC-MED-REVIEW
-- title: No medication review while a cramp-precipitating drug is active
-- severity: low
-- guideline: "Do not overlook medication review, as certain drugs may precipitate or worsen cramps"
-- value_sets: CRAMP_PRECIPITANT, MEDICATION_REVIEW
-- parameters: review_days, closed_order_days, open_order_max_days
-- reason_codes: NO_MEDICATION_REVIEW
-- requires: procedures
-- denominator: cohort patients with a cramp-precipitating drug active on the index date
-- choices:
--   A CRAMP_PRECIPITANT order is active on the index date as rules-v2.md defines it. The review
--   window is index .. index + review_days (as LC-CIRRHOSIS-DIURETIC's), cut at death and at the end
--   of the data. Reviewed: a MEDICATION_REVIEW procedure in the window ("medication review due" is
--   not one), a recorded end date in the window of a precipitant order active on the index date (a
--   stop), or a new order of the same drug (work.med_matches drug_key) at a different known daily
--   dose starting in the window (a change). Without procedures a stop or change still reviews; the
--   rest are not evaluable, naming the table. One deviation row per patient, event_date = index date.
WITH at_index AS (
    SELECT c.patient_id, c.index_date, m.*  EXCLUDE (patient_id)
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'CRAMP_PRECIPITANT'
    WHERE active_on(m.start_date, m.active_until, c.index_date)
),
denominator AS (
    SELECT a.patient_id, any_value(a.index_date) AS index_date,
           any_value(a.index_date) + getvariable('review_days') AS review_by,
           string_agg(DISTINCT a.label, ', ' ORDER BY a.label) AS labels,
           json_group_array(json_object('order_id', a.order_id, 'encounter_id', a.encounter_id, 'status', a.status,
                                        'route', a.route, 'source_file', a.source_file, 'source_row', a.source_row,
                                        'description', a.description, 'start_date', a.start_date,
                                        'end_date', a.end_date)) AS orders,
           any_value(x.death_date) AS death_date, any_value(x.data_end) AS data_end
    FROM at_index AS a
    JOIN work.cohort_context AS x USING (patient_id)
    GROUP BY a.patient_id
),
reviewed AS (
    SELECT a.patient_id FROM at_index AS a
    WHERE a.end_date BETWEEN a.index_date AND a.index_date + getvariable('review_days')
    UNION
    SELECT a.patient_id FROM at_index AS a
    JOIN work.med_matches AS m ON m.patient_id = a.patient_id AND m.value_set = 'CRAMP_PRECIPITANT'
    WHERE m.drug_key = a.drug_key AND m.order_id <> a.order_id
      AND m.start_date BETWEEN a.index_date AND a.index_date + getvariable('review_days')
      AND m.daily_dose_mg IS DISTINCT FROM a.daily_dose_mg AND m.daily_dose_mg IS NOT NULL
      AND a.daily_dose_mg IS NOT NULL
    UNION
    SELECT n.patient_id FROM denominator AS n
    JOIN work.proc_matches AS p ON p.patient_id = n.patient_id AND p.value_set = 'MEDICATION_REVIEW'
    WHERE p.performed_date BETWEEN n.index_date AND n.review_by
),
unreviewed AS (
    SELECT *, window_cut(review_by, getvariable('review_days'), death_date, data_end) AS cut
    FROM denominator
    WHERE patient_id NOT IN (SELECT patient_id FROM reviewed)
)
SELECT patient_id, 'denominator' AS role, index_date AS event_date,
       labels || ' active on the index date ' || index_date AS explanation,
       json_object('orders', orders) AS evidence, NULL AS reason_code
FROM denominator
UNION ALL
SELECT patient_id, 'not_evaluable', index_date,
       CASE WHEN table_missing('procedures')
            THEN missing_reason('procedures') || ': no stop or change of ' || labels || ' from ' || index_date
                 || ' to ' || review_by || ', and a medication review cannot be looked for'
            ELSE 'no medication review and no stop or change of ' || labels || ' from ' || index_date
                 || ' to the cut: ' || cut END,
       json_object('review_window_start', index_date, 'review_window_end', review_by),
       CASE WHEN table_missing('procedures') THEN 'TABLE_MISSING' ELSE 'WINDOW_CUT' END
FROM unreviewed
WHERE table_missing('procedures') OR cut IS NOT NULL
UNION ALL
SELECT patient_id, 'deviation', index_date,
       labels || ' active when leg cramps were diagnosed on ' || index_date
       || ': no medication review and no stop or change of it from ' || index_date || ' to ' || review_by,
       json_object('orders', orders, 'review_window_start', index_date, 'review_window_end', review_by),
       'NO_MEDICATION_REVIEW'
FROM unreviewed
WHERE NOT table_missing('procedures') AND cut IS NULL
