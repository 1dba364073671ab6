-- What a run learnt about itself while it ran (its source's checksum and stated date, the value
-- sets' checksum, the audit period), written when it closes: inside the publish transaction for a
-- run that succeeds, after the rollback for one that fails, so a failed run keeps them too.
UPDATE audit.runs SET source_checksum = $source_checksum, value_sets_checksum = $value_sets_checksum,
    extract_date = $extract_date, period_start = $period_start, period_end = $period_end,
    latest_data_date = $latest_data_date
WHERE run_id = $run_id;
