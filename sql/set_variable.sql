-- Sets one DuckDB variable (read by the SQL with getvariable) to a bound value of the given type.
SET VARIABLE {name} = $value::{type};
