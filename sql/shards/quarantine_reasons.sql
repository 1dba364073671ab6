-- Per table, each distinct quarantine reason of the merged run: rejected first, then commonest.
SELECT table_name, action, field, reason, count(*) AS rows
FROM work.quarantine
GROUP BY table_name, action, field, reason
ORDER BY table_name, action <> 'rejected', rows DESC, field, reason;
