-- audit.latest_<table>: the rows of the newest succeeded run of each source (source_path), one
-- view per audit table (outputs.md), named after the table it shows. A FHIR run does not hide the
-- canonical extract's results: each view names the source in its second column, source_path.
-- Bodies name tables without their schema so the views work however the file is opened (see
-- cramp_audit/db.py).
DROP VIEW IF EXISTS audit.latest_run;  -- the name before it followed its table's (audit.runs)
CREATE OR REPLACE VIEW audit.latest_runs AS
    SELECT * FROM runs WHERE status = 'succeeded'
    QUALIFY row_number() OVER (PARTITION BY source_path ORDER BY finished_at DESC, run_id DESC) = 1;
CREATE OR REPLACE VIEW audit.latest_rules AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM rules t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_cohort AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM cohort t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_cohort_attrition AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM cohort_attrition t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_patient_rules AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM patient_rules t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_rule_results AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM rule_results t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_deviations AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM deviations t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_quarantine AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM quarantine t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_data_quality AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM data_quality t JOIN latest_runs r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_table_counts AS
    SELECT t.run_id, r.source_path, t.* EXCLUDE (run_id) FROM table_counts t JOIN latest_runs r USING (run_id);
