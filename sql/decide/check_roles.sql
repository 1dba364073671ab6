-- Contract checks on work.rule_roles after every rule ran: one row per broken promise (the engine
-- refuses to decide statuses when any comes back). A rule file that breaks one is a bug.
SELECT rule_id, 'unknown role ' || role AS problem, count(*) AS rows
FROM work.rule_roles
WHERE role IS NULL OR NOT list_contains(getvariable('roles'), role)  -- schemas/roles.csv, set by the engine
GROUP BY ALL
UNION ALL
SELECT rule_id, 'patient not in the cohort', count(*)
FROM work.rule_roles
WHERE patient_id IS NULL OR patient_id NOT IN (SELECT patient_id FROM work.cohort)
GROUP BY ALL
UNION ALL
SELECT r.rule_id, r.role || ' row without a denominator row for the patient', count(*)
FROM work.rule_roles AS r
WHERE r.role <> 'denominator'
  AND NOT EXISTS (SELECT 1 FROM work.rule_roles AS d
                  WHERE d.rule_id = r.rule_id AND d.patient_id = r.patient_id AND d.role = 'denominator')
GROUP BY ALL
UNION ALL
SELECT rule_id, 'deviation without an event_date or explanation', count(*)
FROM work.rule_roles
WHERE role = 'deviation' AND (event_date IS NULL OR explanation IS NULL)
GROUP BY ALL
ORDER BY 1, 2;
