-- work.previous_rates: each rule's deviation rate in the previous succeeded run on the same
-- source_path (outputs.md: previous_deviation_rate), read from audit.rule_results. "Previous" =
-- the latest such run by finished_at (then started_at, run_id), other than this run.
CREATE OR REPLACE TABLE work.previous_rates AS
WITH previous_run AS (
    SELECT run_id
    FROM audit.runs
    WHERE status = 'succeeded'
      AND source_path = getvariable('source_path')
      AND run_id <> getvariable('run_id')
    ORDER BY finished_at DESC NULLS LAST, started_at DESC NULLS LAST, run_id DESC
    LIMIT 1
)
SELECT r.rule_id, r.deviation_rate AS previous_deviation_rate
FROM audit.rule_results AS r
JOIN previous_run USING (run_id);
