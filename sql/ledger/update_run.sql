UPDATE audit.runs SET source_format = $source_format, source_checksum = $source_checksum,
    period_start = $period_start, period_end = $period_end, rule_pack_version = $rule_pack_version,
    rule_pack_checksum = $rule_pack_checksum, value_sets_checksum = $value_sets_checksum,
    parameters = $parameters::JSON, extract_date = $extract_date
WHERE run_id = $run_id;
