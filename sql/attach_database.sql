-- Attaches the database file under the catalog name every query goes through (CATALOG in cramp_audit/db.py).
-- TYPE duckdb: DuckDB would otherwise open a SQLite file through its sqlite extension (downloading it).
ATTACH $path AS {catalog} (TYPE duckdb, READ_ONLY $read_only);
