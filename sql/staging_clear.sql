-- A load replaces the previous one: staging.* always holds the latest validated extract.
DELETE FROM staging.patients;
DELETE FROM staging.encounters;
DELETE FROM staging.diagnoses;
DELETE FROM staging.medications;
DELETE FROM staging.labs;
DELETE FROM staging.procedures;
