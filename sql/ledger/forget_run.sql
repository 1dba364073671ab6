-- A run that found its extract unreadable part-way through reading it leaves no trace (the
-- database as it was, as for an extract refused up front); its staging load was rolled back.
DELETE FROM audit.runs WHERE run_id = $run_id AND status = 'running';
