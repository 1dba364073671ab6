-- The schemas of a run's own tables besides staging.* and audit.*: work.* (before publishing) and ref.* (value sets).
CREATE SCHEMA IF NOT EXISTS work;
CREATE SCHEMA IF NOT EXISTS ref;
