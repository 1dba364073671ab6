-- The source tables of which this run's ingest loaded at least one row (schemas/spec.py
-- unusable_tables: an absent, empty or wholly rejected optional table counts as missing).
SELECT table_name FROM work.table_counts GROUP BY table_name HAVING sum(rows_loaded) > 0;
