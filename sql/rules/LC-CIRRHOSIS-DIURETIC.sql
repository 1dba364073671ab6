-- rule_id: LC-CIRRHOSIS-DIURETIC
-- title: Missed diuretic review in cirrhosis
-- severity: medium
-- guideline: "Discontinue diuretics if incapacitating muscle cramps develop"; "Correct electrolyte abnormalities first"
-- value_sets: CIRRHOSIS, DIURETIC, MEDICATION_REVIEW
-- parameters: review_days
-- requires: procedures
-- denominator: cohort patients with cirrhosis and a diuretic active on the index date
-- choices:
--   The review window is index .. index + review_days, both inclusive. A review is: a DIURETIC
--   order ending in the window (an end on the index date counts: stopped at the cramps visit); a
--   DIURETIC order starting after the index date and within the window (one starting on the index
--   date is what made the patient a diuretic user, not a change); or a MEDICATION_REVIEW procedure
--   in the window. The deviation's event_date is the index date (the review was due from then).
WITH denominator AS (
    SELECT c.patient_id, c.index_date,
           c.index_date + getvariable('review_days') AS review_by
    FROM work.cohort AS c
    WHERE EXISTS (SELECT 1 FROM work.dx_matches AS d
                  WHERE d.patient_id = c.patient_id AND d.value_set = 'CIRRHOSIS' AND d.recorded_date <= c.index_date)
      AND EXISTS (SELECT 1 FROM work.med_matches AS m
                  WHERE m.patient_id = c.patient_id AND m.value_set = 'DIURETIC'
                    AND active_on(m.start_date, m.end_date, c.index_date))
),
diuretics_at_index AS (
    SELECT n.patient_id,
           string_agg(DISTINCT m.label, ', ' ORDER BY m.label) AS labels,
           to_json(list(json_object('order_id', m.order_id, 'source_file', m.source_file,
                                        'source_row', m.source_row, 'description', m.description,
                                        'start_date', m.start_date, 'end_date', m.end_date)
                                        ORDER BY m.start_date, m.order_id)) AS orders  -- same order every run
    FROM denominator AS n
    JOIN work.med_matches AS m ON m.patient_id = n.patient_id AND m.value_set = 'DIURETIC'
    WHERE active_on(m.start_date, m.end_date, n.index_date)
    GROUP BY n.patient_id
),
cirrhosis AS (
    SELECT n.patient_id, coalesce(d.description, d.display) AS label, d.code_system, d.code, d.recorded_date,
           d.source_file, d.source_row
    FROM denominator AS n
    JOIN work.dx_matches AS d ON d.patient_id = n.patient_id AND d.value_set = 'CIRRHOSIS'
    WHERE d.recorded_date <= n.index_date
    QUALIFY row_number() OVER (PARTITION BY n.patient_id ORDER BY d.recorded_date, d.source_row) = 1
),
reviewed AS (
    SELECT n.patient_id
    FROM denominator AS n
    JOIN work.med_matches AS m ON m.patient_id = n.patient_id AND m.value_set = 'DIURETIC'
    WHERE m.end_date BETWEEN n.index_date AND n.review_by
       OR (m.start_date > n.index_date AND m.start_date <= n.review_by)
    UNION
    SELECT n.patient_id
    FROM denominator AS n
    JOIN work.proc_matches AS p ON p.patient_id = n.patient_id AND p.value_set = 'MEDICATION_REVIEW'
    WHERE p.performed_date BETWEEN n.index_date AND n.review_by
)
SELECT n.patient_id, 'denominator' AS role, n.index_date AS event_date,
       x.label || ' (recorded ' || x.recorded_date || ') with ' || u.labels || ' active on the index date '
       || n.index_date AS explanation,
       json_object('cirrhosis', json_object('code_system', x.code_system, 'code', x.code,
                   'recorded_date', x.recorded_date, 'source_file', x.source_file, 'source_row', x.source_row),
                   'diuretic_orders', u.orders) AS evidence
FROM denominator AS n
JOIN diuretics_at_index AS u USING (patient_id)
JOIN cirrhosis AS x USING (patient_id)
UNION ALL
SELECT n.patient_id, 'deviation', n.index_date,
       'Cirrhosis with ' || u.labels || ' active when leg cramps were diagnosed on ' || n.index_date
       || ': no diuretic stop or change and no medication review by ' || n.review_by,
       json_object('cirrhosis', json_object('code_system', x.code_system, 'code', x.code,
                   'recorded_date', x.recorded_date, 'source_file', x.source_file, 'source_row', x.source_row),
                   'diuretic_orders', u.orders, 'review_window_start', n.index_date,
                   'review_window_end', n.review_by)
FROM denominator AS n
JOIN diuretics_at_index AS u USING (patient_id)
JOIN cirrhosis AS x USING (patient_id)
WHERE n.patient_id NOT IN (SELECT patient_id FROM reviewed)
