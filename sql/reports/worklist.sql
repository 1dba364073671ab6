-- worklist.csv: one row per deviation event, for clinical follow-up (internal use: names patients).
-- Most severe first ($severities: the names by rank, schemas/severities.csv); the evidence JSON stays
-- in audit.deviations (one value per cell here).
SELECT patient_id, rule_id, severity, event_date, explanation
FROM audit.deviations
WHERE run_id = $run_id
ORDER BY
    list_position($severities, severity) NULLS LAST,
    rule_id, patient_id, event_date;
