"""`make bench`: the audit at health-system scale, against the floor of DuckDB merely parsing the files.

    python -m bench.run [--sizes 10000,100000,1000000] [--formats csv,parquet,fhir,omop] [--repeat 3]
                        [--no-flow | --flow-formats csv]

Without --sizes/--formats it measures CSV at 10 000, 100 000 and 1 000 000 patients, Parquet at
100 000 and 1 000 000, FHIR bulk NDJSON at 100 000 and 1 000 000, OMOP CDM CSV at 1 000 000; with either, every size in
every format. FHIR and OMOP extracts are converted from the canonical CSV extract of the same size
(bench/extracts.py). Per case and repeat: the floor of that format (bench/floor.py), the audit as
plain functions in a fresh child process (step times, peak RSS), and (for the --flow-formats, CSV by
default) the same audit through the Prefect flow against a local Prefect server. Once, on the
smallest case, Prefect's local mode (no server) is timed too. The planted deviations are checked
at 100 000 patients (CSV, Parquet, FHIR). Medians of the repeats go to bench/results.md and the
terminal, with PASS/FAIL for issue 14's targets."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import psutil

from bench.extracts import (
    BENCH_DIR,
    CACHE,
    FORMATS,
    REPO,
    SOURCE_FORMAT,
    ensure_extract,
    extract_dir,
    warm_page_cache,
)
from bench.floor import measure_floor
from bench.measure import ChildRun, MeasurementFailed, run_child
from bench.planted import check_planted
from bench.prefect_server import prefect_env, prefect_server
from bench.results import (
    GIB,
    HUNDRED_K,
    Case,
    CaseResult,
    LocalStartup,
    judge_targets,
    planted_lines,
    results_table,
    step_table,
    target_lines,
)

DEFAULT_CASES = (Case(10_000, "csv"), Case(100_000, "csv"), Case(1_000_000, "csv"),
                 Case(100_000, "parquet"), Case(1_000_000, "parquet"),
                 Case(100_000, "fhir"), Case(1_000_000, "fhir"), Case(1_000_000, "omop"))
# Formats whose planted (patient_id, rule_id) deviations cannot be checked at 100k, and why.
PLANTED_SKIP = {"omop": "skipped: OMOP ids are integers (person_id, not the planted patient ids) and OMOP "
                        "carries no medication status, dose value or frequency, so the dose rules differ"}
RESULTS_MD = BENCH_DIR / "results.md"
RUNS = CACHE / "runs"
LOGS = CACHE / "logs"


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="patients per extract, comma-separated (e.g. 10000,100000)")
    parser.add_argument("--skip", default="",
                        help="cases left out, as format:patients, comma-separated (e.g. fhir:1000000)")
    parser.add_argument("--formats", help=f"{', '.join(FORMATS)}, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per case; the median is reported")
    parser.add_argument("--no-flow", action="store_true", help="skip the Prefect flow measurements")
    parser.add_argument("--flow-formats", default="csv",
                        help="formats also measured through the Prefect flow (comma-separated; default csv: the "
                             "flow's overhead does not depend on the format, and a FHIR 1M audit takes minutes)")
    parser.add_argument("--memory-cap-gib", type=float, default=None,
                        help="stop an audit child whose resident memory passes this (protects the machine; "
                             "default 70%% of RAM)")
    parser.add_argument("--output", type=Path, default=RESULTS_MD, help="where the results table is written")
    return parser.parse_args(argv)


def selected_cases(args: argparse.Namespace) -> list[Case]:
    skipped = {Case(int(size), fmt) for fmt, size in
               (item.split(":") for item in (getattr(args, "skip", "") or "").split(",") if item)}
    return [case for case in _chosen_cases(args) if case not in skipped]


def _chosen_cases(args: argparse.Namespace) -> list[Case]:
    if not args.sizes and not args.formats:
        return list(DEFAULT_CASES)
    sizes = [int(s) for s in (args.sizes or "10000,100000,1000000").split(",")]
    formats = (args.formats or "csv").split(",")
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise SystemExit(f"unknown format(s): {', '.join(sorted(unknown))} (expected {', '.join(FORMATS)})")
    return sorted(Case(size, fmt) for fmt in formats for size in sizes)


def planted_source(case: Case) -> Path:
    """The extract whose planted_deviations.csv a case's audit must find: its own (CSV, Parquet), else
    the canonical CSV extract it was converted from (FHIR keeps the patient ids as they are)."""
    return extract_dir(case.patients, case.fmt if case.fmt in ("csv", "parquet") else "csv")


class Bench:
    """The measurements of one benchmark run (the server URL is None when flows are skipped)."""

    def __init__(self, repeat: int, memory_cap_gib: float | None, api_url: str | None,
                 flow_formats: tuple[str, ...] = ("csv",)) -> None:
        self.repeat = repeat
        self.flow_formats = flow_formats
        self.memory_cap = int(memory_cap_gib * GIB) if memory_cap_gib else int(0.7 * psutil.virtual_memory().total)
        self.api_url = api_url

    def child(self, case: Case, mode: str, attempt: int, api_url: str | None, label: str) -> ChildRun:
        home = CACHE / "prefect" / ("client" if api_url else "local")
        env = prefect_env(home, api_url)
        LOGS.mkdir(parents=True, exist_ok=True)
        return run_child(mode, extract_dir(case.patients, case.fmt), RUNS / case.name / f"{label}-{attempt}", env,
                         LOGS / f"{case.name}-{label}-{attempt}.log", self.memory_cap, SOURCE_FORMAT[case.fmt])

    def measure_case(self, case: Case, source: Path) -> CaseResult:
        result = CaseResult(case)
        warm_page_cache(source)
        try:
            for attempt in range(1, self.repeat + 1):
                self._measure_once(result, source, attempt)
        except MeasurementFailed as exc:
            result.error = str(exc)
            log(f"  FAILED: {exc}")
        shutil.rmtree(RUNS / case.name, ignore_errors=True)
        return result

    def _measure_once(self, result: CaseResult, source: Path, attempt: int) -> None:
        case = result.case
        floor_s, floor_rows = measure_floor(source)
        result.floor_s.append(floor_s)
        plain = self.child(case, "plain", attempt, None, "plain")
        result.plain.append(plain)
        steps = ", ".join(f"{k} {v:.1f}" for k, v in plain.steps.items())
        log(f"  {case.name} #{attempt}: floor {floor_s:.2f} s ({floor_rows:,} rows); audit {plain.run_s:.1f} s "
            f"[{steps}], peak {plain.peak_rss_bytes / GIB:.2f} GiB")
        if case.patients == HUNDRED_K and result.planted is None and not result.planted_skipped:
            if case.fmt in PLANTED_SKIP:
                result.planted_skipped = PLANTED_SKIP[case.fmt]
                log(f"  planted deviations ({case.fmt}): {result.planted_skipped}")
            else:
                result.planted = check_planted(planted_source(case), plain.workdir / "cramp_audit.duckdb",
                                               plain.run_id)
                log(f"  planted deviations: {result.planted.missed} missed, {result.planted.extra} extra")
        shutil.rmtree(plain.workdir, ignore_errors=True)
        if self.api_url and case.fmt in self.flow_formats:
            flow = self.child(case, "flow", attempt, self.api_url, "flow-server")
            result.flow.append(flow)
            log(f"  {case.name} #{attempt}: flow with server {flow.wall_s:.1f} s wall "
                f"(plain {plain.wall_s:.1f} s wall)")
            shutil.rmtree(flow.workdir, ignore_errors=True)

    def local_startup(self, result: CaseResult) -> LocalStartup | None:
        """Local mode on a case already measured with a server: the difference is Prefect's start-up."""
        local: list[float] = []
        try:
            for attempt in range(1, self.repeat + 1):
                run = self.child(result.case, "flow", attempt, None, "flow-local")
                local.append(run.wall_s)
                shutil.rmtree(run.workdir, ignore_errors=True)
        except MeasurementFailed as exc:
            log(f"  local mode FAILED: {exc}")
            return None
        shutil.rmtree(RUNS / result.case.name, ignore_errors=True)
        startup = LocalStartup(result.case, local, [r.wall_s for r in result.flow])
        log(f"  Prefect local mode: {median(local):.1f} s wall, {startup.seconds:.1f} s more than with a server")
        return startup


def report_lines(results: list[CaseResult], startup: LocalStartup | None, repeat: int, elapsed_s: float) -> list[str]:
    lines = ["# cramp-audit benchmark", "",
             f"`make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on "
             f"{_machine()}. Median of {repeat} run(s) per case; the whole benchmark took {elapsed_s / 60:.0f} min.",
             "", *results_table(results), "",
             "Targets (issue 14, \"Within 3x of the floor\"; each format against its own floor):", ""]
    lines += target_lines(judge_targets(results))
    lines += planted_lines(results)
    if startup is not None:
        lines.append(f"- Prefect local-mode start-up (no PREFECT_API_URL, minus the same flow with a server, "
                     f"{startup.case.patients:,} {startup.case.fmt}): {startup.seconds:.1f} s")
    lines += ["", "Step medians (plain functions):", "", *step_table(results), "", *_definitions()]
    return lines


def _machine() -> str:
    return f"{os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.0f} GiB, Python {platform.python_version()}"


def _definitions() -> list[str]:
    return ["Columns: **rows** = rows read over the six tables; **floor** = DuckDB parsing every column of every",
            "table file once (bench/floor.py says how): the CSV or Parquet table files, for FHIR every NDJSON file of",
            "the export (`read_json`, newline-delimited), for OMOP every CSV table file; **audit** = `run_audit` as",
            "plain functions (ingest, evaluate = cohort + rules + decide, publish with its reports) in a fresh",
            "process, imports excluded, with the format given (`--format`); **peak memory** = that process's peak",
            "RSS (wait4 rusage); **flow overhead** = wall time of the same audit through `flows.audit.run_flow`",
            "against a local Prefect server minus the plain process's wall time (both spawn to exit, imports",
            "included). Extracts come from `data_samples.generate --seed 42` (FHIR and OMOP converted from its",
            "CSV extract by bench/fhir_from_canonical.py and bench/omop_from_canonical.py) and are read from the",
            "OS page cache."]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    cases = selected_cases(args)
    sources = {case: ensure_extract(case.patients, case.fmt, log) for case in cases}
    log(f"extracts ready after {time.perf_counter() - started:.0f} s")
    results: list[CaseResult] = []
    startup = None
    with _maybe_server(not args.no_flow) as api_url:
        bench = Bench(args.repeat, args.memory_cap_gib, api_url, tuple(args.flow_formats.split(",")))
        for case in cases:
            log(f"measuring {case.patients:,} patients, {case.fmt}")
            results.append(bench.measure_case(case, sources[case]))
        if api_url and results and results[0].flow:
            log(f"Prefect local mode on {results[0].case.name}")
            startup = bench.local_startup(results[0])
    lines = report_lines(results, startup, args.repeat, time.perf_counter() - started)
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[2:]))
    log(f"written to {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}")
    return 0


def _maybe_server(wanted: bool) -> AbstractContextManager[str | None]:
    return prefect_server(log) if wanted else nullcontext(None)


if __name__ == "__main__":
    sys.exit(main())
