-- work.med_matches: one row per (usable order of a cohort patient, drug value set it belongs to),
-- with the order's columns the rules need, built once per run (after cohort.sql) so rules join this
-- small table instead of rescanning staging.medications.
--
-- rules.md / extract-format.md, and the choices made here:
-- * Orders with status cancelled or entered-in-error are ignored by every rule: dropped here, once.
-- * By code: (code_system, code) is a member of the value set (ref.value_sets; RxNorm ingredient,
--   precise ingredient or a listed clinical drug).
-- * By description, only when the code is not a known code of any value set (not in ref.value_sets
--   nor in ref.value_set_exclusions): NDC and LOCAL codes, RxCUIs outside our lists (branded drugs,
--   other releases). The lower-cased description (whitespace collapsed) must contain an include
--   pattern of ref.drug_names as whole words. Patterns are salt / ingredient names, never a bare
--   "magnesium" or "potassium" (losartan potassium, esomeprazole magnesium are not supplements).
-- * Exclude patterns of ref.drug_names (milk of magnesia, magnesium citrate oral solution,
--   intrathecal baclofen ...) reject a match however it was made: the guideline's "never" wins
--   over a generic ingredient code such as 6574 "Magnesium".
-- * MAGNESIUM_OXIDE (LC-MG-DOSE) is the subset of MAGNESIUM_SUPPLEMENT matches whose code is
--   magnesium oxide (6582, or a member SCD whose display says magnesium oxide) or whose
--   description says magnesium oxide (ref.drug_names MAGNESIUM_OXIDE).
-- * label: the order's description, else the matched code's display (for explanations).
-- * daily_dose_mg: the daily dose converted to mg where ref.unit_conversions has a factor for the
--   value set and the dose unit (magnesium oxide, baclofen); NULL = unknown daily dose.
--
-- Speed: patterns are applied once per distinct (description, route) text, never per order, and
-- as constant regular expressions (a pattern read from a column is recompiled on every row): the
-- per-value-set SELECTs are written from ref.drug_names into a variable and run with query().

-- Raw description / route are the join keys (NULL as ''), normalised only per distinct text.
CREATE OR REPLACE TEMP VIEW usable_orders AS
SELECT order_id, code_system, code, coalesce(description, '') AS description_raw, coalesce(route, '') AS route_raw
FROM staging.medications
WHERE lower(trim(coalesce(status, ''))) NOT IN ('cancelled', 'entered-in-error')
  AND patient_id IN (SELECT patient_id FROM work.cohort);

CREATE OR REPLACE TEMP TABLE order_texts AS
SELECT description_raw, route_raw,
       regexp_replace(lower(trim(description_raw)), '\s+', ' ', 'g') AS description_norm,
       lower(trim(route_raw)) AS route_norm
FROM (SELECT DISTINCT description_raw, route_raw FROM usable_orders);

-- One SELECT per value set with its patterns inlined as constants:
--   description_raw, route_raw, value_set, include_hit, excluded
SET VARIABLE drug_text_sql = (
    WITH patterns AS (
        SELECT value_set,
               '\b(?:' || string_agg('(?:' || pattern || ')', '|' ORDER BY pattern)
                          FILTER (WHERE kind = 'include' AND field = 'description') || ')\b' AS include_re,
               '\b(?:' || string_agg('(?:' || pattern || ')', '|' ORDER BY pattern)
                          FILTER (WHERE kind = 'exclude' AND field = 'description') || ')\b' AS exclude_re,
               '\b(?:' || string_agg('(?:' || pattern || ')', '|' ORDER BY pattern)
                          FILTER (WHERE kind = 'exclude' AND field = 'route') || ')\b' AS route_exclude_re
        FROM ref.drug_names
        GROUP BY value_set
    )
    SELECT string_agg(
        'SELECT description_raw, route_raw, ''' || value_set || ''' AS value_set, '
        || coalesce('regexp_matches(description_norm, ''' || replace(include_re, '''', '''''') || ''')', 'false')
        || ' AS include_hit, '
        || coalesce('regexp_matches(description_norm, ''' || replace(exclude_re, '''', '''''') || ''')', 'false')
        || ' OR '
        || coalesce('regexp_matches(route_norm, ''' || replace(route_exclude_re, '''', '''''') || ''')', 'false')
        || ' AS excluded FROM order_texts',
        ' UNION ALL ' ORDER BY value_set)
    FROM patterns
);

CREATE OR REPLACE TEMP TABLE text_verdicts AS
SELECT * FROM query(getvariable('drug_text_sql'))
WHERE include_hit OR excluded;

CREATE OR REPLACE TEMP TABLE known_codes AS
SELECT code_system, code FROM ref.value_sets
UNION
SELECT code_system, code FROM ref.value_set_exclusions;

CREATE OR REPLACE TEMP TABLE med_candidates AS
WITH by_code AS (
    SELECT o.order_id, v.value_set, 'code' AS matched_by, o.description_raw, o.route_raw
    FROM usable_orders AS o
    JOIN ref.value_sets AS v ON v.code_system = o.code_system AND v.code = o.code
),
by_description AS (
    SELECT o.order_id, t.value_set, 'description' AS matched_by, o.description_raw, o.route_raw
    FROM usable_orders AS o
    ANTI JOIN known_codes AS k ON k.code_system = o.code_system AND k.code = o.code
    JOIN text_verdicts AS t
      ON t.description_raw = o.description_raw AND t.route_raw = o.route_raw AND t.include_hit
    WHERE t.value_set <> 'MAGNESIUM_OXIDE'  -- a subset of MAGNESIUM_SUPPLEMENT, derived below
),
candidates AS (
    SELECT * FROM by_code
    UNION ALL
    SELECT * FROM by_description
)
SELECT c.*,
       -- MAGNESIUM_OXIDE's own description verdict (used only to derive the subset)
       coalesce(mgo.include_hit, false) AS says_magnesium_oxide
FROM candidates AS c
LEFT JOIN text_verdicts AS x
       ON x.value_set = c.value_set AND x.description_raw = c.description_raw AND x.route_raw = c.route_raw
LEFT JOIN text_verdicts AS mgo
       ON mgo.value_set = 'MAGNESIUM_OXIDE' AND mgo.description_raw = c.description_raw
      AND mgo.route_raw = c.route_raw
WHERE NOT coalesce(x.excluded, false);

CREATE OR REPLACE TABLE work.med_matches AS
WITH magnesium_oxide_codes AS (
    SELECT code_system, code FROM ref.value_sets
    WHERE value_set = 'MAGNESIUM_SUPPLEMENT' AND display ILIKE '%magnesium oxide%'
),
with_orders AS (
    SELECT c.value_set, c.matched_by, c.says_magnesium_oxide, m.*,
           -- what a clinician reads: the order's description, else the code's display without its
           -- [SCD]-style term type, else the value set's name
           coalesce(nullif(trim(m.description), ''), regexp_replace(v.display, '\s*\[[A-Z]+\]\s*$', ''),
                    lower(replace(c.value_set, '_', ' '))) AS label
    FROM med_candidates AS c
    JOIN staging.medications AS m USING (order_id)
    LEFT JOIN ref.value_sets AS v ON v.value_set = c.value_set AND v.code_system = m.code_system AND v.code = m.code
),
all_matches AS (
    SELECT * FROM with_orders
    UNION ALL
    SELECT 'MAGNESIUM_OXIDE' AS value_set, w.* EXCLUDE (value_set)
    FROM with_orders AS w
    WHERE w.value_set = 'MAGNESIUM_SUPPLEMENT'
      AND (w.says_magnesium_oxide
           OR EXISTS (SELECT 1 FROM magnesium_oxide_codes AS x WHERE x.code_system = w.code_system AND x.code = w.code))
)
SELECT m.order_id, m.patient_id, m.value_set, m.matched_by, m.code_system, m.code, m.description,
       upper(left(m.label, 1)) || substr(m.label, 2) AS label,
       m.start_date, m.end_date, m.dose_value, m.dose_unit, m.frequency_per_day, m.daily_dose,
       m.daily_dose * u.factor AS daily_dose_mg,
       nullif(lower(trim(m.route)), '') AS route, m.status, m.source_file, m.source_row
FROM all_matches AS m
LEFT JOIN ref.unit_conversions AS u
       ON u.applies_to = m.value_set AND u.target_unit = 'mg' AND lower(trim(u.unit)) = lower(trim(m.dose_unit));

DROP VIEW usable_orders;
DROP TABLE order_texts;
DROP TABLE text_verdicts;
DROP TABLE known_codes;
DROP TABLE med_candidates;
