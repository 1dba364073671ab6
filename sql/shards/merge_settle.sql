-- The run-wide rows settled from the shards' (after merge_shard.sql for every shard):
-- counts per table and source file summed (read = loaded + rejected + skipped holds per file as it
-- held per shard), attrition summed per step, and the data-quality checks combined as one pass over
-- the whole extract would have them: a row check fails as often as in all shards together; a table is
-- empty only when it is empty in every shard. (table:has_usable_rows is written again by the caller
-- from the whole extract's counts; :parses_in_some_row is settled in merge_parses.sql.)
CREATE OR REPLACE TABLE work.table_counts AS
SELECT run_id, table_name, source_table, sum(rows_read)::BIGINT AS rows_read, sum(rows_loaded)::BIGINT AS rows_loaded,
       sum(rows_rejected)::BIGINT AS rows_rejected, sum(rows_repaired)::BIGINT AS rows_repaired,
       sum(rows_skipped)::BIGINT AS rows_skipped, skip_reason
FROM work.table_counts
GROUP BY run_id, table_name, source_table, skip_reason
ORDER BY table_name, source_table NULLS FIRST, skip_reason NULLS FIRST;

CREATE OR REPLACE TABLE work.cohort_attrition AS
SELECT run_id, step_number, step, sum(patients)::BIGINT AS patients
FROM work.cohort_attrition
GROUP BY run_id, step_number, step
ORDER BY step_number;

CREATE OR REPLACE TABLE work.data_quality AS
SELECT run_id, table_name, check_name, sum(rows_checked)::BIGINT AS rows_checked,
       CASE WHEN check_name = 'table:not_empty' THEN min(rows_failed) ELSE sum(rows_failed) END::BIGINT AS rows_failed,
       CASE WHEN check_name = 'table:not_empty' THEN min(rows_failed) ELSE sum(rows_failed) END = 0 AS passed
FROM work.data_quality
WHERE check_name <> 'table:has_usable_rows'
GROUP BY run_id, table_name, check_name;
