-- docs/data-dictionary.md: every column of the schema's tables and views, in table order.
SELECT table_name, column_name, data_type, comment
FROM duckdb_columns()
WHERE schema_name = $schema AND database_name = current_database()
ORDER BY table_name, column_index;
