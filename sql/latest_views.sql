-- audit.latest_*: the newest succeeded run of each audit table (outputs.md).
CREATE OR REPLACE VIEW audit.latest_run AS
    SELECT * FROM audit.runs WHERE status = 'succeeded' ORDER BY finished_at DESC, run_id DESC LIMIT 1;
CREATE OR REPLACE VIEW audit.latest_rules AS
    SELECT t.* FROM audit.rules t JOIN audit.latest_run r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_cohort AS
    SELECT t.* FROM audit.cohort t JOIN audit.latest_run r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_cohort_attrition AS
    SELECT t.* FROM audit.cohort_attrition t JOIN audit.latest_run r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_patient_rules AS
    SELECT t.* FROM audit.patient_rules t JOIN audit.latest_run r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_rule_results AS
    SELECT t.* FROM audit.rule_results t JOIN audit.latest_run r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_deviations AS
    SELECT t.* FROM audit.deviations t JOIN audit.latest_run r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_quarantine AS
    SELECT t.* FROM audit.quarantine t JOIN audit.latest_run r USING (run_id);
CREATE OR REPLACE VIEW audit.latest_data_quality AS
    SELECT t.* FROM audit.data_quality t JOIN audit.latest_run r USING (run_id);
