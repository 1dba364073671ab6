-- The run's data-quality row for magnesium / potassium results whose unit cannot be converted to
-- mmol/L (rules.md: such a value is not used, and the run counts it); made by derive_labs.sql.
INSERT INTO work.data_quality BY NAME SELECT $run_id AS run_id, * FROM work.lab_unit_check;
