-- docs/data-dictionary.md: the schema's tables then views, each in creation order, with comments.
SELECT table_name AS name, 'table' AS kind, comment, table_oid AS oid
FROM duckdb_tables() WHERE schema_name = $schema AND database_name = current_database()
UNION ALL
SELECT view_name, 'view', comment, view_oid
FROM duckdb_views() WHERE schema_name = $schema AND database_name = current_database() AND NOT internal
ORDER BY kind, oid;
