-- The rules engine's own work.* tables, emptied at the start of every evaluation. work.rules has
-- audit.rules' column order; the others are inputs of decide/decide.sql.
CREATE SCHEMA IF NOT EXISTS work;
CREATE OR REPLACE TABLE work.rules (
    run_id VARCHAR, rule_id VARCHAR, title VARCHAR, severity VARCHAR, guideline_statement VARCHAR,
    requires VARCHAR[]);
-- The optional extract tables without a usable row in this extract (what each rule needs is
-- work.rules.requires).
CREATE OR REPLACE TABLE work.unusable_tables (table_name VARCHAR);
-- Every rule's rows, in the one shape rules return, tagged with the rule id.
CREATE OR REPLACE TABLE work.rule_roles (
    rule_id VARCHAR, patient_id VARCHAR, role VARCHAR, event_date DATE, explanation VARCHAR, evidence JSON,
    reason_code VARCHAR);
