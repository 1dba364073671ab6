-- worklist_internal.csv: one row per deviation event, for clinical follow-up (INTERNAL: names
-- patients). Every column but the evidence JSON (which stays in audit.deviations): the reports pick
-- the worklist's columns from what this database has (reason_code and ids come with rules-v2).
-- Most severe first ($severities: the names by rank, schemas/severities.csv).
SELECT * EXCLUDE (evidence)
FROM audit.deviations
WHERE run_id = $run_id
ORDER BY
    list_position($severities, severity) NULLS LAST,
    rule_id, patient_id, event_date;
