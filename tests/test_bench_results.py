"""bench/results.py judges issue 14's targets from hand-made measurements: a value just under a limit
passes, just over fails, a case not measured says so (n/a), a case that did not finish fails; and
bench/run.py / bench/floor.py pick the cases and the floor of each format (FHIR NDJSON, OMOP CSV)."""

from __future__ import annotations

import argparse
import json

import pytest

from bench.measure import ChildRun
from bench.results import (
    GIB,
    HUNDRED_K,
    MILLION,
    Case,
    CaseResult,
    PlantedCheck,
    Target,
    judge_targets,
    planted_lines,
    results_table,
    target_lines,
)

ROWS_1M, ROWS_100K = 47_600_000, 4_760_000


def case(fmt: str, patients: int = MILLION, *, floor: float = 10.0, audit: float = 20.0, peak_gib: float = 3.0,
         evaluate: float = 1.0, rows: int | None = None, flow_wall: float | None = None) -> CaseResult:
    """A measured case: one repeat of the floor and of the plain audit (wall = audit + 2 s imports)."""
    rows = rows if rows is not None else (ROWS_1M if patients == MILLION else ROWS_100K)
    steps = {"ingest": audit - evaluate - 0.5, "evaluate": evaluate, "publish": 0.5}
    plain = ChildRun("plain", audit + 2, audit, int(peak_gib * GIB), steps, rows)
    result = CaseResult(Case(patients, fmt), floor_s=[floor], plain=[plain])
    if flow_wall is not None:
        result.flow = [ChildRun("flow", flow_wall, flow_wall - 2, int(peak_gib * GIB), {}, rows)]
    return result


def by_text(targets: list[Target], *words: str) -> Target:
    found = [t for t in targets if all(w in t.text for w in words)]
    assert len(found) == 1, (words, [t.text for t in targets])
    return found[0]


@pytest.mark.parametrize(("fmt", "name", "limit"), [("csv", "CSV", 3), ("parquet", "Parquet", 5),
                                                     ("fhir", "FHIR", 4), ("omop", "OMOP", 4)])
def test_floor_ratio_per_format(fmt, name, limit):
    under = judge_targets([case(fmt, floor=10.0, audit=10.0 * limit - 0.01)])
    over = judge_targets([case(fmt, floor=10.0, audit=10.0 * limit + 0.01)])
    target = by_text(under, "audit/floor", f"({name},")
    assert target.text.startswith(f"audit/floor ≤ {limit} at 1M")
    assert target.passed is True
    assert by_text(over, "audit/floor", f"({name},").passed is False


def test_floor_of_each_format_is_named():
    targets = judge_targets([])
    assert "NDJSON floor" in by_text(targets, "audit/floor", "(FHIR,").text
    assert "CSV floor" in by_text(targets, "audit/floor", "(OMOP,").text


@pytest.mark.parametrize("fmt", ["csv", "parquet", "fhir", "omop"])
def test_peak_memory_at_most_4_gib_per_format(fmt):
    name = {"csv": "CSV", "parquet": "Parquet", "fhir": "FHIR", "omop": "OMOP"}[fmt]
    assert by_text(judge_targets([case(fmt, peak_gib=3.99)]), "peak memory", name).passed is True
    assert by_text(judge_targets([case(fmt, peak_gib=4.0)]), "peak memory", name).passed is True
    assert by_text(judge_targets([case(fmt, peak_gib=4.01)]), "peak memory", name).passed is False


@pytest.mark.parametrize(("fmt", "name"), [("csv", "CSV"), ("parquet", "Parquet")])
def test_cost_per_row_growth_within_1_2(fmt, name):
    small = case(fmt, HUNDRED_K, audit=5.0)          # 5 s per 4.76 M rows
    # 1M: 10× the rows; 1.19× / 1.21× the cost per row.
    under = judge_targets([small, case(fmt, audit=5.0 * 10 * 1.19)])
    over = judge_targets([small, case(fmt, audit=5.0 * 10 * 1.21)])
    assert by_text(under, "cost per row", name).passed is True
    assert by_text(under, "cost per row", name).value == "1.19×"
    assert by_text(over, "cost per row", name).passed is False


def test_cost_per_row_needs_both_sizes():
    target = by_text(judge_targets([case("parquet")]), "cost per row", "Parquet")
    assert target.passed is None
    assert target.value == "not measured (parquet 100,000)"
    assert target.verdict == "n/a "


@pytest.mark.parametrize(("fmt", "name"), [("csv", "CSV"), ("parquet", "Parquet")])
def test_rules_step_at_most_a_tenth_of_the_run(fmt, name):
    under = by_text(judge_targets([case(fmt, audit=100.0, evaluate=9.9)]), "rules step", name)
    over = by_text(judge_targets([case(fmt, audit=100.0, evaluate=10.1)]), "rules step", name)
    assert "'evaluate'" in under.text
    assert under.passed is True
    assert under.value.startswith("9.9 %")
    assert over.passed is False


def test_rules_step_missing_from_the_steps_is_not_judged():
    result = case("csv")
    result.plain[0].steps.pop("evaluate")
    target = by_text(judge_targets([result]), "rules step", "CSV")
    assert target.passed is None
    assert "no 'evaluate' step" in target.value


def test_rules_step_not_judged_for_fhir_and_omop():
    targets = judge_targets([case("fhir"), case("omop")])
    assert not [t for t in targets if "rules step" in t.text and ("FHIR" in t.text or "OMOP" in t.text)]


def test_flow_overhead_kept():
    plain_wall = 20.0 + 2
    under = by_text(judge_targets([case("csv", flow_wall=plain_wall + 4.9)]), "Prefect flow")
    over = by_text(judge_targets([case("csv", flow_wall=plain_wall + 5.1)]), "Prefect flow")
    skipped = by_text(judge_targets([case("csv")]), "Prefect flow")
    assert (under.passed, over.passed, skipped.passed) == (True, False, None)
    assert skipped.value == "not measured (flows skipped)"


def test_formats_not_measured_say_so():
    targets = judge_targets([case("csv", HUNDRED_K), case("csv")])
    fhir = by_text(targets, "audit/floor", "(FHIR,")
    assert fhir.passed is None
    assert fhir.value == "not measured (fhir 1,000,000)"
    assert by_text(targets, "peak memory", "OMOP").value == "not measured (omop 1,000,000)"
    assert by_text(targets, "audit/floor", "(CSV,").passed is True
    lines = target_lines(targets)
    assert "- n/a  audit/floor ≤ 4 at 1M (FHIR, against its NDJSON floor): not measured (fhir 1,000,000)" in lines


def test_nothing_measured_judges_nothing():
    assert all(t.passed is None for t in judge_targets([]))


def test_old_targets_are_gone():
    texts = " ".join(t.text for t in judge_targets([]))
    assert "6 GiB" not in texts and "grows ≤ 10×" not in texts and "1.3×" not in texts


def test_a_failed_1m_case_fails_its_format_only():
    failed = CaseResult(Case(MILLION, "fhir"), error="plain audit of fhir-1000000 stopped above the memory cap; x")
    targets = judge_targets([failed, case("csv")])
    fhir = by_text(targets, "audit/floor", "(FHIR,")
    assert fhir.passed is False
    assert "fhir 1,000,000 run failed (plain audit of fhir-1000000 stopped above the memory cap)" == fhir.value
    assert by_text(targets, "peak memory", "FHIR").passed is False
    assert by_text(targets, "audit/floor", "(CSV,").passed is True


def test_a_failed_100k_case_fails_the_cost_target():
    failed = CaseResult(Case(HUNDRED_K, "csv"), error="exited 1")
    assert by_text(judge_targets([failed, case("csv")]), "cost per row", "CSV").passed is False


def test_results_table_has_a_row_per_format():
    results = [case(fmt) for fmt in ("csv", "parquet", "fhir", "omop")]
    results.append(CaseResult(Case(HUNDRED_K, "omop"), error="boom"))
    rows = results_table(results)[2:]
    assert [row.split(" | ")[1] for row in rows] == ["csv", "parquet", "fhir", "omop", "omop"]
    assert "failed: boom" in rows[-1]


def test_planted_lines_pass_fail_and_skipped():
    found = case("fhir", HUNDRED_K)
    found.planted = PlantedCheck(10, 10, 0, 0)
    missed = case("csv", HUNDRED_K)
    missed.planted = PlantedCheck(10, 9, 1, 0)
    skipped = case("omop", HUNDRED_K)
    skipped.planted_skipped = "skipped: ids are integers"
    lines = planted_lines([found, missed, skipped])
    assert lines[0].startswith("- PASS planted deviations at 100,000 (fhir)")
    assert lines[1].startswith("- FAIL planted deviations at 100,000 (csv)")
    assert lines[2] == "- n/a  planted deviations at 100,000 (omop): skipped: ids are integers"


# ---------------------------------------------------------------- run.py: cases, report

def test_default_cases_are_issue_14s():
    from bench.run import DEFAULT_CASES, selected_cases

    args = argparse.Namespace(sizes=None, formats=None)
    assert selected_cases(args) == list(DEFAULT_CASES)
    assert sorted((c.fmt, c.patients) for c in DEFAULT_CASES) == [
        ("csv", 10_000), ("csv", 100_000), ("csv", 1_000_000), ("fhir", 100_000), ("fhir", 1_000_000),
        ("omop", 1_000_000), ("parquet", 100_000), ("parquet", 1_000_000)]
    # issue 14: the planted set is checked at 100k on CSV, Parquet and FHIR
    assert {c.fmt for c in DEFAULT_CASES if c.patients == 100_000} == {"csv", "parquet", "fhir"}


def test_formats_option_accepts_fhir_and_omop():
    from bench.run import selected_cases

    cases = selected_cases(argparse.Namespace(sizes="10000", formats="csv,parquet,fhir,omop"))
    assert sorted(c.fmt for c in cases) == ["csv", "fhir", "omop", "parquet"]
    with pytest.raises(SystemExit, match="unknown format"):
        selected_cases(argparse.Namespace(sizes="10000", formats="csv,xml"))


def test_report_heading_names_issue_14():
    from bench.run import report_lines

    lines = report_lines([case("csv")], None, 1, 60.0)
    assert any(line.startswith("Targets (issue 14") and "Within 3x of the floor" in line for line in lines)


def test_planted_source_of_converted_formats_is_the_csv_extract():
    from bench.extracts import extract_dir
    from bench.run import PLANTED_SKIP, planted_source

    assert planted_source(Case(HUNDRED_K, "fhir")) == extract_dir(HUNDRED_K, "csv")
    assert planted_source(Case(HUNDRED_K, "parquet")) == extract_dir(HUNDRED_K, "parquet")
    assert "omop" in PLANTED_SKIP and "fhir" not in PLANTED_SKIP


# ---------------------------------------------------------------- floor.py / extracts.py: each format's files

def test_floor_reads_every_ndjson_file_of_a_fhir_export(tmp_path):
    from bench.extracts import table_files
    from bench.floor import measure_floor

    patients = [{"resourceType": "Patient", "id": f"p{i}", "birthDate": "1950-01-0" + str(i + 1),
                 "managingOrganization": {"reference": "Organization/s1"}} for i in range(3)]
    (tmp_path / "Patient.000.ndjson").write_text("".join(json.dumps(p) + "\n" for p in patients))
    condition = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p0"},
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R25.2"}]}}
    (tmp_path / "Condition.000.ndjson").write_text(json.dumps(condition) + "\n")
    (tmp_path / "planted_deviations.csv").write_text("patient_id,rule_id\np0,X\n")
    assert [p.name for p in table_files(tmp_path)] == ["Condition.000.ndjson", "Patient.000.ndjson"]
    _, rows = measure_floor(tmp_path)
    assert rows == 4


def test_floor_reads_every_csv_table_file_of_an_omop_folder(tmp_path):
    from bench.extracts import table_files
    from bench.floor import measure_floor

    (tmp_path / "person.csv").write_text("person_id,gender_concept_id,year_of_birth\n1,8507,1950\n2,8532,1960\n")
    (tmp_path / "condition_occurrence.csv").write_text(
        "condition_occurrence_id,person_id,condition_concept_id,condition_start_date\n1,1,2000000001,2024-01-02\n")
    (tmp_path / "concept.csv").write_text("concept_id,concept_name\n2000000001,Cramp\n")
    assert [p.name for p in table_files(tmp_path)] == ["concept.csv", "condition_occurrence.csv", "person.csv"]
    _, rows = measure_floor(tmp_path)
    assert rows == 4


def test_converted_extracts_are_stale_when_their_converter_changes(tmp_path):
    from bench import extracts

    digests = extracts._digests("fhir")
    assert set(digests) == {"generator_digest", "converter_digest"}
    assert set(extracts._digests("csv")) == {"generator_digest"}
    (tmp_path / extracts.COMPLETE_MARKER).write_text(json.dumps({**digests, "command": []}))
    assert extracts._is_current(tmp_path, digests)
    assert not extracts._is_current(tmp_path, {**digests, "converter_digest": "changed"})
    assert not extracts._is_current(tmp_path, extracts._digests("omop"))


def test_skip_leaves_out_the_named_cases():
    from bench.run import DEFAULT_CASES, selected_cases

    cases = selected_cases(argparse.Namespace(sizes=None, formats=None, skip="fhir:1000000,csv:10000"))
    assert Case(1_000_000, "fhir") not in cases and Case(10_000, "csv") not in cases
    assert len(cases) == len(DEFAULT_CASES) - 2
