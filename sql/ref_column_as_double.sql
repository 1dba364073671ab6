-- Types a ref.* column that holds numbers (read as text by ref_table_from_csv.sql) as DOUBLE.
ALTER TABLE ref.{table} ALTER COLUMN {column} SET DATA TYPE DOUBLE;
