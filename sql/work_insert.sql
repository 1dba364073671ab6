-- Appends rows of this run (Arrow, registered as `incoming`) to a work table, tagged with the run id.
INSERT INTO work.{table} BY NAME SELECT $run_id AS run_id, * FROM incoming;
