-- rule_id: LC-CIRRHOSIS-DIURETIC
-- title: Missed diuretic review in cirrhosis
-- severity: medium
-- guideline: "Discontinue diuretics if incapacitating muscle cramps develop"; "Correct electrolyte abnormalities first"
-- value_sets: CIRRHOSIS, DIURETIC, MEDICATION_REVIEW
-- parameters: review_days, diuretic_renewal_days, closed_order_days, open_order_max_days
-- reason_codes: NO_DIURETIC_REVIEW
-- requires: procedures
-- denominator: cohort patients with cirrhosis present and a diuretic active on the index date
-- choices:
--   Cirrhosis is present on the index date when recorded on or before it and not resolved before it
--   (chronic, rules-v2.md). The review window is index .. index + review_days for ends and starts
--   alike, cut at death and at the end of the data. A review is (rules-v2.md): a DIURETIC order
--   ending in the window (a recorded end date) without a renewal of the same drug at the same
--   daily dose starting from its end to end + diuretic_renewal_days; a DIURETIC order starting in the
--   window that changes what was in use (an order that started before it and was active up to
--   diuretic_renewal_days before its start is of another drug or another daily dose) and does not
--   renew an order in use of the same drug at the same daily dose (a first diuretic started at the
--   cramps visit is what put the patient in the denominator, not a review); or a
--   MEDICATION_REVIEW procedure in the window. "Same drug" compares the drug name (work.med_matches
--   drug_key); a daily dose that is unknown on either side is not shown to differ. Without
--   procedures, a patient with a diuretic stop or change is still reviewed; the rest are not
--   evaluable, naming the table. The deviation's event_date is the index date.
WITH denominator AS (
    SELECT c.patient_id, c.index_date, x.death_date, x.data_end,
           c.index_date + getvariable('review_days') AS review_by
    FROM work.cohort AS c
    JOIN work.cohort_context AS x USING (patient_id)
    WHERE EXISTS (SELECT 1 FROM work.dx_matches AS d
                  WHERE d.patient_id = c.patient_id AND d.value_set = 'CIRRHOSIS'
                    AND present_on(d.recorded_date, d.resolved_date, c.index_date))
      AND EXISTS (SELECT 1 FROM work.med_matches AS m
                  WHERE m.patient_id = c.patient_id AND m.value_set = 'DIURETIC'
                    AND active_on(m.start_date, m.active_until, c.index_date))
),
diuretics_at_index AS (
    SELECT n.patient_id,
           string_agg(DISTINCT m.label, ', ' ORDER BY m.label) AS labels,
           to_json(list(json_object('order_id', m.order_id, 'encounter_id', m.encounter_id, 'status', m.status,
                                        'route', m.route, 'source_file', m.source_file,
                                        'source_row', m.source_row, 'description', m.description,
                                        'start_date', m.start_date, 'end_date', m.end_date)
                                        ORDER BY m.start_date, m.order_id)) AS orders  -- same order every run
    FROM denominator AS n
    JOIN work.med_matches AS m ON m.patient_id = n.patient_id AND m.value_set = 'DIURETIC'
    WHERE active_on(m.start_date, m.active_until, n.index_date)
    GROUP BY n.patient_id
),
cirrhosis AS (
    SELECT n.patient_id, coalesce(d.description, d.display) AS label, d.code_system, d.code, d.recorded_date,
           d.encounter_id, d.source_file, d.source_row
    FROM denominator AS n
    JOIN work.dx_matches AS d ON d.patient_id = n.patient_id AND d.value_set = 'CIRRHOSIS'
    WHERE present_on(d.recorded_date, d.resolved_date, n.index_date)
    QUALIFY row_number() OVER (PARTITION BY n.patient_id ORDER BY d.recorded_date, d.source_row) = 1
),
diuretics AS (
    SELECT m.* FROM work.med_matches AS m
    WHERE m.value_set = 'DIURETIC' AND m.patient_id IN (SELECT patient_id FROM denominator)
),
changed AS (
    -- stopped without a same-drug, same-dose renewal
    SELECT n.patient_id
    FROM denominator AS n
    JOIN diuretics AS m ON m.patient_id = n.patient_id
    WHERE m.end_date BETWEEN n.index_date AND n.review_by
      AND NOT EXISTS (SELECT 1 FROM diuretics AS r
                      WHERE r.patient_id = m.patient_id AND r.order_id <> m.order_id AND r.drug_key = m.drug_key
                        AND r.start_date BETWEEN m.end_date AND m.end_date + getvariable('diuretic_renewal_days')
                        AND (r.daily_dose_mg IS NULL OR m.daily_dose_mg IS NULL OR r.daily_dose_mg = m.daily_dose_mg))
    UNION
    -- a new order that changes what was in use (a different drug, or the same drug at another daily
    -- dose) and is not a same-drug, same-dose renewal of an order in use
    SELECT n.patient_id
    FROM denominator AS n
    JOIN diuretics AS m ON m.patient_id = n.patient_id
    JOIN diuretics AS p ON p.patient_id = m.patient_id AND p.order_id <> m.order_id
                       AND p.start_date < m.start_date
                       AND p.active_until >= m.start_date - getvariable('diuretic_renewal_days')
    WHERE m.start_date BETWEEN n.index_date AND n.review_by
    GROUP BY n.patient_id, m.order_id
    HAVING bool_or(p.drug_key <> m.drug_key OR p.daily_dose_mg <> m.daily_dose_mg)
       AND NOT bool_or(p.drug_key = m.drug_key
                       AND (p.daily_dose_mg IS NULL OR m.daily_dose_mg IS NULL OR p.daily_dose_mg = m.daily_dose_mg))
),
reviewed AS (
    SELECT patient_id FROM changed
    UNION
    SELECT n.patient_id
    FROM denominator AS n
    JOIN work.proc_matches AS p ON p.patient_id = n.patient_id AND p.value_set = 'MEDICATION_REVIEW'
    WHERE p.performed_date BETWEEN n.index_date AND n.review_by
),
unreviewed AS (
    SELECT n.*, u.labels, u.orders, x.label AS cirrhosis_label, x.code_system, x.code, x.recorded_date,
           x.encounter_id, x.source_file, x.source_row,
           window_cut(n.review_by, getvariable('review_days'), n.death_date, n.data_end) AS cut
    FROM denominator AS n
    JOIN diuretics_at_index AS u USING (patient_id)
    JOIN cirrhosis AS x USING (patient_id)
    WHERE n.patient_id NOT IN (SELECT patient_id FROM reviewed)
)
SELECT n.patient_id, 'denominator' AS role, n.index_date AS event_date,
       x.label || ' (recorded ' || x.recorded_date || ', not resolved) with ' || u.labels
       || ' active on the index date ' || n.index_date AS explanation,
       json_object('cirrhosis', json_object('code_system', x.code_system, 'code', x.code,
                   'recorded_date', x.recorded_date, 'encounter_id', x.encounter_id,
                   'source_file', x.source_file, 'source_row', x.source_row),
                   'diuretic_orders', u.orders) AS evidence, NULL AS reason_code
FROM denominator AS n
JOIN diuretics_at_index AS u USING (patient_id)
JOIN cirrhosis AS x USING (patient_id)
UNION ALL
SELECT patient_id, 'not_evaluable', index_date,
       CASE WHEN table_missing('procedures')
            THEN missing_reason('procedures') || ': no diuretic stop or change from ' || index_date || ' to '
                 || review_by || ', and a medication review cannot be looked for'
            ELSE cut || ' (no diuretic stop or change and no medication review from ' || index_date || ')' END,
       json_object('review_window_start', index_date, 'review_window_end', review_by),
       CASE WHEN table_missing('procedures') THEN 'TABLE_MISSING' ELSE 'WINDOW_CUT' END
FROM unreviewed
WHERE table_missing('procedures') OR cut IS NOT NULL
UNION ALL
SELECT patient_id, 'deviation', index_date,
       'Cirrhosis with ' || labels || ' active when leg cramps were diagnosed on ' || index_date
       || ': no diuretic stop or change and no medication review by ' || review_by,
       json_object('cirrhosis', json_object('code_system', code_system, 'code', code,
                   'recorded_date', recorded_date, 'encounter_id', encounter_id,
                   'source_file', source_file, 'source_row', source_row),
                   'diuretic_orders', orders, 'review_window_start', index_date,
                   'review_window_end', review_by),
       'NO_DIURETIC_REVIEW'
FROM unreviewed
WHERE NOT table_missing('procedures') AND cut IS NULL
