-- The disclosure release's strata: audit.rule_strata (the decider's counts per rule × stratum value),
-- read only when the database has that table (cramp_audit/release.py checks). Every rule of the run
-- gets a row for every value any rule has in a stratum (an absent row is an explicit 0), as the site
-- slice always had; the rule totals are audit.rule_results', so a 'total' stratum is not read here.
WITH strata AS (
    SELECT rule_id, stratum, coalesce(value, '(none)') AS value,
           denominator, exclusions, not_evaluable, deviations
    FROM audit.rule_strata
    WHERE run_id = $run_id AND stratum <> 'total'
),
values_ AS (SELECT DISTINCT stratum, value FROM strata),
rules AS (SELECT DISTINCT rule_id FROM audit.rules WHERE run_id = $run_id)
SELECT
    r.rule_id, v.stratum, v.value,
    coalesce(s.denominator, 0) AS denominator,
    coalesce(s.exclusions, 0) AS exclusions,
    coalesce(s.not_evaluable, 0) AS not_evaluable,
    coalesce(s.deviations, 0) AS deviations
FROM rules AS r
CROSS JOIN values_ AS v
LEFT JOIN strata AS s ON s.rule_id = r.rule_id AND s.stratum = v.stratum AND s.value = v.value
ORDER BY r.rule_id, v.stratum, v.value = '(none)', v.value;
