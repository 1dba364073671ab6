-- The latest date in the extract (rules.md: the default audit period is the 365 days that end on
-- it): the greatest event date of staging.* — when something happened (born, died, seen, diagnosed,
-- ordered, collected, performed). End and resolved dates are left out: an order's planned stop date
-- can lie in the future and would push the period past the data. NULL when staging holds no dates.
SELECT max(d) AS latest_date FROM (
    SELECT max(greatest(birth_date, death_date)) AS d FROM staging.patients
    UNION ALL SELECT max(start_date) FROM staging.encounters
    UNION ALL SELECT max(recorded_date) FROM staging.diagnoses
    UNION ALL SELECT max(start_date) FROM staging.medications
    UNION ALL SELECT max(collected_date) FROM staging.labs
    UNION ALL SELECT max(performed_date) FROM staging.procedures
);
