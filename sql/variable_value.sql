-- The value of one DuckDB variable (NULL when it was never set: getvariable() does not complain).
SELECT getvariable($name);
