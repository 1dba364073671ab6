-- The site slice of the strata, for a database without audit.rule_strata: rule × site counts of
-- audit.patient_rules statuses, site from audit.cohort (no site -> '(none)'). Every rule of the run
-- gets a row for every site of the cohort, so an empty cell is an explicit 0. Unsuppressed: the
-- reports suppress the whole release at once (cramp_audit/release.py).
WITH patient_site AS (
    SELECT patient_id, coalesce(nullif(trim(site_id), ''), '(none)') AS site_id
    FROM audit.cohort
    WHERE run_id = $run_id
),
sites AS (SELECT DISTINCT site_id FROM patient_site),
rules AS (SELECT DISTINCT rule_id FROM audit.rules WHERE run_id = $run_id),
counts AS (
    SELECT
        pr.rule_id, ps.site_id,
        count(*) FILTER (WHERE pr.status <> 'not_applicable') AS denominator,
        count(*) FILTER (WHERE pr.status = 'excluded') AS exclusions,
        count(*) FILTER (WHERE pr.status = 'not_evaluable') AS not_evaluable,
        count(*) FILTER (WHERE pr.status = 'deviation') AS deviations
    FROM audit.patient_rules AS pr
    JOIN patient_site AS ps USING (patient_id)
    WHERE pr.run_id = $run_id
    GROUP BY pr.rule_id, ps.site_id
)
SELECT
    r.rule_id, 'site' AS stratum, s.site_id AS value,
    coalesce(c.denominator, 0) AS denominator,
    coalesce(c.exclusions, 0) AS exclusions,
    coalesce(c.not_evaluable, 0) AS not_evaluable,
    coalesce(c.deviations, 0) AS deviations
FROM rules AS r
CROSS JOIN sites AS s
LEFT JOIN counts AS c ON c.rule_id = r.rule_id AND c.site_id = s.site_id
ORDER BY r.rule_id, s.site_id = '(none)', s.site_id;
