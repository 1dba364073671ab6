-- Top reason codes, as a stratum of the release: each deviating patient of a rule under the first of
-- their deviation events' reason codes (audit.deviations.reason_code, read only when the column
-- exists), and every other patient of the rule's denominator under '(no deviation)'. Counted per
-- patient so the values partition the rule like every other stratum, and are suppressed with it.
WITH patient_reason AS (
    SELECT rule_id, patient_id, min(coalesce(reason_code, '(no code)')) AS reason_code
    FROM audit.deviations
    WHERE run_id = $run_id
    GROUP BY rule_id, patient_id
)
SELECT
    pr.rule_id, 'reason_code' AS stratum,
    CASE WHEN pr.status = 'deviation' THEN coalesce(r.reason_code, '(no code)') ELSE '(no deviation)' END AS value,
    count(*) FILTER (WHERE pr.status <> 'not_applicable') AS denominator,
    count(*) FILTER (WHERE pr.status = 'excluded') AS exclusions,
    count(*) FILTER (WHERE pr.status = 'not_evaluable') AS not_evaluable,
    count(*) FILTER (WHERE pr.status = 'deviation') AS deviations
FROM audit.patient_rules AS pr
LEFT JOIN patient_reason AS r USING (rule_id, patient_id)
WHERE pr.run_id = $run_id AND pr.status <> 'not_applicable'
GROUP BY ALL
ORDER BY pr.rule_id, value;
