-- work.rule_strata: every rule's counts per stratum of the cohort (issue 13: site, sex, age band at
-- index), made here from work.patient_rules like work.rule_results, so that reports only suppress
-- and format (reports/rule_by_site.sql is the site slice). Every rule gets a row for every value of
-- every stratum found in the cohort, so an empty cell is an explicit 0.
--   site       the patient's site (audit.cohort.site_id, as rule_by_site.csv always showed it);
--   sex        audit.cohort.sex as loaded;
--   age_band   age at index: 18-64, 65-79, 80+ (below 18 only when min_age_years is set lower);
--   index_code_kind  (hook) audit.cohort.index_code_kind when work.cohort has that column (rule pack
--              v2 adds it); read through to_json so that, without the column, the stratum is skipped.
-- A missing or blank value is '(none)'. rate = deviations / (denominator - exclusions - not_evaluable),
-- NULL when that is 0 (rules.md), as in decide.sql.
CREATE OR REPLACE TEMP TABLE cohort_strata AS
WITH cohort AS (
    SELECT c.patient_id, c.site_id, c.sex, c.age_at_index, to_json(c) AS fields FROM work.cohort AS c
),
strata AS (
    SELECT patient_id, 'site' AS stratum, site_id AS value FROM cohort
    UNION ALL
    SELECT patient_id, 'sex', sex FROM cohort
    UNION ALL
    SELECT patient_id, 'age_band',
           CASE WHEN age_at_index < 18 THEN '<18' WHEN age_at_index < 65 THEN '18-64'
                WHEN age_at_index < 80 THEN '65-79' WHEN age_at_index >= 80 THEN '80+' END
    FROM cohort
    UNION ALL
    -- A further stratum is one more branch here (a cohort column, or a value derived from one).
    SELECT patient_id, 'index_code_kind', fields ->> 'index_code_kind' FROM cohort
    WHERE json_exists(fields, '$.index_code_kind')
)
SELECT patient_id, stratum, coalesce(nullif(trim(value), ''), '(none)') AS value FROM strata;
CREATE OR REPLACE TABLE work.rule_strata AS
WITH cells AS (
    SELECT r.rule_id, s.stratum, s.value
    FROM work.rules AS r
    CROSS JOIN (SELECT DISTINCT stratum, value FROM cohort_strata) AS s
),
counts AS (
    SELECT p.rule_id, s.stratum, s.value,
           count(*) FILTER (WHERE p.status <> 'not_applicable') AS denominator,
           count(*) FILTER (WHERE p.status = 'excluded') AS exclusions,
           count(*) FILTER (WHERE p.status = 'not_evaluable') AS not_evaluable,
           count(*) FILTER (WHERE p.status = 'deviation') AS deviations
    FROM work.patient_rules AS p
    JOIN cohort_strata AS s USING (patient_id)
    GROUP BY ALL
),
grid AS (
    SELECT c.rule_id, c.stratum, c.value,
           coalesce(n.denominator, 0)::BIGINT AS denominator, coalesce(n.exclusions, 0)::BIGINT AS exclusions,
           coalesce(n.not_evaluable, 0)::BIGINT AS not_evaluable, coalesce(n.deviations, 0)::BIGINT AS deviations
    FROM cells AS c
    LEFT JOIN counts AS n USING (rule_id, stratum, value)
)
SELECT getvariable('run_id')::VARCHAR AS run_id, rule_id, stratum, value,
       denominator, exclusions, not_evaluable, deviations,
       deviations / nullif(denominator - exclusions - not_evaluable, 0)::DOUBLE AS deviation_rate
FROM grid
ORDER BY rule_id, stratum, value = '(none)', value;
DROP TABLE cohort_strata;
