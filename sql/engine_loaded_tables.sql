-- The source tables this run's ingest loaded (one row per table in work.table_counts).
SELECT DISTINCT table_name FROM work.table_counts;
