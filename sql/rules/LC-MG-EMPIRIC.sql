-- rule_id: LC-MG-EMPIRIC
-- title: Magnesium without documented deficiency
-- severity: medium
-- guideline: "Do not empirically supplement magnesium without documented deficiency"
-- value_sets: MAGNESIUM_SUPPLEMENT, MAGNESIUM_LAB, HYPOMAGNESEMIA, MAGNESIUM_OTHER_INDICATION
-- parameters: followup_days, mg_lookback_days, mg_low_mmol, mg_other_indication_days
-- reason_codes: NO_MAGNESIUM_RESULT, MAGNESIUM_NOT_LOW
-- requires: labs
-- denominator: cohort patients with an oral (or route missing) magnesium supplement started in follow-up
-- choices:
--   "The magnesium start" is the first MAGNESIUM_SUPPLEMENT order starting inside follow-up whose
--   route is oral through the route map (oral, PO, PO/NG, "Oral route", oral use ...) or missing with
--   no dose form naming another route (sql/prepare/magnesium_starts.sql); ties go to the lowest order_id.
--   Documented deficiency: a low magnesium result (in its own unit against its plausible ref_low or
--   the unit's default; text "<0.5" counts) collected in start - mg_lookback_days .. start, or a
--   HYPOMAGNESEMIA diagnosis present at the start (recorded on or before it, not resolved before it).
--   Another indication for magnesium (MAGNESIUM_OTHER_INDICATION) recorded in start -
--   mg_other_indication_days .. start excludes. Without labs a patient is decided by the diagnoses
--   (documented, or excluded) and otherwise not evaluable. The evidence's finding is "no magnesium
--   result", "magnesium normal: <result> on <date>" or "magnesium not shown low: <result> on <date>"
--   (a bound such as "<0.8" that does not reach the threshold) for the latest result read.
WITH magnesium_start AS (SELECT * FROM work.magnesium_starts WHERE start_kind = 'oral'),
other_indication AS (
    SELECT s.patient_id, min_by(d, (d.recorded_date, d.source_row)) AS dx
    FROM magnesium_start AS s
    JOIN work.dx_matches AS d ON d.patient_id = s.patient_id AND d.value_set = 'MAGNESIUM_OTHER_INDICATION'
    WHERE d.recorded_date BETWEEN s.start_date - getvariable('mg_other_indication_days') AND s.start_date
    GROUP BY ALL
),
judged AS (
    SELECT s.*,
           CASE WHEN latest_mg_date IS NULL THEN 'no magnesium result'
                WHEN latest_mg_is_low = false THEN 'magnesium normal: ' || latest_mg_text || ' on ' || latest_mg_date
                ELSE 'magnesium not shown low: ' || latest_mg_text || ' on ' || latest_mg_date
           END AS finding
    FROM magnesium_start AS s
    WHERE documented_by IS NULL
)
SELECT patient_id, 'denominator' AS role, start_date AS event_date, start_explanation AS explanation,
       start_evidence AS evidence, NULL AS reason_code
FROM magnesium_start
UNION ALL
SELECT o.patient_id, 'exclusion', o.dx.recorded_date,
       'Another indication for magnesium: ' || coalesce(o.dx.description, o.dx.display) || ' recorded '
       || o.dx.recorded_date || ' (within ' || getvariable('mg_other_indication_days') || ' days before '
       || s.label || ' started ' || s.start_date || ')',
       json_object('code_system', o.dx.code_system, 'code', o.dx.code, 'recorded_date', o.dx.recorded_date,
                   'encounter_id', o.dx.encounter_id, 'source_file', o.dx.source_file, 'source_row', o.dx.source_row),
       'OTHER_MAGNESIUM_INDICATION'
FROM other_indication AS o
JOIN magnesium_start AS s USING (patient_id)
UNION ALL
SELECT patient_id, 'not_evaluable', start_date,
       missing_reason('labs') || ': no hypomagnesaemia diagnosis recorded on or before ' || start_date
       || ', and a magnesium result cannot be looked for',
       json_object('order_id', order_id), 'TABLE_MISSING'
FROM judged
WHERE table_missing('labs')
UNION ALL
SELECT patient_id, 'deviation', start_date,
       label || ' started ' || start_date
       || CASE WHEN latest_mg_date IS NULL
               THEN ' with no magnesium result from ' || (start_date - getvariable('mg_lookback_days')) || ' to '
                    || start_date || ' and no hypomagnesaemia diagnosis recorded on or before it'
               ELSE ' and no hypomagnesaemia diagnosis recorded on or before it, without documented deficiency: '
                    || finding
          END,
       json_object('finding', finding,
                   'order_id', order_id, 'encounter_id', encounter_id, 'status', status, 'route', route,
                   'route_source', route_source, 'source_file', source_file, 'source_row', source_row,
                   'code_system', code_system, 'code', code, 'description', description,
                   'start_date', start_date, 'matched_by', matched_by,
                   'lookback_start', start_date - getvariable('mg_lookback_days'),
                   'magnesium_result', CASE WHEN latest_mg_date IS NOT NULL THEN json_object(
                       'collected_date', latest_mg_date, 'result', latest_mg_text, 'value', latest_mg_value,
                       'unit', latest_mg_unit, 'value_mmol', latest_mg_mmol, 'ref_low', latest_mg_ref_low,
                       'encounter_id', latest_mg_encounter_id, 'source_file', latest_mg_source_file,
                       'source_row', latest_mg_source_row) END),
       CASE WHEN latest_mg_date IS NULL THEN 'NO_MAGNESIUM_RESULT' ELSE 'MAGNESIUM_NOT_LOW' END
FROM judged
WHERE NOT table_missing('labs')
