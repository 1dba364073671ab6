-- rule_summary.csv: one row per rule of the run. Counts and rate are copied from audit.rule_results,
-- where the population decider computed them; nothing is recomputed here.
SELECT
    r.rule_id, r.title, r.severity,
    res.denominator, res.exclusions, res.not_evaluable, res.deviations, res.deviation_rate,
    r.guideline_statement
FROM audit.rules r
LEFT JOIN audit.rule_results res ON res.run_id = r.run_id AND res.rule_id = r.rule_id
WHERE r.run_id = $run_id
ORDER BY r.rule_id;
