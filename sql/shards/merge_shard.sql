-- One shard's rows appended to the run's: its patients are its own, so rows never collide.
INSERT INTO work.quarantine SELECT * FROM {alias}.work.quarantine;
INSERT INTO work.data_quality SELECT * FROM {alias}.work.data_quality;
INSERT INTO work.table_counts SELECT * FROM {alias}.work.table_counts;
INSERT INTO work.cohort SELECT * FROM {alias}.work.cohort;
INSERT INTO work.cohort_attrition SELECT * FROM {alias}.work.cohort_attrition;
INSERT INTO work.rule_roles SELECT * FROM {alias}.work.rule_roles;
INSERT INTO work.parse_counts SELECT * FROM {alias}.work.parse_counts;
INSERT INTO staging.patients SELECT * FROM {alias}.staging.patients;
INSERT INTO staging.encounters SELECT * FROM {alias}.staging.encounters;
INSERT INTO staging.diagnoses SELECT * FROM {alias}.staging.diagnoses;
INSERT INTO staging.medications SELECT * FROM {alias}.staging.medications;
INSERT INTO staging.labs SELECT * FROM {alias}.staging.labs;
INSERT INTO staging.procedures SELECT * FROM {alias}.staging.procedures;
