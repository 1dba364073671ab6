-- Named statements: the short plumbing SQL the Python code runs (cramp_audit.stages.statement(name)).
-- A block starts at its `-- name: <name>` line and runs to the next one. {braces} are identifiers
-- (tables, catalogs, variables) placed by Python from fixed names; $names are bound values.

-- ---------------------------------------------------------------- the database file (cramp_audit/db.py)

-- name: attach_database
-- Attaches the database file under the catalog name every query goes through (CATALOG in cramp_audit/db.py).
-- TYPE duckdb: DuckDB would otherwise open a SQLite file through its sqlite extension (downloading it).
ATTACH $path AS {catalog} (TYPE duckdb, READ_ONLY $read_only);

-- name: create_database
-- Creates the database file, attached under the catalog name every query goes through, in a storage
-- version the widely installed 1.x DuckDB clients read (STORAGE_VERSION in cramp_audit/db.py).
ATTACH $path AS {catalog} (TYPE duckdb, STORAGE_VERSION $storage_version);

-- name: use_database
-- Makes the attached file the default catalog; large joins spill beside it rather than fail for want of memory.
USE {catalog};
SET temp_directory = $temp_directory;

-- name: set_variable
-- Sets one DuckDB variable (read by the SQL with getvariable) to a bound value of the given type.
SET VARIABLE {name} = $value::{type};

-- name: variable_value
-- The value of one DuckDB variable (NULL when it was never set: getvariable() does not complain).
SELECT getvariable($name);

-- ---------------------------------------------------------------- per-table statements of the manifest
-- (sql/manifest.toml `{ each = <name>, tables = [...] }` steps: one statement per table of the groups)

-- name: latest_view
-- audit.latest_<table>: the table's rows of the newest succeeded run of each source (audit.latest_runs,
-- schema/audit.sql), the source named in the second column. Bodies name tables without their schema so
-- the views work however the file is opened (see cramp_audit/db.py).
CREATE OR REPLACE VIEW audit.latest_{table} AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM {table} t JOIN latest_runs r USING (run_id);

-- name: clear_staging_table
-- A load replaces the previous one: staging.* always holds the latest validated extract.
DELETE FROM staging.{table};

-- name: work_table_like_audit
-- This run's rows of an audit table the load fills, kept in work.* until the run is published.
CREATE OR REPLACE TABLE work.{table} AS SELECT * FROM audit.{table} LIMIT 0;

-- name: drop_work_table
-- At the start of an evaluation, so a run that fails half-way never leaves an earlier run's rows to publish.
DROP TABLE IF EXISTS work.{table};

-- name: publish_table
-- Publishes a run's rows (inside the run's one transaction, with ledger/succeed_run.sql).
INSERT INTO audit.{table} SELECT * FROM work.{table};

-- ---------------------------------------------------------------- the load (cramp_audit/load.py, pipeline.py)

-- name: staging_load_settings
-- Set for the load only (staging_load_finished resets it). Batches may be appended out of row order:
-- ~15 % less CPU for the append, and nothing reads staging's physical order (every row carries
-- source_file / source_row, and every query that needs an order says so).
SET preserve_insertion_order = false;

-- name: staging_load_finished
-- The load's setting undone: the run's connection goes on to the cohort, rules and reports, whose
-- results must not depend on the order DuckDB happens to produce rows in.
RESET preserve_insertion_order;

-- name: staging_insert
-- Appends one validated table, handed over as Arrow (the local name `incoming`), by column name.
INSERT INTO staging.{table} BY NAME SELECT * FROM incoming;

-- name: keep_candidate_rows
-- After the load: only the rows of candidate patients exactly (load/candidate_patients.sql).
DELETE FROM staging.{table} WHERE patient_id NOT IN (SELECT patient_id FROM candidate_patients);

-- name: lab_unit_tally_insert
-- One validated labs batch (staging form, the local name `incoming`), every patient's, counted into
-- work.lab_unit_tally (load/work_tables.sql) for the lab-unit checks.
INSERT INTO work.lab_unit_tally
SELECT l.code_system, l.code, l.unit, l.value_numeric IS NOT NULL, l.ref_low, count(*)
FROM incoming AS l
WHERE EXISTS (SELECT 1 FROM ref.value_sets AS v
              WHERE v.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB') AND v.code_system = l.code_system
                AND v.code = l.code)
GROUP BY ALL;

-- name: work_append
-- Appends rows (Arrow, the local name `incoming`) to a work table that has no run id, by column name.
INSERT INTO work.{table} BY NAME SELECT * FROM incoming;

-- name: work_insert
-- Appends rows of this run (Arrow, the local name `incoming`) to a work table, tagged with the run id.
INSERT INTO work.{table} BY NAME SELECT $run_id AS run_id, * FROM incoming;

-- name: ref_table_from_csv
-- One shipped value-set CSV as a ref.* table, every column read as text (codes such as 0123 keep their zeros).
CREATE SCHEMA IF NOT EXISTS ref;
CREATE OR REPLACE TABLE ref.{table} AS
SELECT * FROM read_csv($path, header = true, all_varchar = true, quote = '"', escape = '"');

-- name: ref_column_as_double
-- Types a ref.* column that holds numbers (read as text by ref_table_from_csv) as DOUBLE.
ALTER TABLE ref.{table} ALTER COLUMN {column} SET DATA TYPE DOUBLE;

-- name: copy_shard_table
-- One table of a shard's database (attached as {alias}) appended to the run's (cramp_audit/shards.py).
INSERT INTO {schema}.{table} SELECT * FROM {alias}.{schema}.{table};

-- name: table_exists
-- 1 when the table schema_name.table_name exists in the database, else 0.
SELECT count(*) FROM duckdb_tables() WHERE schema_name = $schema_name AND table_name = $table_name;

-- name: latest_date
-- The latest date in the extract (rules.md: the default audit period is the 365 days that end on
-- it): the greatest event date of the whole extract's validated rows, gathered by the load into
-- work.event_dates (which dates are events: schemas/spec.py Table.event_dates). NULL when the
-- extract holds no dates.
SELECT max(latest_date) AS latest_date FROM work.event_dates;

-- ---------------------------------------------------------------- the rules engine (cramp_audit/rules_engine.py)

-- name: engine_insert
-- Appends rows the rules engine built in Python (Arrow, registered as `engine_rows`) to a work table, by column name.
INSERT INTO work.{table} BY NAME SELECT * FROM engine_rows;

-- name: loaded_tables
-- The source tables of which this run's load kept at least one row (schemas/spec.py unusable_tables:
-- an absent, empty or wholly rejected optional table counts as missing).
SELECT table_name FROM work.table_counts GROUP BY table_name HAVING sum(rows_loaded) > 0;

-- name: deviation_reason_codes
-- Each rule's deviation rows per reason code (the engine checks each code against the rule's header).
SELECT rule_id, reason_code, count(*) FROM work.rule_roles WHERE role = 'deviation' GROUP BY ALL;

-- name: rule_roles
-- Runs one rule file's SELECT (its text goes in place of rule_select) and appends its rows to work.rule_roles.
INSERT INTO work.rule_roles SELECT $rule_id AS rule_id, * FROM (
{rule_select}
) AS r;
