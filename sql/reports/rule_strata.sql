-- The disclosure release's strata: audit.rule_strata (the decider's counts per rule × stratum value),
-- read only when the database has that table (cramp_audit/release.py checks).
SELECT
    s.rule_id, s.stratum, coalesce(s.value, '(none)') AS value,
    s.denominator, s.exclusions, s.not_evaluable, s.deviations
FROM audit.rule_strata AS s
WHERE s.run_id = $run_id
ORDER BY s.rule_id, s.stratum, s.value;
