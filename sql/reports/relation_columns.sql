-- The columns of audit.<$name> (table or view) in the database in use; none when it does not exist.
-- The reports use it to show what sibling stages add (audit.rule_strata, audit.rule_trend,
-- audit.deviations.reason_code) only where this database has it.
SELECT column_name
FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema = 'audit' AND table_name = $name
ORDER BY ordinal_position;
