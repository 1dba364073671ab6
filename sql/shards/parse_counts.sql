-- A shard's values present and parsed per date / number column (Arrow, `incoming`): the merge settles
-- each column's :parses_in_some_row check over all shards from them (merge_settle.sql).
CREATE OR REPLACE TABLE work.parse_counts AS SELECT * FROM incoming;
