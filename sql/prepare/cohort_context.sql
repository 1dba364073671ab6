-- work.cohort_context: what the rules need about each cohort patient besides work.cohort (rules-v2.md
-- "Windows, deaths, end of data"), computed once. Stage: prepare (after cohort.sql).
--   death_date            staging.patients.death_date (windows end at it)
--   data_end              the end of the data: the latest event date of the extract (variable data_end,
--                         set with the parameters from sql/period.sql), where windows end too
--   earlier_cramps_date   the latest LEG_CRAMPS diagnosis in index - incident_lookback_days .. index - 1
--                         (not an incident case for LC-ELECTROLYTES, LC-WORKUP-EXCESS, LC-REFERRAL-MISSED)
CREATE OR REPLACE TABLE work.cohort_context AS
SELECT c.patient_id, c.index_date, p.death_date, getvariable('data_end')::DATE AS data_end,
       (SELECT max(d.recorded_date) FROM work.dx_matches AS d
        WHERE d.patient_id = c.patient_id AND d.value_set = 'LEG_CRAMPS'
          AND d.recorded_date BETWEEN c.index_date - getvariable('incident_lookback_days') AND c.index_date - 1)
           AS earlier_cramps_date
FROM work.cohort AS c
JOIN staging.patients AS p USING (patient_id);
