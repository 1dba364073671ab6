-- Creates the database file, attached under the catalog name every query goes through (CATALOG in
-- cramp_audit/db.py), in a storage version the widely installed 1.x DuckDB clients read
-- (STORAGE_VERSION in cramp_audit/db.py). An existing file is attached as it is (attach_database.sql).
ATTACH $path AS {catalog} (TYPE duckdb, STORAGE_VERSION $storage_version);
