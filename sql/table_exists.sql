-- 1 when the table schema_name.table_name exists in the database, else 0.
SELECT count(*) FROM duckdb_tables() WHERE schema_name = $schema_name AND table_name = $table_name;
