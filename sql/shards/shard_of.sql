-- The shard of each row of a batch (Arrow, `incoming`), by a stable hash of its patient_id: md5, so the
-- same patient lands in the same shard on every machine and DuckDB version. A missing id goes to shard 0.
SELECT (md5_number(coalesce(patient_id, '')) % $shards)::INTEGER AS shard FROM incoming;
