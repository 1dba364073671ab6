-- Small helpers every rule uses, so explanations read the same across rules (temporary: they
-- live only for the connection that runs the audit).

-- 0.85 -> '0.85', 400.0 -> '400', 0.69938 -> '0.699'
CREATE OR REPLACE TEMP MACRO fmt_num(x) AS regexp_replace(printf('%.3f', x::DOUBLE), '\.?0+$', '');

-- Whole years between two dates (age on a date): a birthday not yet reached this year does not count.
CREATE OR REPLACE TEMP MACRO age_years(birth, on_date) AS
    date_part('year', on_date) - date_part('year', birth)
    - CASE WHEN strftime(on_date, '%m%d') < strftime(birth, '%m%d') THEN 1 ELSE 0 END;

-- "0.85 mmol/L" (the result in its own unit, as the clinician saw it)
CREATE OR REPLACE TEMP MACRO lab_value_text(value_numeric, unit) AS
    trim(fmt_num(value_numeric) || ' ' || coalesce(unit, ''));

-- An order is active on a day when it started on or before it and has not ended before it.
CREATE OR REPLACE TEMP MACRO active_on(start_date, end_date, on_date) AS
    start_date <= on_date AND (end_date IS NULL OR end_date >= on_date);
