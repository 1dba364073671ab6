UPDATE audit.runs SET period_start = $period_start, period_end = $period_end, parameters = $parameters::JSON,
    latest_data_date = $latest_data_date
WHERE run_id = $run_id;
