-- Only called while holding the database lock: a 'running' row then belongs to a dead process.
UPDATE audit.runs SET status = 'failed', finished_at = coalesce(finished_at, now()::TIMESTAMP),
    error = 'interrupted: the process stopped before the run finished'
WHERE status = 'running';
