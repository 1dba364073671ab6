-- staging.labs.value_mmol: magnesium and potassium results in mmol/L (rules.md), for rows whose
-- (code_system, code) is in MAGNESIUM_LAB or POTASSIUM_LAB. Factors are data
-- (sql/valuesets/unit_conversions.csv: mg/dL x 0.4114, magnesium mEq/L / 2, potassium mEq/L = mmol/L);
-- units compare case-insensitively. A result whose unit has no factor keeps value_mmol NULL: it
-- is not used by any rule, and work.lab_unit_unknown counts it for the run's data-quality report.
-- Needs ref.value_sets and ref.unit_conversions (cramp_audit.valuesets.load_value_sets).
CREATE SCHEMA IF NOT EXISTS work;

UPDATE staging.labs SET value_mmol = NULL WHERE value_mmol IS NOT NULL;  -- idempotent on a reload

UPDATE staging.labs AS l
SET value_mmol = l.value_numeric * c.factor
FROM ref.value_sets AS v, ref.unit_conversions AS c
WHERE v.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB')
  AND v.code_system = l.code_system AND v.code = l.code
  AND c.applies_to = v.value_set
  AND lower(trim(c.unit)) = lower(trim(l.unit))
  AND l.value_numeric IS NOT NULL;

-- Numeric magnesium / potassium results that could not be converted, by value set and unit as given.
CREATE OR REPLACE TABLE work.lab_unit_unknown AS
SELECT v.value_set, l.unit, count(*) AS rows
FROM staging.labs AS l
JOIN ref.value_sets AS v ON v.code_system = l.code_system AND v.code = l.code
WHERE v.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB')
  AND l.value_numeric IS NOT NULL AND l.value_mmol IS NULL
GROUP BY ALL
ORDER BY ALL;

-- The same as one data-quality style row (the run adds its run_id when it publishes it).
CREATE OR REPLACE TABLE work.lab_unit_check AS
SELECT 'labs' AS table_name, 'magnesium_potassium_unit_known' AS check_name,
       count(*) AS rows_checked,
       count(*) FILTER (WHERE l.value_mmol IS NULL) AS rows_failed,
       count(*) FILTER (WHERE l.value_mmol IS NULL) = 0 AS passed
FROM staging.labs AS l
JOIN ref.value_sets AS v ON v.code_system = l.code_system AND v.code = l.code
WHERE v.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB') AND l.value_numeric IS NOT NULL
UNION ALL
-- rules-v2.md: a ref_low outside the plausible range for its unit is not used (the default applies)
-- and the run counts it.
SELECT 'labs', 'ref_low_plausible', count(*),
       count(*) FILTER (WHERE l.ref_low NOT BETWEEN t.ref_low_min AND t.ref_low_max),
       count(*) FILTER (WHERE l.ref_low NOT BETWEEN t.ref_low_min AND t.ref_low_max) = 0
FROM staging.labs AS l
JOIN ref.value_sets AS v ON v.code_system = l.code_system AND v.code = l.code
JOIN ref.lab_thresholds AS t ON t.applies_to = v.value_set AND lower(t.unit) = lower(trim(l.unit))
WHERE v.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB') AND l.ref_low IS NOT NULL;
