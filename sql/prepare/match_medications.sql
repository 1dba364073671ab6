-- work.med_matches: one row per (usable order of a cohort patient, drug value set it belongs to),
-- with the order's columns the rules need, built once per run (after cohort.sql) so rules join this
-- small table instead of rescanning staging.medications.
--
-- rules.md / extract-format.md, and the choices made here:
-- * Orders whose status ref.order_statuses marks as not counting (cancelled, entered-in-error, draft:
--   extract-format.md and rules-v2.md; validation has already mapped the synonyms Canceled, entered
--   in error, error ... to these tokens) are ignored by every rule: dropped here, once. An order
--   with no usable status counts, and its status reads 'status unknown'.
-- * active_until (rules-v2.md "Active on a date"): the end date, else start + closed_order_days for
--   completed / stopped orders, else start + open_order_max_days.
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
-- * Route (rules-v2.md): the recorded route read through ref.routes (spellings and codes: "Oral route",
--   PO, PO/NG, oral use, IV ...) or a route name itself -> route_name -> ref.route_groups route_group;
--   a recorded route the map does not know is 'unmapped' (no group). A missing route is taken from the
--   dose form named by the description, else the code's display (ref.dose_forms, lowest priority
--   first); route_source says which ('recorded' / 'dose form'; NULL = no route at all). `route` stays
--   as recorded (lower case) for the evidence.
-- * daily_dose_mg: the daily dose in mg: by ref.unit_conversions for the value set (magnesium oxide
--   mmol / mEq, baclofen) or any drug (mg, g, gm), else for a dose in tablets / capsules
--   (ref.dose_form_units) x the single strength the description names; NULL = unknown.
--   day_dose_mg sums the orders of one value set starting on the same day (unknown when any is).
-- * drug_key: the drug's name without strength and form, for "same drug" comparisons.

-- Speed: patterns are applied once per distinct (description, route) text, never per order, and
-- as constant regular expressions (a pattern read from a column is recompiled on every row): the
-- per-value-set SELECTs are written from ref.drug_names into a variable and run with query().

-- Raw description / route are the join keys (NULL as ''), normalised only per distinct text.
CREATE OR REPLACE TEMP VIEW usable_orders AS
SELECT order_id, code_system, code, coalesce(description, '') AS description_raw, coalesce(route, '') AS route_raw
FROM staging.medications
WHERE (status IS NULL OR status NOT IN (SELECT status FROM ref.order_statuses WHERE counts = 'false'))
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

CREATE OR REPLACE TEMP TABLE matched_orders AS
WITH magnesium_oxide_codes AS (
    SELECT code_system, code FROM ref.value_sets
    WHERE value_set = 'MAGNESIUM_SUPPLEMENT' AND display ILIKE '%magnesium oxide%'
),
with_orders AS (
    SELECT c.value_set, c.matched_by, c.says_magnesium_oxide, m.*,
           -- what a clinician reads: the order's description, else the code's display without its
           -- [SCD]-style term type, else the value set's name
           coalesce(nullif(trim(m.description), ''), regexp_replace(v.display, '\s*\[[A-Z]+\]\s*$', ''),
                    lower(replace(c.value_set, '_', ' '))) AS label,
           -- the text that names dose form and strength: the description, else the code's display
           coalesce(nullif(trim(m.description), ''), v.display, '') AS form_text
    FROM med_candidates AS c
    JOIN staging.medications AS m USING (order_id)
    LEFT JOIN ref.value_sets AS v ON v.value_set = c.value_set AND v.code_system = m.code_system AND v.code = m.code
)
SELECT * FROM with_orders
UNION ALL
SELECT 'MAGNESIUM_OXIDE' AS value_set, w.* EXCLUDE (value_set)
FROM with_orders AS w
WHERE w.value_set = 'MAGNESIUM_SUPPLEMENT'
  AND (w.says_magnesium_oxide
       OR EXISTS (SELECT 1 FROM magnesium_oxide_codes AS x WHERE x.code_system = w.code_system AND x.code = w.code));

-- Per distinct form text (rules-v2.md "Route", "Daily dose"): the route its dose form names (the
-- lowest-priority dose_forms.csv term found as whole words) and the single strength in mg it names
-- ("magnesium oxide 400 MG Oral Tablet" -> 400; none for "500 MG/ML" or two strengths).
CREATE OR REPLACE TEMP TABLE form_facts AS
WITH texts AS (
    SELECT form_text, ' ' || regexp_replace(lower(form_text), '[^a-z0-9]+', ' ', 'g') || ' ' AS words,
           regexp_extract_all(lower(form_text), '[0-9]+(?:\.[0-9]+)?\s*(?:mg|g|mcg|meq|mmol)\b') AS strengths,
           regexp_matches(lower(form_text), '[0-9]+(?:\.[0-9]+)?\s*(?:mg|g|mcg|meq|mmol|ml|unt)\s*/') AS per_volume
    FROM (SELECT DISTINCT form_text FROM matched_orders)
),
forms AS (
    SELECT t.form_text, arg_min(f.route, f.priority) AS form_route
    FROM texts AS t
    JOIN ref.dose_forms AS f
      ON contains(t.words, ' ' || trim(regexp_replace(lower(f.term), '[^a-z0-9]+', ' ', 'g')) || ' ')
    GROUP BY t.form_text
)
SELECT t.form_text, f.form_route,
       CASE WHEN len(t.strengths) = 1 AND NOT t.per_volume
            THEN try_cast(regexp_extract(t.strengths[1], '^([0-9.]+)\s*(mg|g)$', 1) AS DOUBLE)
                 * CASE regexp_extract(t.strengths[1], '^([0-9.]+)\s*(mg|g)$', 2) WHEN 'mg' THEN 1 WHEN 'g' THEN 1000 END
       END AS strength_mg
FROM texts AS t
LEFT JOIN forms AS f USING (form_text);

-- The route as recorded, read through the route map (routes.csv spellings and codes, or a route
-- name itself); a missing route is taken from the dose form (rules-v2.md).
CREATE OR REPLACE TEMP TABLE route_texts AS
SELECT route_raw, coalesce(r.route, g.route) AS mapped_route
FROM (SELECT DISTINCT coalesce(route, '') AS route_raw FROM matched_orders) AS o
LEFT JOIN (SELECT lower(trim(spelling)) AS spelling, any_value(route) AS route FROM ref.routes GROUP BY 1) AS r
       ON r.spelling = lower(trim(o.route_raw))
LEFT JOIN (SELECT DISTINCT route FROM ref.route_groups) AS g ON g.route = lower(trim(o.route_raw));

CREATE OR REPLACE TABLE work.med_matches AS
WITH routed AS (
    SELECT m.*, f.strength_mg,
           CASE WHEN nullif(trim(m.route), '') IS NOT NULL THEN coalesce(rt.mapped_route, 'unmapped')
                ELSE f.form_route END AS route_name,
           CASE WHEN nullif(trim(m.route), '') IS NOT NULL THEN 'recorded'
                WHEN f.form_route IS NOT NULL THEN 'dose form' END AS route_source,
           coalesce(u.factor, a.factor) AS mg_factor, fu.forms_per_unit,
           coalesce(s.closed, 'false') = 'true' AS closed_status
    FROM matched_orders AS m
    LEFT JOIN form_facts AS f USING (form_text)
    LEFT JOIN route_texts AS rt ON rt.route_raw = coalesce(m.route, '')
    LEFT JOIN ref.unit_conversions AS u
           ON u.applies_to = m.value_set AND u.target_unit = 'mg' AND lower(u.unit) = lower(trim(m.dose_unit))
    LEFT JOIN ref.unit_conversions AS a
           ON a.applies_to = 'ANY_DRUG' AND a.target_unit = 'mg' AND lower(a.unit) = lower(trim(m.dose_unit))
    LEFT JOIN ref.dose_form_units AS fu ON lower(fu.unit) = lower(trim(m.dose_unit))
    LEFT JOIN ref.order_statuses AS s ON s.status = m.status AND s.spelling = replace(m.status, '-', '')
),
dosed AS (
    SELECT r.*,
           -- rules-v2.md: mg, g, gm, mmol, mEq convert where the drug allows; tablets / capsules
           -- use the strength the description names
           coalesce(r.daily_dose * r.mg_factor, r.daily_dose * r.forms_per_unit * r.strength_mg) AS dose_mg
    FROM routed AS r
)
SELECT d.order_id, d.patient_id, d.encounter_id, d.value_set, d.matched_by, d.code_system, d.code, d.description,
       upper(left(d.label, 1)) || substr(d.label, 2) AS label,
       -- the drug as a name ("furosemide" for 4603 and for "furosemide 40 MG Oral Tablet"): what
       -- "same drug" compares (rules-v2.md renewals and changes)
       trim(regexp_extract(lower(d.label), '^([^0-9\[(]*[a-z])', 1)) AS drug_key,
       d.start_date, d.end_date,
       -- rules-v2.md "Active on a date": the end date, else start + closed_order_days (completed,
       -- stopped) or open_order_max_days (any other status, unknown included)
       coalesce(d.end_date, d.start_date + CASE WHEN d.closed_status THEN getvariable('closed_order_days')
                                                ELSE getvariable('open_order_max_days') END) AS active_until,
       d.dose_value, d.dose_unit, d.frequency_per_day, d.daily_dose,
       d.dose_mg AS daily_dose_mg,
       -- same-day orders of the same drug set summed (unknown when any of them is unknown)
       CASE WHEN count(*) OVER same_day = count(d.dose_mg) OVER same_day THEN sum(d.dose_mg) OVER same_day END
           AS day_dose_mg,
       count(*) OVER same_day AS same_day_orders,
       nullif(lower(trim(d.route)), '') AS route, d.route_name, rg.route_group, d.route_source,
       coalesce(d.status, 'status unknown') AS status, d.source_file, d.source_row
FROM dosed AS d
LEFT JOIN ref.route_groups AS rg ON rg.route = d.route_name
WINDOW same_day AS (PARTITION BY d.patient_id, d.value_set, d.start_date);

DROP VIEW usable_orders;
DROP TABLE order_texts;
DROP TABLE text_verdicts;
DROP TABLE known_codes;
DROP TABLE med_candidates;
DROP TABLE matched_orders;
DROP TABLE form_facts;
DROP TABLE route_texts;
