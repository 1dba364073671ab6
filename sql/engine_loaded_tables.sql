-- The source tables this run's ingest loaded: one row per table in work.table_counts, except the
-- all-zero row that records an optional table as absent ($absent_reason, schemas/spec.py).
SELECT DISTINCT table_name FROM work.table_counts WHERE skip_reason IS DISTINCT FROM $absent_reason;
