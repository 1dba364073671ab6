-- One shard's evaluation rows appended to the run's: its patients are its own, so rows never collide.
-- (Its staging.* and loaded work.* tables are copied per table of the manifest's groups:
-- statements.sql copy_shard_table.)
INSERT INTO work.cohort SELECT * FROM {alias}.work.cohort;
INSERT INTO work.cohort_attrition SELECT * FROM {alias}.work.cohort_attrition;
INSERT INTO work.rule_roles SELECT * FROM {alias}.work.rule_roles;
INSERT INTO work.parse_counts SELECT * FROM {alias}.work.parse_counts;
