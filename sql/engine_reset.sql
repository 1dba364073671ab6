-- Drops every work.* table the rules engine writes, at the start of an evaluation, so a run that
-- fails half-way can never leave an earlier run's cohort or results behind to be published.
CREATE SCHEMA IF NOT EXISTS work;
DROP TABLE IF EXISTS work.med_matches;
DROP TABLE IF EXISTS work.dx_matches;
DROP TABLE IF EXISTS work.lab_matches;
DROP TABLE IF EXISTS work.proc_matches;
DROP TABLE IF EXISTS work.magnesium_starts;
DROP TABLE IF EXISTS work.cohort_context;
DROP TABLE IF EXISTS work.cohort;
DROP TABLE IF EXISTS work.cohort_attrition;
DROP TABLE IF EXISTS work.rules;
DROP TABLE IF EXISTS work.unusable_tables;
DROP TABLE IF EXISTS work.absent_tables;  -- its name before it also covered empty or wholly rejected tables
DROP TABLE IF EXISTS work.rule_roles;
DROP TABLE IF EXISTS work.previous_rates;
DROP TABLE IF EXISTS work.patient_rules;
DROP TABLE IF EXISTS work.rule_results;
DROP TABLE IF EXISTS work.deviations;
DROP TABLE IF EXISTS work.previous_run;
DROP TABLE IF EXISTS work.previous_patient_rules;
DROP TABLE IF EXISTS work.deviation_changes;
