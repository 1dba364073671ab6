-- Attaches the database file under the catalog name every query goes through (CATALOG in cramp_audit/db.py).
ATTACH $path AS {catalog} (READ_ONLY $read_only);
