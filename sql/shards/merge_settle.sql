-- The run-wide rows settled from the shards' (after merge_shard.sql for every shard):
-- counts per table and source file summed (read = loaded + rejected + skipped holds per file as it
-- held per shard), attrition summed per step, and the data-quality checks combined as one pass over
-- the whole extract would have them: a row check fails as often as in all shards together; a table is
-- empty only when it is empty in every shard. (table:has_usable_rows is written again by the caller
-- from the whole extract's counts.)
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

-- A column fails :parses_in_some_row when it has values and not one of them parses, in all shards together.
CREATE OR REPLACE TEMP TABLE parses AS
SELECT table_name, column_name || ':parses_in_some_row' AS check_name,
       CASE WHEN sum(present) > 0 AND sum(parsed) = 0 THEN 1 ELSE 0 END AS rows_failed
FROM work.parse_counts
GROUP BY table_name, column_name;

CREATE OR REPLACE TABLE work.data_quality AS
WITH combined AS (
    SELECT run_id, table_name, check_name, sum(rows_checked)::BIGINT AS rows_checked,
           CASE WHEN check_name = 'table:not_empty' THEN min(rows_failed) ELSE sum(rows_failed) END AS rows_failed
    FROM work.data_quality
    WHERE check_name <> 'table:has_usable_rows'
    GROUP BY run_id, table_name, check_name
)
SELECT c.run_id, c.table_name, c.check_name, c.rows_checked,
       coalesce(p.rows_failed, c.rows_failed)::BIGINT AS rows_failed,
       coalesce(p.rows_failed, c.rows_failed) = 0 AS passed
FROM combined AS c
LEFT JOIN parses AS p USING (table_name, check_name);
DROP TABLE parses;
