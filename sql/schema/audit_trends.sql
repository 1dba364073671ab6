-- Results across runs (issue 13, trends): the view audit.rule_trend over every succeeded run (it reads
-- audit.runs, audit.rule_results and audit.deviation_changes, schema/audit.sql). View bodies name
-- tables without their schema, like the latest_* views, so they work however the file is opened.
-- One row per rule per succeeded run, runs of a source numbered in the order sql/previous_rates.sql
-- calls "previous" (finished_at, started_at, run_id). The previous run is the source's run before
-- this one (not the last run that had the rule), so a rule new to the pack has no previous rate.
CREATE OR REPLACE VIEW audit.rule_trend AS
WITH ordered_runs AS (
    SELECT run_id, source_path, started_at, finished_at, period_start, period_end, latest_data_date,
           row_number() OVER source_runs AS run_number,
           lag(run_id) OVER source_runs AS previous_run_id
    FROM runs
    WHERE status = 'succeeded'
    WINDOW source_runs AS (PARTITION BY source_path
                           ORDER BY finished_at NULLS FIRST, started_at NULLS FIRST, run_id)
),
changes AS (
    SELECT run_id, rule_id,
           count(*) FILTER (WHERE change = 'new') AS new_deviations,
           count(*) FILTER (WHERE change = 'persisting') AS persisting_deviations,
           count(*) FILTER (WHERE change = 'resolved') AS resolved_deviations
    FROM deviation_changes
    GROUP BY run_id, rule_id
)
SELECT o.source_path, o.run_number, o.run_id, CAST(o.started_at AS DATE) AS run_date, o.latest_data_date,
       o.period_start, o.period_end, res.rule_id,
       res.denominator, res.exclusions, res.not_evaluable,
       res.denominator - res.exclusions - res.not_evaluable AS evaluated,
       res.deviations, res.deviation_rate,
       o.previous_run_id, prev.deviation_rate AS previous_deviation_rate,
       res.deviation_rate - prev.deviation_rate AS rate_change,
       -- A run with deviations now or before but no change rows ran before deviation_changes existed:
       -- unknown, not 0.
       CASE WHEN NOT unknown THEN coalesce(c.new_deviations, 0) END AS new_deviations,
       CASE WHEN NOT unknown THEN coalesce(c.persisting_deviations, 0) END AS persisting_deviations,
       CASE WHEN NOT unknown THEN coalesce(c.resolved_deviations, 0) END AS resolved_deviations
FROM ordered_runs AS o
JOIN rule_results AS res ON res.run_id = o.run_id
LEFT JOIN rule_results AS prev ON prev.run_id = o.previous_run_id AND prev.rule_id = res.rule_id
LEFT JOIN changes AS c ON c.run_id = o.run_id AND c.rule_id = res.rule_id,
LATERAL (SELECT c.rule_id IS NULL AND (res.deviations > 0 OR coalesce(prev.deviations, 0) > 0) AS unknown);
