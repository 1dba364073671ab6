-- What a run is known by before it reads anything (committed before the run's transaction opens,
-- so a failed run keeps it): its source, the code and rule pack it runs, the parameters in force.
INSERT INTO audit.runs (run_id, started_at, status, source_path, source_format, code_version,
                        rule_pack_version, rule_pack_checksum, parameters, shards, cluster)
VALUES ($run_id, now()::TIMESTAMP, 'running', $source_path, $source_format, $code_version,
        $rule_pack_version, $rule_pack_checksum, $parameters::JSON, $shards, $cluster);
