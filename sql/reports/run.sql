-- report.html header: the run's provenance (one row), with the cohort size. The date the page calls
-- the extract's is latest_data_date, the data's latest event date (extract_date is the source's own
-- claim or, when it makes none, the run's date: not how recent the data is).
SELECT
    r.run_id, r.status, r.started_at, r.finished_at,
    r.source_path, r.source_format, r.source_checksum, r.latest_data_date, r.extract_date,
    r.period_start, r.period_end,
    r.rule_pack_version, r.rule_pack_checksum, r.value_sets_checksum, r.code_version,
    CAST(r.parameters AS VARCHAR) AS parameters,
    r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_repaired, r.rows_skipped,
    (SELECT count(*) FROM audit.cohort c WHERE c.run_id = r.run_id) AS cohort_size
FROM audit.runs r
WHERE r.run_id = $run_id;
