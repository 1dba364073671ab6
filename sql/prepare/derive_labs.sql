-- work.lab_values: staging.labs rows of value-set codes (staging is left as loaded) with value_mmol,
-- the magnesium and potassium results in mmol/L (rules.md), for rows whose (code_system, code) is
-- in MAGNESIUM_LAB or POTASSIUM_LAB. Factors are data (sql/valuesets/unit_conversions.csv: mg/dL
-- x 0.4114, magnesium mEq/L / 2, potassium mEq/L = mmol/L); units compare case-insensitively. A
-- result whose unit has no factor keeps value_mmol NULL: it is not used by any rule, and
-- work.lab_unit_unknown counts it for the run's data-quality report. The rules read labs through
-- work.lab_matches (match_records.sql).
-- Needs ref.value_sets and ref.unit_conversions (cramp_audit.valuesets.load_value_sets).
CREATE OR REPLACE TEMP TABLE lab_factors AS
SELECT v.code_system, v.code, v.value_set, lower(trim(c.unit)) AS unit_key, c.factor
FROM ref.value_sets AS v
JOIN ref.unit_conversions AS c ON c.applies_to = v.value_set
WHERE v.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB')
-- one factor per code and unit (as the UPDATE this replaces took one)
QUALIFY row_number() OVER (PARTITION BY v.code_system, v.code, lower(trim(c.unit)) ORDER BY v.value_set) = 1;
-- Only results whose code is in some value set: no rule reads any other (match_records.sql joins
-- ref.value_sets too), and staging keeps them all.
CREATE OR REPLACE TABLE work.lab_values AS
SELECT l.*, CASE WHEN l.value_numeric IS NOT NULL THEN l.value_numeric * f.factor END AS value_mmol
FROM staging.labs AS l
LEFT JOIN lab_factors AS f
       ON f.code_system = l.code_system AND f.code = l.code AND f.unit_key = lower(trim(l.unit))
WHERE EXISTS (SELECT 1 FROM ref.value_sets AS v WHERE v.code_system = l.code_system AND v.code = l.code);
-- The lab-unit checks are over every patient's results (work.lab_unit_tally, counted by the load),
-- not only the candidates' rows staging keeps.
CREATE OR REPLACE TEMP TABLE lab_unit_rows AS
SELECT v.value_set, t.unit, t.has_value, t.ref_low, f.factor, sum(t.rows)::BIGINT AS rows
FROM work.lab_unit_tally AS t
JOIN ref.value_sets AS v ON v.code_system = t.code_system AND v.code = t.code
LEFT JOIN lab_factors AS f
       ON f.code_system = t.code_system AND f.code = t.code AND f.unit_key = lower(trim(t.unit))
WHERE v.value_set IN ('MAGNESIUM_LAB', 'POTASSIUM_LAB')
GROUP BY ALL;
DROP TABLE lab_factors;
-- Numeric magnesium / potassium results that could not be converted, by value set and unit as given.
CREATE OR REPLACE TABLE work.lab_unit_unknown AS
SELECT value_set, unit, sum(rows)::BIGINT AS rows
FROM lab_unit_rows
WHERE has_value AND factor IS NULL
GROUP BY ALL
ORDER BY ALL;
-- The same as data-quality style rows (lab_unit_quality.sql adds them to the run's work.data_quality).
CREATE OR REPLACE TABLE work.lab_unit_check AS
SELECT 'labs' AS table_name, 'magnesium_potassium_unit_known' AS check_name,
       coalesce(sum(rows), 0)::BIGINT AS rows_checked,
       coalesce(sum(rows) FILTER (WHERE factor IS NULL), 0)::BIGINT AS rows_failed,
       coalesce(sum(rows) FILTER (WHERE factor IS NULL), 0) = 0 AS passed
FROM lab_unit_rows
WHERE has_value
UNION ALL
-- rules-v2.md: a ref_low outside the plausible range for its unit is not used (the default applies)
-- and the run counts it.
SELECT 'labs', 'ref_low_plausible', coalesce(sum(l.rows), 0),
       coalesce(sum(l.rows) FILTER (WHERE l.ref_low NOT BETWEEN t.ref_low_min AND t.ref_low_max), 0),
       coalesce(sum(l.rows) FILTER (WHERE l.ref_low NOT BETWEEN t.ref_low_min AND t.ref_low_max), 0) = 0
FROM lab_unit_rows AS l
JOIN ref.lab_thresholds AS t ON t.applies_to = l.value_set AND lower(t.unit) = lower(trim(l.unit))
WHERE l.ref_low IS NOT NULL;
DROP TABLE lab_unit_rows;
