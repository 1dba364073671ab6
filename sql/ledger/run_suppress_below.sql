-- A run's status and the suppress_below it ran with, as recorded in audit.runs.parameters (a report
-- rebuilt later uses the run's own value, not today's configuration).
SELECT status, parameters ->> 'suppress_below' FROM audit.runs WHERE run_id = $run_id;
