-- "The magnesium start" (rules.md, LC-MG-EMPIRIC; LC-MG-RENAL's denominator is "as LC-MG-EMPIRIC"):
-- the first MAGNESIUM_SUPPLEMENT order starting inside follow-up whose route is oral or missing;
-- ties on a date go to the lowest order_id. One definition, computed once, for both rules.
CREATE OR REPLACE TABLE work.magnesium_starts AS
SELECT c.index_date, m.*,
       -- the denominator row both rules report
       m.label || ' started ' || m.start_date AS start_explanation,
       json_object('order_id', m.order_id, 'source_file', m.source_file, 'source_row', m.source_row,
                   'start_date', m.start_date) AS start_evidence
FROM work.cohort AS c
JOIN work.med_matches AS m ON m.patient_id = c.patient_id AND m.value_set = 'MAGNESIUM_SUPPLEMENT'
WHERE m.start_date BETWEEN c.index_date AND c.followup_end
  AND coalesce(m.route, '') IN ('', 'oral', 'po', 'by mouth', 'orally', 'per os')
QUALIFY row_number() OVER (PARTITION BY c.patient_id ORDER BY m.start_date, m.order_id) = 1;
