-- work.*: this run's rows before they are published to audit.* in one transaction.
CREATE OR REPLACE TABLE work.quarantine AS SELECT * FROM audit.quarantine LIMIT 0;
CREATE OR REPLACE TABLE work.data_quality AS SELECT * FROM audit.data_quality LIMIT 0;
CREATE OR REPLACE TABLE work.table_counts AS SELECT * FROM audit.table_counts LIMIT 0;
