INSERT INTO audit.runs (run_id, started_at, status, source_path, source_format, code_version)
VALUES ($run_id, now()::TIMESTAMP, 'running', $source_path, $source_format, $code_version);
