-- The previous succeeded run on the same source_path, and what it found: work.previous_run (its
-- run_id, none on a first run), work.previous_rates (each rule's deviation rate, outputs.md:
-- previous_deviation_rate) and work.previous_patient_rules (its cohort's statuses per rule, for
-- sql/deviation_changes.sql). "Previous" = the latest such run by finished_at
-- (then started_at, run_id), other than this run; audit.rule_trend orders runs the same way.
CREATE OR REPLACE TABLE work.previous_run AS
SELECT run_id
FROM audit.runs
WHERE status = 'succeeded'
  AND source_path = getvariable('source_path')
  AND run_id <> getvariable('run_id')
ORDER BY finished_at DESC NULLS LAST, started_at DESC NULLS LAST, run_id DESC
LIMIT 1;

CREATE OR REPLACE TABLE work.previous_rates AS
SELECT r.rule_id, r.deviation_rate AS previous_deviation_rate
FROM audit.rule_results AS r
JOIN work.previous_run USING (run_id);

CREATE OR REPLACE TABLE work.previous_patient_rules AS
SELECT p.run_id, p.rule_id, p.patient_id, p.status
FROM audit.patient_rules AS p
JOIN work.previous_run USING (run_id);
