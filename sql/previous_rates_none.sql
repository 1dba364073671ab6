-- work.previous_rates when the database has no audit.* tables yet (a first run, or a test deck).
CREATE OR REPLACE TABLE work.previous_rates (rule_id VARCHAR, previous_deviation_rate DOUBLE);
