-- The disclosure release's rule totals: audit.rule_results' counts of every rule of the run (a rule
-- without a result row counts 0). Published only after suppression (cramp_audit/release.py).
SELECT
    r.rule_id,
    coalesce(res.denominator, 0) AS denominator,
    coalesce(res.exclusions, 0) AS exclusions,
    coalesce(res.not_evaluable, 0) AS not_evaluable,
    coalesce(res.deviations, 0) AS deviations
FROM audit.rules AS r
LEFT JOIN audit.rule_results AS res ON res.run_id = r.run_id AND res.rule_id = r.rule_id
WHERE r.run_id = $run_id
ORDER BY r.rule_id;
