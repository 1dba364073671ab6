-- The Wilson 95 % interval and rate kind (sql/macros_statistics.sql) of every row of the release,
-- computed on the full counts (frame release_counts: rule_id, stratum, value, denominator, evaluated,
-- deviations) before any is withheld; the reports show them only where the rate is shown.
SELECT
    rule_id, stratum, value,
    wilson_low(deviations, evaluated) AS wilson_low,
    wilson_high(deviations, evaluated) AS wilson_high,
    rate_kind(denominator, evaluated, $min_denominator) AS rate_kind
FROM release_counts;
