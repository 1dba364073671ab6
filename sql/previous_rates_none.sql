-- sql/previous_rates.sql's tables, empty, when the database has no audit.* tables yet (a first run,
-- or a test deck).
CREATE OR REPLACE TABLE work.previous_run (run_id VARCHAR);
CREATE OR REPLACE TABLE work.previous_rates (rule_id VARCHAR, previous_deviation_rate DOUBLE);
CREATE OR REPLACE TABLE work.previous_patient_rules (run_id VARCHAR, rule_id VARCHAR, patient_id VARCHAR,
                                                     status VARCHAR);
