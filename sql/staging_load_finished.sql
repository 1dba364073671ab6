-- The load's setting undone: the run's connection goes on to the cohort, rules and reports, whose
-- results must not depend on the order DuckDB happens to produce rows in.
RESET preserve_insertion_order;
