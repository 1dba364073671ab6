-- Appends one validated table, handed over as Arrow (registered as `incoming`), by column name.
INSERT INTO staging.{table} BY NAME SELECT * FROM incoming;
