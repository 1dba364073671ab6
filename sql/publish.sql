-- Publishes every audit.* row of a run at once (called inside one transaction with succeed_run.sql):
-- a run that fails before this leaves no rows in audit.* but its failed audit.runs row.
INSERT INTO audit.quarantine SELECT * FROM work.quarantine;
INSERT INTO audit.data_quality SELECT * FROM work.data_quality;
INSERT INTO audit.table_counts SELECT * FROM work.table_counts;
INSERT INTO audit.rules SELECT * FROM work.rules;
INSERT INTO audit.cohort SELECT * FROM work.cohort;
INSERT INTO audit.cohort_attrition SELECT * FROM work.cohort_attrition;
INSERT INTO audit.patient_rules SELECT * FROM work.patient_rules;
INSERT INTO audit.rule_results SELECT * FROM work.rule_results;
INSERT INTO audit.deviations SELECT * FROM work.deviations;
INSERT INTO audit.deviation_changes SELECT * FROM work.deviation_changes;
