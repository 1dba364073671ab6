-- rule_by_site.csv: rule × site counts of audit.patient_rules statuses, site from audit.cohort.
-- Every rule of the run gets a row for every site of the cohort, so an empty cell is an explicit 0.
-- Small-cell suppression: a count from 1 to $suppress_below - 1 is written '<' || $suppress_below
-- (0 stays 0), and the rate is blanked when any count it is made of is suppressed, so a suppressed
-- cell cannot be recomputed from the rate.
-- rate = deviations / (denominator - exclusions - not_evaluable), empty when that is 0 (rules.md).
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
    FROM audit.patient_rules pr
    JOIN patient_site ps USING (patient_id)
    WHERE pr.run_id = $run_id
    GROUP BY pr.rule_id, ps.site_id
),
grid AS (
    SELECT
        r.rule_id, s.site_id,
        coalesce(c.denominator, 0) AS denominator,
        coalesce(c.exclusions, 0) AS exclusions,
        coalesce(c.not_evaluable, 0) AS not_evaluable,
        coalesce(c.deviations, 0) AS deviations
    FROM rules r
    CROSS JOIN sites s
    LEFT JOIN counts c ON c.rule_id = r.rule_id AND c.site_id = s.site_id
),
flagged AS (
    SELECT
        *,
        denominator - exclusions - not_evaluable AS evaluable,
        denominator BETWEEN 1 AND $suppress_below - 1 AS denominator_small,
        exclusions BETWEEN 1 AND $suppress_below - 1 AS exclusions_small,
        not_evaluable BETWEEN 1 AND $suppress_below - 1 AS not_evaluable_small,
        deviations BETWEEN 1 AND $suppress_below - 1 AS deviations_small,
        '<' || CAST($suppress_below AS VARCHAR) AS suppressed
    FROM grid
)
SELECT
    rule_id, site_id,
    CASE WHEN denominator_small THEN suppressed ELSE CAST(denominator AS VARCHAR) END AS denominator,
    CASE WHEN exclusions_small THEN suppressed ELSE CAST(exclusions AS VARCHAR) END AS exclusions,
    CASE WHEN not_evaluable_small THEN suppressed ELSE CAST(not_evaluable AS VARCHAR) END AS not_evaluable,
    CASE WHEN deviations_small THEN suppressed ELSE CAST(deviations AS VARCHAR) END AS deviations,
    CASE
        WHEN denominator_small OR exclusions_small OR not_evaluable_small OR deviations_small THEN NULL
        WHEN evaluable = 0 THEN NULL
        ELSE deviations / evaluable
    END AS deviation_rate
FROM flagged
ORDER BY rule_id, site_id = '(none)', site_id;
