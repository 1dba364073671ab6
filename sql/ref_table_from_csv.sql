-- One shipped value-set CSV as a ref.* table, every column read as text (codes such as 0123 keep their zeros).
CREATE SCHEMA IF NOT EXISTS ref;
CREATE OR REPLACE TABLE ref.{table} AS
SELECT * FROM read_csv($path, header = true, all_varchar = true, quote = '"', escape = '"');
