-- report.html trends (not yet wired into reports.py): each rule's rows of audit.rule_trend for the
-- run's source, up to and including the run (a report rebuilt later shows no later runs), oldest first.
SELECT t.rule_id, t.run_number, t.run_id, t.run_date, t.latest_data_date,
       t.denominator, t.exclusions, t.not_evaluable, t.evaluated, t.deviations, t.deviation_rate,
       t.previous_run_id, t.previous_deviation_rate, t.rate_change,
       t.new_deviations, t.persisting_deviations, t.resolved_deviations,
       t.run_id = $run_id AS is_this_run
FROM audit.rule_trend AS t
JOIN audit.rule_trend AS this ON this.run_id = $run_id AND this.rule_id = t.rule_id
WHERE t.source_path = this.source_path AND t.run_number <= this.run_number
ORDER BY t.rule_id, t.run_number;
