-- staging.*: the validated canonical tables of the latest load (outputs.md).
-- Codes are normalised (upper case; ICD codes without the dot); source_file/source_row point
-- back to the extract row, so evidence and quarantine rows can be traced to the file.
CREATE SCHEMA IF NOT EXISTS staging;

CREATE TABLE IF NOT EXISTS staging.patients (
    patient_id VARCHAR NOT NULL, birth_date DATE NOT NULL, sex VARCHAR, death_date DATE, site_id VARCHAR,
    source_file VARCHAR, source_row BIGINT);

CREATE TABLE IF NOT EXISTS staging.encounters (
    encounter_id VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, start_date DATE NOT NULL, end_date DATE,
    encounter_class VARCHAR, site_id VARCHAR, provider_id VARCHAR,
    source_file VARCHAR, source_row BIGINT);

CREATE TABLE IF NOT EXISTS staging.diagnoses (
    patient_id VARCHAR NOT NULL, encounter_id VARCHAR, code_system VARCHAR NOT NULL, code VARCHAR NOT NULL,
    description VARCHAR, recorded_date DATE NOT NULL, resolved_date DATE,
    source_file VARCHAR, source_row BIGINT);

CREATE TABLE IF NOT EXISTS staging.medications (
    order_id VARCHAR NOT NULL, patient_id VARCHAR NOT NULL, encounter_id VARCHAR,
    code_system VARCHAR NOT NULL, code VARCHAR NOT NULL, description VARCHAR,
    start_date DATE NOT NULL, end_date DATE, dose_value DOUBLE, dose_unit VARCHAR,
    frequency_per_day DOUBLE, route VARCHAR, prescriber_id VARCHAR, status VARCHAR,
    daily_dose DOUBLE,            -- dose_value * frequency_per_day, in dose_unit; null when either is unknown
    source_file VARCHAR, source_row BIGINT);

CREATE TABLE IF NOT EXISTS staging.labs (
    patient_id VARCHAR NOT NULL, encounter_id VARCHAR, code_system VARCHAR NOT NULL, code VARCHAR NOT NULL,
    description VARCHAR, collected_date DATE NOT NULL, value_numeric DOUBLE, value_text VARCHAR,
    unit VARCHAR, ref_low DOUBLE, ref_high DOUBLE,
    source_file VARCHAR, source_row BIGINT);
-- Staging holds the rows as loaded; derived values live in work.* (work.lab_values: prepare/derive_labs.sql).
-- A database written before that kept value_mmol here.
ALTER TABLE staging.labs DROP COLUMN IF EXISTS value_mmol;

CREATE TABLE IF NOT EXISTS staging.procedures (
    patient_id VARCHAR NOT NULL, encounter_id VARCHAR, code_system VARCHAR NOT NULL, code VARCHAR NOT NULL,
    description VARCHAR, performed_date DATE NOT NULL,
    source_file VARCHAR, source_row BIGINT);
