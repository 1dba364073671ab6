-- worklist_internal.csv: one row per deviation event, for clinical follow-up (INTERNAL: names
-- patients). Every column but the evidence JSON (which stays in audit.deviations): the reports pick
-- the worklist's columns from what this database has (reason_code and ids come with rules-v2).
-- change: new or persisting against the previous succeeded run on the same source
-- (audit.deviation_changes; the resolved ones need no follow-up, so are not listed).
-- Most severe first ($severities: the names by rank, schemas/severities.csv).
SELECT d.* EXCLUDE (evidence), c.change
FROM audit.deviations AS d
LEFT JOIN audit.deviation_changes AS c USING (run_id, rule_id, patient_id)
WHERE d.run_id = $run_id
ORDER BY
    list_position($severities, d.severity) NULLS LAST,
    d.rule_id, d.patient_id, d.event_date;
