-- worklist.csv: one row per deviation event, for clinical follow-up (internal use: names patients).
-- Most severe first; the evidence JSON stays in audit.deviations (one value per cell here).
SELECT patient_id, rule_id, severity, event_date, explanation
FROM audit.deviations
WHERE run_id = $run_id
ORDER BY
    CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
    rule_id, patient_id, event_date;
