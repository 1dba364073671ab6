-- The run's data-quality rows for magnesium / potassium results whose unit cannot be converted to
-- mmol/L (rules.md: such a value is not used, and the run counts it) and whose ref_low is not
-- plausible for its unit (rules-v2.md); made by derive_labs.sql.
-- Not when the load kept no lab row (the labs file absent, empty or wholly rejected): the check
-- would pass on no rows at all. Replaced, not added, when a connection evaluates again.
DELETE FROM work.data_quality WHERE table_name = 'labs' AND check_name IN (SELECT check_name FROM work.lab_unit_check);
INSERT INTO work.data_quality BY NAME
SELECT getvariable('run_id')::VARCHAR AS run_id, *
FROM work.lab_unit_check
WHERE (SELECT coalesce(sum(rows_loaded), 0) FROM work.table_counts WHERE table_name = 'labs') > 0;
