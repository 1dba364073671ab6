-- work.deviation_changes: this run's deviations against the previous succeeded run on the same
-- source (work.previous_run, sql/previous_rates.sql). "The same deviation" = the same patient and
-- rule (patient_id from the extract, stable across extracts; event dates and explanations change as
-- the data grows, so they are not part of the key):
--   new        a deviation now, not in the previous run (also every deviation of a source's first run)
--   persisting a deviation now and in the previous run
--   resolved   a deviation in the previous run, not now; `status` says what it is now (met, excluded,
--              not_evaluable, not_applicable) or NULL when the patient is no longer in the cohort
--              (e.g. the audit period moved on), which is not the same as care having improved.
-- status / previous_status: the patient's status for the rule in this / the previous run, NULL when
-- the patient was not in that run's cohort (or the previous run had no such rule, or there is none).
-- A rule no longer in the pack resolves nothing: only this run's rules are compared.
-- Runs after decide/decide.sql (reads work.patient_rules); column order = audit.deviation_changes.
CREATE OR REPLACE TABLE work.deviation_changes AS
WITH cur AS (SELECT rule_id, patient_id, status FROM work.patient_rules),
prev AS (SELECT rule_id, patient_id, status FROM work.previous_patient_rules
         WHERE rule_id IN (SELECT rule_id FROM work.rules))
SELECT getvariable('run_id')::VARCHAR AS run_id, rule_id, patient_id,
       CASE WHEN cur.status = 'deviation' AND prev.status = 'deviation' THEN 'persisting'
            WHEN cur.status = 'deviation' THEN 'new'
            ELSE 'resolved' END AS change,
       (SELECT max(run_id) FROM work.previous_run) AS previous_run_id,
       cur.status AS status,
       prev.status AS previous_status
FROM cur
FULL JOIN prev USING (rule_id, patient_id)
WHERE cur.status = 'deviation' OR prev.status = 'deviation'
ORDER BY rule_id, patient_id;
