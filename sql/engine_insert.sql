-- Appends rows the rules engine built in Python (Arrow, registered as `engine_rows`) to a work table, by column name.
INSERT INTO work.{table} BY NAME SELECT * FROM engine_rows;
