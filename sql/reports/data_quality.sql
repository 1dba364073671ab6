-- data_quality.csv: one tidy table of two kinds of row (see cramp_audit/reports.py):
--   kind = 'counts': one per source table (audit.table_counts): rows read, loaded, rejected,
--                    repaired, skipped and why (an optional table the extract lacks: all 0, and why);
--   kind = 'check':  one per failed check (audit.data_quality where passed = false); the check an
--                    optional table without usable rows fails ($usable_rows_check) names the rules
--                    that need the table (audit.rules.requires), whose patients are therefore
--                    reported not evaluable; `meaning` is what the check means, from the check
--                    catalogue ($checks_catalogue: schemas/checks.csv).
-- Cells that do not apply to a row's kind are empty.
SELECT
    'counts' AS kind, table_name, source_table,
    rows_read, rows_loaded, rows_rejected, rows_repaired, rows_skipped, skip_reason,
    CAST(NULL AS VARCHAR) AS check_name, CAST(NULL AS BIGINT) AS rows_checked,
    CAST(NULL AS BIGINT) AS rows_failed, CAST(NULL AS VARCHAR) AS rules_not_evaluable,
    CAST(NULL AS VARCHAR) AS meaning
FROM audit.table_counts
WHERE run_id = $run_id
UNION ALL
SELECT
    'check', d.table_name, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL,
    d.check_name, d.rows_checked, d.rows_failed,
    CASE WHEN d.check_name = $usable_rows_check THEN (
        SELECT string_agg(r.rule_id, ', ' ORDER BY r.rule_id)
        FROM audit.rules AS r
        WHERE r.run_id = d.run_id AND list_contains(r.requires, d.table_name)) END,
    c.meaning
FROM audit.data_quality AS d
LEFT JOIN read_csv($checks_catalogue, header = true, all_varchar = true) AS c
    ON c."table" = d.table_name AND c.name = d.check_name
WHERE d.run_id = $run_id AND d.passed = false
ORDER BY kind = 'check', table_name, source_table, check_name;
