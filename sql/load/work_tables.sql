-- The load's own work tables (not published): what only the whole extract knows, gathered batch by
-- batch while staging.* keeps the candidate patients' rows only (outputs.md, staging.*).
-- work.event_dates: per table, the latest event date of its validated rows (schemas/spec.py
-- Table.event_dates): the greatest of them is where the default audit period ends.
CREATE OR REPLACE TABLE work.event_dates (table_name VARCHAR, latest_date DATE);
-- work.lab_unit_tally: the validated magnesium / potassium results of every patient, counted by
-- code, unit as given, whether the value is numeric, and ref_low: the run's lab-unit checks
-- (prepare/derive_labs.sql) are over the whole extract, not only the patients staging keeps.
CREATE OR REPLACE TABLE work.lab_unit_tally (
    code_system VARCHAR, code VARCHAR, unit VARCHAR, has_value BOOLEAN, ref_low DOUBLE, rows BIGINT);
