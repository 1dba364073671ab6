-- report.html: patients left after each cohort step, and how many the step removed.
SELECT
    step_number, step, patients,
    lag(patients) OVER (ORDER BY step_number) - patients AS removed
FROM audit.cohort_attrition
WHERE run_id = $run_id
ORDER BY step_number;
