-- The closing lines of `cramp-audit run`: each rule's deviations and rate for one run.
SELECT r.rule_id, r.title, rr.denominator, rr.deviations, rr.deviation_rate
FROM audit.rules r JOIN audit.rule_results rr USING (run_id, rule_id)
WHERE r.run_id = $run_id
ORDER BY r.rule_id;
