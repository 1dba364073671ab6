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

-- An order is active on a day when it started on or before it and its active_until (work.med_matches:
-- the end date, else start + closed_order_days / open_order_max_days by status, rules-v2.md) is not
-- before it.
CREATE OR REPLACE TEMP MACRO active_on(start_date, active_until, on_date) AS
    start_date <= on_date AND active_until >= on_date;

-- A chronic condition (rules-v2.md) is present on a day when recorded on or before it and not
-- resolved before it, however long ago.
CREATE OR REPLACE TEMP MACRO present_on(recorded_date, resolved_date, on_date) AS
    recorded_date <= on_date AND (resolved_date IS NULL OR resolved_date >= on_date);

-- Why a window that should run to window_end was cut short (rules-v2.md: a window ends at the
-- earliest of its own end, the death date and the end of the data), else NULL. The death day and the
-- last day of data are observed days.
CREATE OR REPLACE TEMP MACRO window_cut(window_end, window_days, death_date, data_end) AS
    CASE WHEN death_date < window_end AND death_date <= data_end
         THEN 'died ' || death_date || ' before the ' || window_days || '-day window ended'
         WHEN data_end < window_end
         THEN 'data ends ' || data_end || ' before the ' || window_days || '-day window ended' END;

-- "0.70 mmol/L": a threshold or value with its unit beside it.
CREATE OR REPLACE TEMP MACRO with_unit(x, unit) AS trim(fmt_num(x) || ' ' || coalesce(unit, ''));

-- An optional extract table without a usable row (work.unusable_tables, written before the rules
-- run): rules-v2.md, a rule decides what it can without it and names it for the rest.
CREATE SCHEMA IF NOT EXISTS work;
CREATE TABLE IF NOT EXISTS work.unusable_tables (table_name VARCHAR);  -- filled by the engine (engine_tables.sql)
CREATE OR REPLACE TEMP MACRO table_missing(name) AS
    EXISTS (SELECT 1 FROM work.unusable_tables AS u WHERE u.table_name = name);
CREATE OR REPLACE TEMP MACRO missing_reason(name) AS 'no usable rows in the extract: ' || name;
