-- Each rule's totals over the runs audit.rule_trend lists (succeeded runs on the same source as
-- $run_id, up to and including it), oldest first, read only when the view exists. The counts come from
-- audit.rule_results, so the reports can withhold a past rate its own run's release would withhold.
SELECT
    t.rule_id, t.run_id, r.started_at,
    res.denominator, res.exclusions, res.not_evaluable, res.deviations
FROM (SELECT DISTINCT run_id, rule_id FROM audit.rule_trend) AS t
JOIN audit.runs AS r ON r.run_id = t.run_id
JOIN audit.rule_results AS res ON res.run_id = t.run_id AND res.rule_id = t.rule_id
WHERE r.status = 'succeeded'
  AND r.source_path = (SELECT source_path FROM audit.runs WHERE run_id = $run_id)
  AND r.started_at <= (SELECT started_at FROM audit.runs WHERE run_id = $run_id)
ORDER BY t.rule_id, r.started_at, t.run_id;
