-- report.html: how many data-quality checks ran for the run and how many failed.
SELECT
    count(*) AS checks_run,
    count(*) FILTER (WHERE NOT passed) AS checks_failed
FROM audit.data_quality
WHERE run_id = $run_id;
