-- The shard of each row of a batch (Arrow, `incoming`), by a stable hash of its patient_id: md5, so the
-- same patient lands in the same shard on every machine and DuckDB version. A missing id goes to shard 0.
-- md5_number_lower (UBIGINT), not md5_number: DuckDB 2.0 gives 0 for a UHUGEINT % BIGINT.
SELECT (md5_number_lower(coalesce(patient_id, '')) % $shards::UBIGINT)::INTEGER AS shard FROM incoming;
