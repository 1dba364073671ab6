-- rule_id: LC-MG-RENAL
-- title: Magnesium in renal insufficiency
-- severity: high
-- guideline: "Use extreme caution with magnesium supplementation in renal insufficiency"
-- value_sets: MAGNESIUM_SUPPLEMENT, EGFR_LAB, CKD_SEVERE
-- parameters: followup_days, egfr_min, egfr_lookback_days
-- requires: labs
-- denominator: cohort patients with an oral (or route missing) magnesium supplement started in follow-up
-- choices:
--   "The magnesium start" as in LC-MG-EMPIRIC. The eGFR is the latest EGFR_LAB result collected
--   in start - egfr_lookback_days .. start (inclusive); a result without value_numeric uses the
--   number in its value_text ("<15" -> 15, ">60" -> 60), so a ">60" result is not low. eGFR is
--   compared as reported (mL/min/1.73 m2), no conversion. A CKD_SEVERE diagnosis counts when
--   recorded on or before the start, whatever its resolved_date. One deviation row (the start),
--   naming the low eGFR and/or the diagnosis.
WITH magnesium_start AS (SELECT * FROM work.magnesium_starts),  -- sql/magnesium_starts.sql
latest_egfr AS (
    SELECT s.patient_id, l.collected_date, l.unit, l.source_file, l.source_row,
           coalesce(l.value_numeric, try_cast(regexp_extract(l.value_text, '[0-9]+(\.[0-9]+)?') AS DOUBLE)) AS egfr
    FROM magnesium_start AS s
    JOIN work.lab_matches AS l ON l.patient_id = s.patient_id AND l.value_set = 'EGFR_LAB'
    WHERE l.collected_date BETWEEN s.start_date - getvariable('egfr_lookback_days') AND s.start_date
      AND coalesce(l.value_numeric, try_cast(regexp_extract(l.value_text, '[0-9]+(\.[0-9]+)?') AS DOUBLE)) IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY s.patient_id ORDER BY l.collected_date DESC, egfr, l.source_row) = 1
),
severe_ckd AS (
    SELECT s.patient_id, d.code_system, d.code, coalesce(d.description, d.display) AS label, d.recorded_date,
           d.source_file, d.source_row
    FROM magnesium_start AS s
    JOIN work.dx_matches AS d ON d.patient_id = s.patient_id AND d.value_set = 'CKD_SEVERE'
    WHERE d.recorded_date <= s.start_date
    QUALIFY row_number() OVER (PARTITION BY s.patient_id ORDER BY d.recorded_date DESC, d.source_row) = 1
),
judged AS (
    SELECT s.*, e.egfr, e.collected_date AS egfr_date, e.unit AS egfr_unit,
           e.source_file AS egfr_source_file, e.source_row AS egfr_source_row,
           e.egfr < getvariable('egfr_min') AS egfr_low,
           k.label AS ckd_label, k.code_system AS ckd_code_system, k.code AS ckd_code,
           k.recorded_date AS ckd_date, k.source_file AS ckd_source_file, k.source_row AS ckd_source_row
    FROM magnesium_start AS s
    LEFT JOIN latest_egfr AS e USING (patient_id)
    LEFT JOIN severe_ckd AS k USING (patient_id)
)
SELECT patient_id, 'denominator' AS role, start_date AS event_date, start_explanation AS explanation,
       start_evidence AS evidence
FROM magnesium_start
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date || ' with '
       || concat_ws(' and ',
              CASE WHEN egfr_low THEN 'eGFR ' || fmt_num(egfr) || coalesce(' ' || egfr_unit, '') || ' on ' || egfr_date
                                      || ' (below ' || getvariable('egfr_min') || ')' END,
              CASE WHEN ckd_date IS NOT NULL THEN ckd_label || ' recorded ' || ckd_date END),
       json_object('order_id', order_id, 'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'matched_by', matched_by,
                   'egfr', CASE WHEN egfr_low THEN json_object('value', egfr, 'unit', egfr_unit,
                       'collected_date', egfr_date, 'source_file', egfr_source_file, 'source_row', egfr_source_row) END,
                   'ckd_diagnosis', CASE WHEN ckd_date IS NOT NULL THEN json_object('code_system', ckd_code_system,
                       'code', ckd_code, 'recorded_date', ckd_date, 'source_file', ckd_source_file,
                       'source_row', ckd_source_row) END)
FROM judged
WHERE egfr_low OR ckd_date IS NOT NULL
