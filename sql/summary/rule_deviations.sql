-- The closing lines of `cramp-audit run`: each rule's deviations, the patients it could judge (the
-- rate's base, rules.md: denominator - exclusions - not evaluable) and the rate, for one run.
SELECT r.rule_id, rr.deviations, rr.denominator - rr.exclusions - rr.not_evaluable AS evaluated,
       rr.denominator, rr.deviation_rate
FROM audit.rules r JOIN audit.rule_results rr USING (run_id, rule_id)
WHERE r.run_id = $run_id
ORDER BY r.rule_id;
