-- The (code_system, code) pairs of LEG_CRAMPS (ref.value_sets, codes normalised): a patient with
-- one of them among the extract's diagnoses is a candidate, whose rows staging keeps
-- (cramp_audit/load.py reads the diagnoses for them before any table is loaded).
SELECT code_system, code FROM ref.value_sets WHERE value_set = 'LEG_CRAMPS' ORDER BY ALL;
