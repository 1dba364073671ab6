-- Closes the run with the counts reconciled from work.table_counts (inside the publish transaction).
UPDATE audit.runs SET status = 'succeeded', finished_at = now()::TIMESTAMP,
    rows_read = c.rows_read, rows_loaded = c.rows_loaded, rows_quarantined = c.rows_rejected,
    rows_repaired = c.rows_repaired, rows_skipped = c.rows_skipped
FROM (SELECT coalesce(sum(rows_read), 0) AS rows_read, coalesce(sum(rows_loaded), 0) AS rows_loaded,
             coalesce(sum(rows_rejected), 0) AS rows_rejected, coalesce(sum(rows_repaired), 0) AS rows_repaired,
             coalesce(sum(rows_skipped), 0) AS rows_skipped
      FROM work.table_counts) AS c
WHERE run_id = $run_id;
