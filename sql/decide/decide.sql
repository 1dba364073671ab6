-- The one population decider (rules.md, "What every rule reports"): every cohort patient gets
-- exactly one status per rule, in this order of precedence:
--   not_applicable (no denominator row) > excluded > not_evaluable > deviation > met.
-- A rule that needs an optional table of which the extract has no usable rows (its `requires:`
-- header; the tables are in work.unusable_tables) decides what it can without it and reports the
-- rest not_evaluable itself, naming the table (rules-v2.md).
-- Every count in work.rule_results comes from work.patient_rules and nothing else.
--
-- Inputs: work.cohort, work.rules, work.rule_roles (rule_id + the rules' one shape),
--         work.rules.requires (each rule's `requires:` tables), work.unusable_tables (table_name),
--         work.previous_rates (rule_id, previous_deviation_rate).
-- Outputs (column order = the audit.* table they are published to):
--         work.patient_rules, work.rule_results, work.deviations.

CREATE OR REPLACE TEMP TABLE role_summary AS
SELECT rule_id, patient_id,
       bool_or(role = 'denominator') AS in_denominator,
       bool_or(role = 'exclusion') AS has_exclusion,
       bool_or(role = 'not_evaluable') AS has_not_evaluable,
       count(*) FILTER (WHERE role = 'deviation') AS deviation_events,
       -- the first event of each role, as the status reason
       min_by(explanation, (event_date, explanation)) FILTER (WHERE role = 'denominator') AS denominator_reason,
       min_by(explanation, (event_date, explanation)) FILTER (WHERE role = 'exclusion') AS exclusion_reason,
       min_by(explanation, (event_date, explanation)) FILTER (WHERE role = 'not_evaluable') AS not_evaluable_reason,
       min_by(explanation, (event_date, explanation)) FILTER (WHERE role = 'deviation') AS deviation_reason
FROM work.rule_roles
GROUP BY rule_id, patient_id;

CREATE OR REPLACE TEMP TABLE missing_data AS
SELECT q.rule_id, string_agg(q.table_name, ', ' ORDER BY q.table_name) AS tables
FROM (SELECT rule_id, unnest(requires) AS table_name FROM work.rules) AS q
JOIN work.unusable_tables AS a USING (table_name)
GROUP BY q.rule_id;

CREATE OR REPLACE TABLE work.patient_rules AS
WITH decided AS (
    SELECT r.rule_id, c.patient_id,
           CASE
               WHEN NOT coalesce(s.in_denominator, false) THEN 'not_applicable'
               WHEN s.has_exclusion THEN 'excluded'
               -- rules-v2.md: a rule whose optional table is missing decides every patient it can
               -- and reports the rest not_evaluable itself, naming the table
               WHEN s.has_not_evaluable THEN 'not_evaluable'
               WHEN s.deviation_events > 0 THEN 'deviation'
               ELSE 'met'
           END AS status,
           s.denominator_reason, s.exclusion_reason, s.not_evaluable_reason, s.deviation_reason,
           s.deviation_events, m.tables AS missing_tables
    FROM work.rules AS r
    CROSS JOIN work.cohort AS c
    LEFT JOIN role_summary AS s ON s.rule_id = r.rule_id AND s.patient_id = c.patient_id
    LEFT JOIN missing_data AS m ON m.rule_id = r.rule_id
)
SELECT getvariable('run_id')::VARCHAR AS run_id, rule_id, patient_id, status,
       CASE status
           WHEN 'not_applicable' THEN 'not in the denominator'
           WHEN 'excluded' THEN exclusion_reason
           WHEN 'not_evaluable' THEN coalesce(not_evaluable_reason, 'no usable rows in the extract: ' || missing_tables)
           WHEN 'deviation' THEN deviation_reason
               || CASE WHEN deviation_events > 1 THEN ' (+' || (deviation_events - 1) || ' more)' ELSE '' END
           ELSE denominator_reason
       END AS reason
FROM decided
ORDER BY rule_id, patient_id;

CREATE OR REPLACE TABLE work.rule_results AS
WITH counts AS (
    SELECT r.rule_id,
           count(p.patient_id) FILTER (WHERE p.status <> 'not_applicable') AS denominator,
           count(p.patient_id) FILTER (WHERE p.status = 'excluded') AS exclusions,
           count(p.patient_id) FILTER (WHERE p.status = 'not_evaluable') AS not_evaluable,
           count(p.patient_id) FILTER (WHERE p.status = 'deviation') AS deviations
    FROM work.rules AS r
    LEFT JOIN work.patient_rules AS p USING (rule_id)
    GROUP BY r.rule_id
)
SELECT getvariable('run_id')::VARCHAR AS run_id, c.rule_id,
       c.denominator::BIGINT AS denominator, c.exclusions::BIGINT AS exclusions,
       c.not_evaluable::BIGINT AS not_evaluable, c.deviations::BIGINT AS deviations,
       c.deviations / nullif(c.denominator - c.exclusions - c.not_evaluable, 0)::DOUBLE AS deviation_rate,
       v.previous_deviation_rate::DOUBLE AS previous_deviation_rate
FROM counts AS c
LEFT JOIN work.previous_rates AS v USING (rule_id)
ORDER BY c.rule_id;

-- One row per deviating event, only for patients whose status is deviation (an excluded or
-- not-evaluable patient's deviation events are not reported).
CREATE OR REPLACE TABLE work.deviations AS
SELECT getvariable('run_id')::VARCHAR AS run_id, d.rule_id, d.patient_id, d.event_date, r.severity,
       d.explanation, d.evidence::JSON AS evidence, d.reason_code
FROM work.rule_roles AS d
JOIN work.patient_rules AS p
  ON p.rule_id = d.rule_id AND p.patient_id = d.patient_id AND p.status = 'deviation'
JOIN work.rules AS r ON r.rule_id = d.rule_id
WHERE d.role = 'deviation'
ORDER BY d.rule_id, d.patient_id, d.event_date, d.explanation;

DROP TABLE role_summary;
DROP TABLE missing_data;
