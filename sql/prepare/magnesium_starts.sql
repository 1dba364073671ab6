-- "The magnesium start" (rules.md LC-MG-EMPIRIC; rules-v2.md LC-MG-RENAL) and its documented
-- deficiency, computed once for both rules. One row per patient and start_kind:
--   'oral'  the first MAGNESIUM_SUPPLEMENT order starting inside follow-up whose route is oral
--           (route group oral: "Oral route", PO, PO/NG, oral use ...) or missing with no dose form
--           naming another route (LC-MG-EMPIRIC);
--   'any'   the first such order whatever its route (rules-v2.md LC-MG-RENAL: "any route").
-- Ties on a date go to the lowest order_id.
-- Documented deficiency (rules-v2.md LC-MG-EMPIRIC): a low magnesium result (work.lab_matches.is_low,
-- text "<0.5" included) collected in start - mg_lookback_days .. start, or a HYPOMAGNESEMIA
-- diagnosis present at the start (chronic: recorded on or before it, not resolved before it).
-- latest_*: the latest magnesium result read (a value or a bound, in a known unit) in the same window, for
-- "magnesium normal".
CREATE OR REPLACE TABLE work.magnesium_starts AS
WITH candidates AS (
    SELECT c.index_date, m.*
    FROM work.cohort AS c
    JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'MAGNESIUM_SUPPLEMENT'
    WHERE m.start_date BETWEEN c.index_date AND c.followup_end
),
starts AS (
    SELECT 'any' AS start_kind, * FROM candidates
    QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY start_date, order_id) = 1
    UNION ALL
    SELECT 'oral', * FROM candidates
    WHERE route_group = 'oral' OR route_source IS NULL
    QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY start_date, order_id) = 1
),
low_results AS (
    SELECT s.patient_id, s.start_kind,
           max_by('low magnesium ' || l.result_text || ' on ' || l.collected_date, (l.collected_date, l.source_row))
               AS low_result
    FROM starts AS s
    JOIN work.lab_matches AS l ON l.patient_id = s.patient_id AND l.value_set = 'MAGNESIUM_LAB'
    WHERE l.collected_date BETWEEN s.start_date - getvariable('mg_lookback_days') AND s.start_date AND l.is_low
    GROUP BY ALL
),
latest AS (
    SELECT s.patient_id, s.start_kind, l.collected_date, l.result_text, l.is_low, l.value_numeric, l.unit, l.value_mmol,
           l.ref_low, l.encounter_id, l.source_file, l.source_row
    FROM starts AS s
    JOIN work.lab_matches AS l ON l.patient_id = s.patient_id AND l.value_set = 'MAGNESIUM_LAB'
    WHERE l.collected_date BETWEEN s.start_date - getvariable('mg_lookback_days') AND s.start_date AND l.has_result
      AND l.low_threshold IS NOT NULL  -- rules.md: a value with an unknown unit is not used
    QUALIFY row_number() OVER (PARTITION BY s.patient_id, s.start_kind
                               ORDER BY l.collected_date DESC, l.result_number, l.source_row) = 1
),
diagnosed AS (
    SELECT s.patient_id, s.start_kind,
           max_by(coalesce(d.description, d.display) || ' recorded ' || d.recorded_date, (d.recorded_date, d.source_row))
               AS hypomagnesaemia
    FROM starts AS s
    JOIN work.dx_matches AS d ON d.patient_id = s.patient_id AND d.value_set = 'HYPOMAGNESEMIA'
    WHERE present_on(d.recorded_date, d.resolved_date, s.start_date)
    GROUP BY ALL
)
SELECT s.*,
       coalesce(r.low_result, g.hypomagnesaemia) AS documented_by,
       t.collected_date AS latest_mg_date, t.result_text AS latest_mg_text, t.is_low AS latest_mg_is_low, t.value_numeric AS latest_mg_value,
       t.unit AS latest_mg_unit, t.value_mmol AS latest_mg_mmol, t.ref_low AS latest_mg_ref_low,
       t.encounter_id AS latest_mg_encounter_id, t.source_file AS latest_mg_source_file,
       t.source_row AS latest_mg_source_row,
       -- the denominator row both rules report
       s.label || ' started ' || s.start_date AS start_explanation,
       json_object('order_id', s.order_id, 'encounter_id', s.encounter_id, 'status', s.status, 'route', s.route,
                   'route_group', s.route_group, 'route_source', s.route_source, 'source_file', s.source_file,
                   'source_row', s.source_row, 'start_date', s.start_date) AS start_evidence
FROM starts AS s
LEFT JOIN low_results AS r USING (patient_id, start_kind)
LEFT JOIN diagnosed AS g USING (patient_id, start_kind)
LEFT JOIN latest AS t USING (patient_id, start_kind);
