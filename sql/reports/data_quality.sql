-- data_quality.csv: one tidy table of two kinds of row (see cramp_audit/reports.py):
--   kind = 'counts': one per source table (audit.table_counts): rows read, loaded, rejected,
--                    repaired, skipped and why;
--   kind = 'check':  one per failed check (audit.data_quality where passed = false).
-- Cells that do not apply to a row's kind are empty.
SELECT
    'counts' AS kind, table_name, source_table,
    rows_read, rows_loaded, rows_rejected, rows_repaired, rows_skipped, skip_reason,
    CAST(NULL AS VARCHAR) AS check_name, CAST(NULL AS BIGINT) AS rows_checked,
    CAST(NULL AS BIGINT) AS rows_failed
FROM audit.table_counts
WHERE run_id = $run_id
UNION ALL
SELECT
    'check', table_name, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL,
    check_name, rows_checked, rows_failed
FROM audit.data_quality
WHERE run_id = $run_id AND passed = false
ORDER BY kind = 'check', table_name, source_table, check_name;
