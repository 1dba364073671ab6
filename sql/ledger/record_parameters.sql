UPDATE audit.runs SET period_start = $period_start, period_end = $period_end, parameters = $parameters::JSON
WHERE run_id = $run_id;
