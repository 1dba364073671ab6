-- The shard of each patient_id of a batch (Arrow, `incoming`: its distinct ids), by a stable hash: md5,
-- so the same patient lands in the same shard on every machine and DuckDB version (the lower 64 bits
-- of the digest, little-endian). A missing id is hashed as '': its rows all land in one shard.
-- md5_number_lower (UBIGINT), not md5_number: DuckDB 2.0 gives 0 for a UHUGEINT % BIGINT.
SELECT patient_id, (md5_number_lower(coalesce(patient_id, '')) % $shards::UBIGINT)::INTEGER AS shard FROM incoming;
