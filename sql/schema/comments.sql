-- The data dictionary: a COMMENT on every audit.* table, view and column, for the analyst who opens
-- the database in any DuckDB client (duckdb_tables(), duckdb_columns(), or DBeaver's tooltips) and
-- the source of docs/data-dictionary.md (python -m cramp_audit.data_dictionary). Runs after every
-- other audit DDL file: CREATE OR REPLACE VIEW drops a view's comment. Every run's results are
-- keyed by run_id; join on it (and rule_id, patient_id) across tables.

-- ---------------------------------------------------------------- audit.runs
COMMENT ON TABLE audit.runs IS 'One row per invocation of `cramp-audit run`: what was audited, with which rules, parameters and code, and how it ended. Only succeeded runs have rows in the other audit tables.';
COMMENT ON COLUMN audit.runs.run_id IS 'Identifier of the run (UTC start time + random suffix, sortable by start); the key every other audit table carries.';
COMMENT ON COLUMN audit.runs.started_at IS 'When the run started (UTC).';
COMMENT ON COLUMN audit.runs.finished_at IS 'When the run ended, succeeded or failed (UTC); NULL while it runs.';
COMMENT ON COLUMN audit.runs.status IS 'running, succeeded or failed. A failed run (its reason in error) published nothing.';
COMMENT ON COLUMN audit.runs.source_path IS 'Absolute path of the audited extract folder. Runs on the same source_path form a series: previous rates, trends and deviation changes compare within it.';
COMMENT ON COLUMN audit.runs.source_format IS 'Format of the extract: canonical, synthea, omop, mimic or fhir.';
COMMENT ON COLUMN audit.runs.source_checksum IS 'sha256 over the extract''s file names and contents: the same value means the same data.';
COMMENT ON COLUMN audit.runs.period_start IS 'First day of the audit period (index dates inside the period are audited).';
COMMENT ON COLUMN audit.runs.period_end IS 'Last day of the audit period; by default latest_data_date.';
COMMENT ON COLUMN audit.runs.rule_pack_version IS 'Version of the leg-cramps rule pack the run applied.';
COMMENT ON COLUMN audit.runs.value_sets_checksum IS 'sha256 of the value sets (code lists) in force: a change means codes were added or removed.';
COMMENT ON COLUMN audit.runs.parameters IS 'JSON object of every rule parameter in force (name -> value, e.g. suppress_below, followup_days), defaults plus --config overrides.';
COMMENT ON COLUMN audit.runs.code_version IS 'Package version and git commit of the code that ran; -dirty when the checkout had local changes.';
COMMENT ON COLUMN audit.runs.rows_read IS 'Source rows read, over every table (= rows_loaded + rows_quarantined + rows_skipped).';
COMMENT ON COLUMN audit.runs.rows_loaded IS 'Source rows that passed validation and were loaded (repaired rows included).';
COMMENT ON COLUMN audit.runs.rows_quarantined IS 'Source ROWS rejected (not loaded). audit.quarantine has one row per REASON instead: a rejected row can fail several checks, and repaired rows (loaded, one value removed) are listed there too, so it usually holds more rows than this count.';
COMMENT ON COLUMN audit.runs.rows_repaired IS 'Source rows loaded after one or more values were removed (e.g. an end date before its start); each repair is a row of audit.quarantine with action repaired.';
COMMENT ON COLUMN audit.runs.rows_skipped IS 'Source rows deliberately not read as audit data by the format adapter (e.g. OMOP rows of another domain); why is in audit.table_counts.skip_reason.';
COMMENT ON COLUMN audit.runs.extract_date IS 'The date the source says it was extracted (OMOP cdm_source, FHIR transactionTime), else the date of the run; a date after it fails the after_extract_date check. Not the data''s latest date: see latest_data_date.';
COMMENT ON COLUMN audit.runs.error IS 'Why a failed run failed (one line); NULL otherwise.';
COMMENT ON COLUMN audit.runs.rule_pack_checksum IS 'sha256 over the rule files and the shared SQL they run on: the same value means the same rule logic.';
COMMENT ON COLUMN audit.runs.latest_data_date IS 'Latest event date in the extract (birth, death, encounter, diagnosis, order start, lab collection, procedure): how recent the data is, shown as the extract''s date in reports, and the default period_end.';
COMMENT ON COLUMN audit.runs.shards IS 'How many shards by patient the run was split into (cramp-audit run --shards N); 1 for a single-process run.';
COMMENT ON COLUMN audit.runs.cluster IS 'The Dask scheduler the shards ran on (its address, or local for a cluster of the machine that ran the command); empty for a single-process run.';

-- ---------------------------------------------------------------- audit.rules
COMMENT ON TABLE audit.rules IS 'The rules a run applied, one row per rule per run (the rule pack as it was then).';
COMMENT ON COLUMN audit.rules.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.rules.rule_id IS 'Rule identifier, e.g. LC-QUININE; docs/rules.md describes each rule.';
COMMENT ON COLUMN audit.rules.title IS 'Short title of the rule.';
COMMENT ON COLUMN audit.rules.severity IS 'high, medium or low: how serious a deviation from the rule is.';
COMMENT ON COLUMN audit.rules.guideline_statement IS 'The guideline sentence the rule checks.';
COMMENT ON COLUMN audit.rules.requires IS 'Optional extract tables the rule needs (e.g. [labs]); when the extract has no usable rows of one, every patient of the rule is not_evaluable.';

-- ---------------------------------------------------------------- audit.cohort
COMMENT ON TABLE audit.cohort IS 'The audited patients of a run: adults alive at a leg-cramps diagnosis inside the audit period, one row per patient.';
COMMENT ON COLUMN audit.cohort.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.cohort.patient_id IS 'The extract''s own patient identifier, so a patient can be found in the source system.';
COMMENT ON COLUMN audit.cohort.index_date IS 'Date of the patient''s first leg-cramps diagnosis inside the audit period: the date rules measure from.';
COMMENT ON COLUMN audit.cohort.age_at_index IS 'Age in whole years on index_date.';
COMMENT ON COLUMN audit.cohort.sex IS 'Sex as recorded: F, M, O (other) or U (unknown).';
COMMENT ON COLUMN audit.cohort.site_id IS 'The patient''s site (practice or hospital) in the extract; NULL when not recorded.';
COMMENT ON COLUMN audit.cohort.followup_end IS 'Last day of follow-up: index_date + followup_days, or the death date when earlier.';

-- ---------------------------------------------------------------- audit.cohort_attrition
COMMENT ON TABLE audit.cohort_attrition IS 'How the cohort was reached, one row per selection step: patients left after each step.';
COMMENT ON COLUMN audit.cohort_attrition.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.cohort_attrition.step_number IS 'Order of the step, from 1 (patients in the extract).';
COMMENT ON COLUMN audit.cohort_attrition.step IS 'What the step keeps: in the extract, with a leg-cramps diagnosis, inside the period, aged 18+, alive at index.';
COMMENT ON COLUMN audit.cohort_attrition.patients IS 'Patients left after the step.';

-- ---------------------------------------------------------------- audit.patient_rules
COMMENT ON TABLE audit.patient_rules IS 'Each cohort patient''s outcome for each rule: every count in audit.rule_results is a count of these rows.';
COMMENT ON COLUMN audit.patient_rules.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.patient_rules.rule_id IS 'The rule (audit.rules).';
COMMENT ON COLUMN audit.patient_rules.patient_id IS 'The patient (audit.cohort).';
COMMENT ON COLUMN audit.patient_rules.status IS 'Exactly one of, by precedence: not_applicable (not in the rule''s denominator), excluded, not_evaluable (data missing to judge), deviation, met.';
COMMENT ON COLUMN audit.patient_rules.reason IS 'Why, in words: the first exclusion, missing data, deviation (with "+N more" when several) or the event that put the patient in the denominator.';

-- ---------------------------------------------------------------- audit.rule_results
COMMENT ON TABLE audit.rule_results IS 'Each rule''s counts and deviation rate for a run (rule_summary.csv). Lower rates are better.';
COMMENT ON COLUMN audit.rule_results.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.rule_results.rule_id IS 'The rule (audit.rules).';
COMMENT ON COLUMN audit.rule_results.denominator IS 'Cohort patients the rule applies to (every status but not_applicable).';
COMMENT ON COLUMN audit.rule_results.exclusions IS 'Patients of the denominator excluded by the rule''s exclusions.';
COMMENT ON COLUMN audit.rule_results.not_evaluable IS 'Patients of the denominator whose records cannot answer the rule (e.g. no dose, no lab table); not counted as met.';
COMMENT ON COLUMN audit.rule_results.deviations IS 'Patients with at least one deviation (patients, not events: see audit.deviations for events).';
COMMENT ON COLUMN audit.rule_results.deviation_rate IS 'deviations / (denominator - exclusions - not_evaluable), from 0 to 1; NULL when no patient could be judged.';
COMMENT ON COLUMN audit.rule_results.previous_deviation_rate IS 'The rule''s deviation_rate in the previous succeeded run on the same source_path; NULL on a first run.';

-- ---------------------------------------------------------------- audit.deviations
COMMENT ON TABLE audit.deviations IS 'One row per deviating event (an order, a missed test ...) of patients whose status is deviation: the worklist. Patient-level: for internal follow-up only.';
COMMENT ON COLUMN audit.deviations.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.deviations.rule_id IS 'The rule (audit.rules).';
COMMENT ON COLUMN audit.deviations.patient_id IS 'The patient (audit.cohort).';
COMMENT ON COLUMN audit.deviations.event_date IS 'Date of the deviating event (an order''s start, a result''s collection, or the index date for something missing).';
COMMENT ON COLUMN audit.deviations.severity IS 'The rule''s severity (audit.rules.severity).';
COMMENT ON COLUMN audit.deviations.explanation IS 'The deviation in one sentence, with its dates and values.';
-- Each rule's shape, one line per rule "RULE: {key, key: {nested keys}, key: [items]}" (keys in the
-- order the rule writes them); tests/test_data_dictionary.py checks the top-level keys against a run.
COMMENT ON COLUMN audit.deviations.evidence IS 'JSON object of the source records behind the deviation. source_file/source_row point at the row in the extract; code_system/code/description are the order''s or diagnosis''s codes; matched_by says whether an order matched its value set by code or by description; encounter_id, status and route are the record''s own (rules-v2.md). Keys per rule:
LC-BACLOFEN-TITRATION: {order_ids, orders: [{order_id, encounter_id, status, route, source_file, source_row, code_system, code, description, daily_dose_mg}], start_date, daily_dose_mg, previous_daily_dose_mg, previous_start_date} (previous_*: the order before it with a known dose; NULL for the first)
LC-CIRRHOSIS-DIURETIC: {cirrhosis: {code_system, code, recorded_date, encounter_id, source_file, source_row}, diuretic_orders: [{order_id, encounter_id, status, route, source_file, source_row, description, start_date, end_date}], review_window_start, review_window_end}
LC-DEFICIENCY-UNTREATED: {analyte, code_system, code, collected_date, result, value, value_text, unit, value_mmol, ref_low, threshold, threshold_unit, encounter_id, source_file, source_row, correction_window_end} (the low result; value/unit as recorded, value_mmol converted)
LC-ELECTROLYTES: {missing: [potassium, magnesium], window_start, window_end, potassium_results, magnesium_results} (missing: the analytes without a result; *_results: results found in the window)
LC-FERRITIN-RLS: {suspected_on, window_start, window_end}
LC-MED-REVIEW: {orders: [{order_id, encounter_id, status, route, source_file, source_row, description, start_date, end_date}], review_window_start, review_window_end}
LC-MG-DOSE: {start_date, daily_dose_mg, orders: [{order_id, encounter_id, status, route, source_file, source_row, code_system, code, description, dose_value, dose_unit, frequency_per_day, daily_dose_mg}]}
LC-MG-EMPIRIC: {finding, order_id, encounter_id, status, route, route_source, source_file, source_row, code_system, code, description, start_date, matched_by, lookback_start, magnesium_result: {collected_date, result, value, unit, value_mmol, ref_low, encounter_id, source_file, source_row}} (magnesium_result NULL when there was none)
LC-MG-RENAL: {order_id, encounter_id, status, route, source_file, source_row, code_system, code, description, start_date, matched_by, documented_by, egfr: {result, unit, collected_date, encounter_id, source_file, source_row}, ckd_diagnosis: {code_system, code, recorded_date, encounter_id, source_file, source_row}} (either may be NULL, not both)
LC-NSAID-ELDERLY: {order_id, encounter_id, status, route, route_group, route_source, source_file, source_row, code_system, code, description, start_date, matched_by, age_at_index}
LC-QUININE: {order_id, encounter_id, status, route, source_file, source_row, code_system, code, description, start_date, end_date, matched_by, index_date}
LC-REFERRAL-MISSED: {red_flag: {code_system, code, recorded_date, encounter_id, source_file, source_row}, referral_window_start, referral_window_end}
LC-RLS-CONFUSION: {order_id, encounter_id, status, route, source_file, source_row, code_system, code, description, start_date, matched_by}
LC-WORKUP-EXCESS: {code_system, code, description, performed_date, encounter_id, source_file, source_row, index_date} (the procedure)';

-- ---------------------------------------------------------------- audit.deviation_changes
COMMENT ON TABLE audit.deviation_changes IS 'Each deviation compared with the previous succeeded run on the same source_path, one row per patient and rule (the same deviation = the same patient_id and rule_id, whatever its dates): new, persisting, or resolved (in the previous run, not in this one).';
COMMENT ON COLUMN audit.deviation_changes.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.deviation_changes.rule_id IS 'The rule (audit.rules); only rules of this run are compared.';
COMMENT ON COLUMN audit.deviation_changes.patient_id IS 'The patient (the extract''s own identifier).';
COMMENT ON COLUMN audit.deviation_changes.change IS 'new (a deviation now, not in the previous run; every deviation of a source''s first run), persisting (in both), resolved (in the previous run only).';
COMMENT ON COLUMN audit.deviation_changes.previous_run_id IS 'The run compared with; NULL on a source''s first run.';
COMMENT ON COLUMN audit.deviation_changes.status IS 'The patient''s status for the rule in this run (audit.patient_rules.status): deviation, or for resolved what it is now; NULL when the patient is no longer in the cohort (e.g. the period moved on), which is not improved care.';
COMMENT ON COLUMN audit.deviation_changes.previous_status IS 'The patient''s status for the rule in the previous run; NULL when the patient was not in its cohort, the rule is new, or there is no previous run.';

-- ---------------------------------------------------------------- audit.quarantine
COMMENT ON TABLE audit.quarantine IS 'Source rows that failed a validation check, one row per row and failed check (so one source row can appear several times): rejected rows were not loaded, repaired rows were loaded with the failing value removed.';
COMMENT ON COLUMN audit.quarantine.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.quarantine.table_name IS 'The canonical table the row belongs to (patients, encounters, diagnoses, medications, labs, procedures).';
COMMENT ON COLUMN audit.quarantine.source_file IS 'The extract file the row came from.';
COMMENT ON COLUMN audit.quarantine.source_row IS 'Row number in source_file (1 = first data row).';
COMMENT ON COLUMN audit.quarantine.action IS 'rejected (row not loaded) or repaired (row loaded, field emptied).';
COMMENT ON COLUMN audit.quarantine.field IS 'The column the check guards.';
COMMENT ON COLUMN audit.quarantine.reason IS 'What is wrong, in words.';
COMMENT ON COLUMN audit.quarantine.record IS 'JSON object of the row as the file had it, canonical columns only (other source columns, which could identify a patient, are left out).';
COMMENT ON COLUMN audit.quarantine.check_name IS 'Stable identifier of the failed check, e.g. end_date:before_start.';

-- ---------------------------------------------------------------- audit.data_quality
COMMENT ON TABLE audit.data_quality IS 'Every data-quality check of a run, passed or not, with how many rows it checked and failed.';
COMMENT ON COLUMN audit.data_quality.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.data_quality.table_name IS 'The canonical table checked.';
COMMENT ON COLUMN audit.data_quality.check_name IS 'Stable identifier of the check (as in audit.quarantine.check_name).';
COMMENT ON COLUMN audit.data_quality.rows_checked IS 'Rows the check looked at.';
COMMENT ON COLUMN audit.data_quality.rows_failed IS 'Rows that failed it.';
COMMENT ON COLUMN audit.data_quality.passed IS 'true when no row failed.';

-- ---------------------------------------------------------------- audit.table_counts
COMMENT ON TABLE audit.table_counts IS 'Rows per canonical table and source file: rows_read = rows_loaded + rows_rejected + rows_skipped. An optional table the extract lacks has one row of zeros saying so.';
COMMENT ON COLUMN audit.table_counts.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.table_counts.table_name IS 'The canonical table.';
COMMENT ON COLUMN audit.table_counts.source_table IS 'The source file or table the rows came from; NULL for an absent table.';
COMMENT ON COLUMN audit.table_counts.rows_read IS 'Rows read from the source.';
COMMENT ON COLUMN audit.table_counts.rows_loaded IS 'Rows loaded (repaired ones included).';
COMMENT ON COLUMN audit.table_counts.rows_rejected IS 'Rows rejected (not loaded); their reasons are in audit.quarantine.';
COMMENT ON COLUMN audit.table_counts.rows_repaired IS 'Rows loaded with a value removed.';
COMMENT ON COLUMN audit.table_counts.rows_skipped IS 'Rows deliberately not read as audit data (see skip_reason).';
COMMENT ON COLUMN audit.table_counts.skip_reason IS 'Why rows were skipped, or why the table is absent; NULL otherwise.';

-- ---------------------------------------------------------------- audit.rule_trend (view)
COMMENT ON VIEW audit.rule_trend IS 'Each rule''s counts and rate over the succeeded runs on the same source_path, oldest first, with the change from the previous run and how many deviations were new, persisting or resolved.';
COMMENT ON COLUMN audit.rule_trend.source_path IS 'The audited extract (audit.runs.source_path): one series per source.';
COMMENT ON COLUMN audit.rule_trend.run_number IS 'Position of the run in its source''s series (1 = first succeeded run), by finish time.';
COMMENT ON COLUMN audit.rule_trend.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.rule_trend.run_date IS 'The day the run started.';
COMMENT ON COLUMN audit.rule_trend.latest_data_date IS 'Latest event date in the extract of that run (audit.runs.latest_data_date): the point in time the rate describes.';
COMMENT ON COLUMN audit.rule_trend.period_start IS 'First day of the run''s audit period.';
COMMENT ON COLUMN audit.rule_trend.period_end IS 'Last day of the run''s audit period.';
COMMENT ON COLUMN audit.rule_trend.rule_id IS 'The rule (audit.rules).';
COMMENT ON COLUMN audit.rule_trend.denominator IS 'As audit.rule_results.denominator.';
COMMENT ON COLUMN audit.rule_trend.exclusions IS 'As audit.rule_results.exclusions.';
COMMENT ON COLUMN audit.rule_trend.not_evaluable IS 'As audit.rule_results.not_evaluable.';
COMMENT ON COLUMN audit.rule_trend.evaluated IS 'Patients the rate is of: denominator - exclusions - not_evaluable.';
COMMENT ON COLUMN audit.rule_trend.deviations IS 'As audit.rule_results.deviations (patients).';
COMMENT ON COLUMN audit.rule_trend.deviation_rate IS 'deviations / evaluated (0 to 1, lower is better); NULL when evaluated is 0.';
COMMENT ON COLUMN audit.rule_trend.previous_run_id IS 'The source''s succeeded run before this one; NULL for the first.';
COMMENT ON COLUMN audit.rule_trend.previous_deviation_rate IS 'The rule''s rate in previous_run_id; NULL when there is none or the rule was not in it.';
COMMENT ON COLUMN audit.rule_trend.rate_change IS 'deviation_rate - previous_deviation_rate: negative = fewer deviations (better).';
COMMENT ON COLUMN audit.rule_trend.new_deviations IS 'Patients whose deviation is new in this run (audit.deviation_changes); NULL (with the next two) for a run made before deviation changes were recorded.';
COMMENT ON COLUMN audit.rule_trend.persisting_deviations IS 'Patients deviating in this run and the previous one.';
COMMENT ON COLUMN audit.rule_trend.resolved_deviations IS 'Patients deviating in the previous run and not in this one.';

-- ---------------------------------------------------------------- audit.latest_* (views)
COMMENT ON VIEW audit.latest_runs IS 'audit.runs: the newest succeeded run of each source_path.';
COMMENT ON VIEW audit.latest_rules IS 'audit.rules of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_cohort IS 'audit.cohort of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_cohort_attrition IS 'audit.cohort_attrition of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_patient_rules IS 'audit.patient_rules of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_rule_results IS 'audit.rule_results of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_deviations IS 'audit.deviations of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_deviation_changes IS 'audit.deviation_changes of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_quarantine IS 'audit.quarantine of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_data_quality IS 'audit.data_quality of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
COMMENT ON VIEW audit.latest_table_counts IS 'audit.table_counts of each source''s newest succeeded run (audit.latest_runs), with source_path second.';

-- ---------------------------------------------------------------- rules-v2 columns and audit.rule_strata
COMMENT ON COLUMN audit.cohort.index_code_kind IS 'leg-specific (a code for leg cramps, e.g. G47.62, SNOMED 449918009) or general (cramp and spasm, e.g. R25.2, SNOMED 55300003): the kind of the index diagnosis code (rules-v2.md; sql/valuesets/index_code_kinds.csv).';
COMMENT ON COLUMN audit.deviations.reason_code IS 'Why the care deviated, one of the fixed reason codes its rule lists (`reason_codes:` header, docs/rules.md), e.g. NO_MAGNESIUM_RESULT, QUININE_STARTED.';
COMMENT ON TABLE audit.rule_strata IS 'Each rule''s counts and rate per stratum value, made by the population decider (decide/strata.sql) like audit.rule_results: strata site (the patient''s site at index), sex, age_band at index (18-64, 65-79, 80+) and index_code_kind. Unsuppressed: the reports suppress.';
COMMENT ON COLUMN audit.rule_strata.run_id IS 'The run (audit.runs).';
COMMENT ON COLUMN audit.rule_strata.rule_id IS 'The rule (audit.rules).';
COMMENT ON COLUMN audit.rule_strata.stratum IS 'site, sex, age_band or index_code_kind.';
COMMENT ON COLUMN audit.rule_strata.value IS 'The stratum''s value, e.g. a site_id, F, 65-79, leg-specific; (none) when the patient has none.';
COMMENT ON COLUMN audit.rule_strata.denominator IS 'Patients of this value the rule applies to (status other than not_applicable).';
COMMENT ON COLUMN audit.rule_strata.exclusions IS 'Of the denominator, patients excluded by the rule.';
COMMENT ON COLUMN audit.rule_strata.not_evaluable IS 'Of the denominator, patients the record could not decide for (e.g. a window past the end of the data).';
COMMENT ON COLUMN audit.rule_strata.deviations IS 'Of the denominator, patients whose care deviated.';
COMMENT ON COLUMN audit.rule_strata.deviation_rate IS 'deviations / (denominator - exclusions - not_evaluable); NULL when nobody was evaluated.';
COMMENT ON VIEW audit.latest_rule_strata IS 'audit.rule_strata of each source''s newest succeeded run (audit.latest_runs), with source_path second.';
