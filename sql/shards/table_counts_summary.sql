-- Per table of the merged run: the counts a single run's summary keeps (validation_summary.summarise),
-- in the tables' load order (patients first); the absent tables' all-zero rows left out.
SELECT table_name, sum(rows_read)::BIGINT, sum(rows_loaded)::BIGINT, sum(rows_rejected)::BIGINT,
       sum(rows_repaired)::BIGINT, sum(rows_skipped)::BIGINT
FROM work.table_counts
WHERE skip_reason IS DISTINCT FROM $absent
GROUP BY table_name
ORDER BY list_position($tables, table_name);
