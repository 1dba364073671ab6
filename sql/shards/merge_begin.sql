-- The run's work.* tables, empty, in the shards' shape, before every shard's rows are appended
-- (merge_shard.sql) and the run-wide ones are settled (merge_settle.sql). Staging is replaced as a
-- single run's load replaces it.
CREATE OR REPLACE TABLE work.quarantine AS SELECT * FROM {first}.work.quarantine LIMIT 0;
CREATE OR REPLACE TABLE work.data_quality AS SELECT * FROM {first}.work.data_quality LIMIT 0;
CREATE OR REPLACE TABLE work.table_counts AS SELECT * FROM {first}.work.table_counts LIMIT 0;
CREATE OR REPLACE TABLE work.cohort AS SELECT * FROM {first}.work.cohort LIMIT 0;
CREATE OR REPLACE TABLE work.cohort_attrition AS SELECT * FROM {first}.work.cohort_attrition LIMIT 0;
CREATE OR REPLACE TABLE work.rule_roles AS SELECT * FROM {first}.work.rule_roles LIMIT 0;
CREATE OR REPLACE TABLE work.parse_counts AS SELECT * FROM {first}.work.parse_counts LIMIT 0;
-- Every shard evaluated the same rule pack: the first one's work.rules is the run's.
CREATE OR REPLACE TABLE work.rules AS SELECT * FROM {first}.work.rules;
CREATE OR REPLACE TABLE work.unusable_tables (table_name VARCHAR);
DELETE FROM staging.patients;
DELETE FROM staging.encounters;
DELETE FROM staging.diagnoses;
DELETE FROM staging.medications;
DELETE FROM staging.labs;
DELETE FROM staging.procedures;
