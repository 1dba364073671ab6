-- rule_by_site.csv: the site slice of audit.rule_strata (rule × site counts and rate, as the
-- population decider computed them, decide/strata.sql: every rule has a row for every site of the
-- cohort, so an empty cell is an explicit 0). This file only suppresses and formats:
-- a count from 1 to $suppress_below - 1 is written '<' || $suppress_below (0 stays 0), and the rate
-- is blanked when any count it is made of is suppressed, so a suppressed cell cannot be recomputed
-- from the rate.
WITH flagged AS (
    SELECT
        rule_id, value AS site_id, denominator, exclusions, not_evaluable, deviations, deviation_rate,
        denominator BETWEEN 1 AND $suppress_below - 1 AS denominator_small,
        exclusions BETWEEN 1 AND $suppress_below - 1 AS exclusions_small,
        not_evaluable BETWEEN 1 AND $suppress_below - 1 AS not_evaluable_small,
        deviations BETWEEN 1 AND $suppress_below - 1 AS deviations_small,
        '<' || CAST($suppress_below AS VARCHAR) AS suppressed
    FROM audit.rule_strata
    WHERE run_id = $run_id AND stratum = 'site'
)
SELECT
    rule_id, site_id,
    CASE WHEN denominator_small THEN suppressed ELSE CAST(denominator AS VARCHAR) END AS denominator,
    CASE WHEN exclusions_small THEN suppressed ELSE CAST(exclusions AS VARCHAR) END AS exclusions,
    CASE WHEN not_evaluable_small THEN suppressed ELSE CAST(not_evaluable AS VARCHAR) END AS not_evaluable,
    CASE WHEN deviations_small THEN suppressed ELSE CAST(deviations AS VARCHAR) END AS deviations,
    CASE
        WHEN denominator_small OR exclusions_small OR not_evaluable_small OR deviations_small THEN NULL
        ELSE deviation_rate
    END AS deviation_rate
FROM flagged
ORDER BY rule_id, site_id = '(none)', site_id;
