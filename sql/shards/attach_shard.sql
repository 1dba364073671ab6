-- A finished shard's database, read-only: the merge never changes a shard (a re-run merge reads it again).
ATTACH $path AS {alias} (TYPE duckdb, READ_ONLY);
