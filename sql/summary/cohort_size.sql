SELECT count(*) FROM work.cohort;
