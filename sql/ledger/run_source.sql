SELECT source_path FROM audit.runs WHERE run_id = $run_id;
