-- worklist_internal.csv: one row per deviation event, for clinical follow-up (INTERNAL: names
-- patients). Every column but the evidence JSON (which stays in audit.deviations): the reports pick
-- the worklist's columns from what this database has (reason_code and ids come with rules-v2).
-- Most severe first.
SELECT * EXCLUDE (evidence)
FROM audit.deviations
WHERE run_id = $run_id
ORDER BY
    CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
    rule_id, patient_id, event_date;
