-- Statistics shown beside every deviation rate (temporary macros, like macros.sql: they live only for
-- the connection that loads this file). The decider owns every count and rate, so the interval and
-- the small-numbers rule are computed here in SQL, next to the rate, not in the reports.
--
-- rate = deviations / evaluated, evaluated = denominator - exclusions - not_evaluable (rules.md).

-- z for a two-sided 95 % interval: the 0.975 quantile of the standard normal.
CREATE OR REPLACE TEMP MACRO wilson_z() AS 1.959963984540054;

-- Wilson score interval for deviations of evaluated (Wilson 1927; Newcombe 1998, method 3): unlike
-- the normal approximation it stays inside 0..1 and is not empty at 0 % or 100 %, which small audit
-- denominators hit often. NULL when nothing was evaluated (no rate, so no interval).
CREATE OR REPLACE TEMP MACRO wilson_centre(deviations, evaluated) AS
    (deviations / evaluated::DOUBLE + wilson_z() ^ 2 / (2 * evaluated))
    / (1 + wilson_z() ^ 2 / evaluated);

CREATE OR REPLACE TEMP MACRO wilson_half_width(deviations, evaluated) AS
    wilson_z() / (1 + wilson_z() ^ 2 / evaluated)
    * sqrt(
        (deviations / evaluated::DOUBLE) * (1 - deviations / evaluated::DOUBLE) / evaluated
        + wilson_z() ^ 2 / (4 * evaluated::DOUBLE ^ 2)
    );

-- At 0 of n the exact lower bound is 0 and at n of n the upper is 1: said outright, because the
-- formula leaves a rounding residue there (2.8e-17 at 0 of 7).
CREATE OR REPLACE TEMP MACRO wilson_low(deviations, evaluated) AS
    CASE
        WHEN evaluated > 0 AND deviations = 0 THEN 0.0
        WHEN evaluated > 0 THEN
            greatest(0.0, wilson_centre(deviations, evaluated) - wilson_half_width(deviations, evaluated))
    END;

CREATE OR REPLACE TEMP MACRO wilson_high(deviations, evaluated) AS
    CASE
        WHEN evaluated > 0 AND deviations = evaluated THEN 1.0
        WHEN evaluated > 0 THEN
            least(1.0, wilson_centre(deviations, evaluated) + wilson_half_width(deviations, evaluated))
    END;

-- What a rate may be shown as (min_denominator: [reports] min_denominator_for_rate, default 20):
--   'none'           nobody is in the denominator: nothing was audited, say so (not "0 deviations");
--   'not_evaluable'  nobody could be evaluated: there is no rate, never show it as 0 %;
--   'small'          evaluated below min_denominator: show the rate with a "small numbers" mark and
--                    never rank it;
--   'ranked'         a rate that may be compared and ranked.
CREATE OR REPLACE TEMP MACRO rate_kind(denominator, evaluated, min_denominator) AS
    CASE
        WHEN denominator = 0 THEN 'none'
        WHEN evaluated = 0 THEN 'not_evaluable'
        WHEN evaluated < min_denominator THEN 'small'
        ELSE 'ranked'
    END;
