-- audit.*: append-only results keyed by run_id (outputs.md). Rows of a run are published in one
-- transaction at its end; only audit.runs is written earlier (status 'running', then final).
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE IF NOT EXISTS audit.runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP,
    status VARCHAR,               -- running | succeeded | failed
    source_path VARCHAR, source_format VARCHAR, source_checksum VARCHAR,
    period_start DATE, period_end DATE, rule_pack_version VARCHAR, value_sets_checksum VARCHAR,
    parameters JSON, code_version VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, rows_repaired BIGINT, rows_skipped BIGINT,
    extract_date DATE, error VARCHAR);

CREATE TABLE IF NOT EXISTS audit.rules (
    run_id VARCHAR, rule_id VARCHAR, title VARCHAR, severity VARCHAR, guideline_statement VARCHAR);

CREATE TABLE IF NOT EXISTS audit.cohort (
    run_id VARCHAR, patient_id VARCHAR, index_date DATE, age_at_index INTEGER, sex VARCHAR, site_id VARCHAR,
    followup_end DATE);

CREATE TABLE IF NOT EXISTS audit.cohort_attrition (
    run_id VARCHAR, step_number INTEGER, step VARCHAR, patients BIGINT);

CREATE TABLE IF NOT EXISTS audit.patient_rules (
    run_id VARCHAR, rule_id VARCHAR, patient_id VARCHAR, status VARCHAR, reason VARCHAR);

CREATE TABLE IF NOT EXISTS audit.rule_results (
    run_id VARCHAR, rule_id VARCHAR, denominator BIGINT, exclusions BIGINT, not_evaluable BIGINT,
    deviations BIGINT, deviation_rate DOUBLE, previous_deviation_rate DOUBLE);

CREATE TABLE IF NOT EXISTS audit.deviations (
    run_id VARCHAR, rule_id VARCHAR, patient_id VARCHAR, event_date DATE, severity VARCHAR,
    explanation VARCHAR, evidence JSON);

CREATE TABLE IF NOT EXISTS audit.quarantine (
    run_id VARCHAR, table_name VARCHAR, source_file VARCHAR, source_row BIGINT, action VARCHAR,
    field VARCHAR, reason VARCHAR, record JSON,
    check_name VARCHAR);          -- stable id of the failed check, e.g. "end_date:before_start"

CREATE TABLE IF NOT EXISTS audit.data_quality (
    run_id VARCHAR, table_name VARCHAR, check_name VARCHAR, rows_checked BIGINT, rows_failed BIGINT,
    passed BOOLEAN);

-- Per source table: rows read = loaded + rejected + deliberately skipped (adapters count skips).
CREATE TABLE IF NOT EXISTS audit.table_counts (
    run_id VARCHAR, table_name VARCHAR, source_table VARCHAR, rows_read BIGINT, rows_loaded BIGINT,
    rows_rejected BIGINT, rows_repaired BIGINT, rows_skipped BIGINT, skip_reason VARCHAR);

-- Columns added since the first release: by ALTER, so a database created by an earlier version gains
-- them on its next run, and old and new databases have the same columns in the same order.
-- sha256 over the rule files and the shared SQL they run on (rules_engine.rule_pack_checksum).
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS rule_pack_checksum VARCHAR;
-- The optional extract tables each rule needs (its `requires:` header); work.rules has it too.
ALTER TABLE audit.rules ADD COLUMN IF NOT EXISTS requires VARCHAR[];
-- rules-v2.md: each index diagnosis labelled leg-specific or general.
ALTER TABLE audit.cohort ADD COLUMN IF NOT EXISTS index_code_kind VARCHAR;
-- Issue 13: each deviation's fixed reason code (from its rule's `reason_codes:` header).
ALTER TABLE audit.deviations ADD COLUMN IF NOT EXISTS reason_code VARCHAR;
-- The latest event date in the extract's data (sql/period.sql), where the default period ends;
-- extract_date is the date the source says it was extracted, else the run's date.
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS latest_data_date DATE;
-- Rule × stratum counts (site, sex, age band at index; decide/strata.sql), the decider's like rule_results.
CREATE TABLE IF NOT EXISTS audit.rule_strata (
    run_id VARCHAR, rule_id VARCHAR, stratum VARCHAR, value VARCHAR, denominator BIGINT, exclusions BIGINT,
    not_evaluable BIGINT, deviations BIGINT, deviation_rate DOUBLE);
-- new / persisting / resolved per patient and rule against the previous succeeded run on the source
-- (decide/deviation_changes.sql).
CREATE TABLE IF NOT EXISTS audit.deviation_changes (
    run_id VARCHAR, rule_id VARCHAR, patient_id VARCHAR, change VARCHAR, previous_run_id VARCHAR,
    status VARCHAR, previous_status VARCHAR);
-- audit.latest_runs: the newest succeeded run of each source (source_path). audit.latest_<table> of
-- every published table (sql/manifest.toml) is made from it (statements.sql: latest_view).
DROP VIEW IF EXISTS audit.latest_run;  -- the name before it followed its table's (audit.runs)
CREATE OR REPLACE VIEW audit.latest_runs AS
    SELECT * FROM runs WHERE status = 'succeeded'
    QUALIFY row_number() OVER (PARTITION BY source_path ORDER BY finished_at DESC, run_id DESC) = 1;
-- A sharded run (`--shards N`): how many shards, and the Dask cluster they ran on ("local" for one this
-- run started); a single run has 1 and no cluster.
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS shards INTEGER;
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS cluster VARCHAR;
