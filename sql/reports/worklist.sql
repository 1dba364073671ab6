-- worklist.csv: one row per deviation event, for clinical follow-up (internal use: names patients).
-- Most severe first; the evidence JSON stays in audit.deviations (one value per cell here).
-- change: new or persisting against the previous succeeded run on the same source
-- (audit.deviation_changes; the resolved ones need no follow-up, so are not listed).
SELECT d.patient_id, d.rule_id, d.severity, d.event_date, d.explanation, c.change
FROM audit.deviations AS d
LEFT JOIN audit.deviation_changes AS c USING (run_id, rule_id, patient_id)
WHERE d.run_id = $run_id
ORDER BY
    CASE d.severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
    d.rule_id, d.patient_id, d.event_date;
