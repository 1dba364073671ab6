"""What a benchmark run found: per case (size × format) the medians of its repeats, the issue's
targets judged PASS / FAIL, and the table printed and written to bench/results.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median

from bench.measure import ChildRun

GIB = 2**30
MILLION, HUNDRED_K = 1_000_000, 100_000


@dataclass(frozen=True, order=True)
class Case:
    patients: int
    fmt: str

    @property
    def name(self) -> str:
        return f"{self.fmt}-{self.patients}"


@dataclass
class PlantedCheck:
    """Planted (patient, rule) deviations against the audit's distinct (patient, rule) deviations."""

    expected: int
    found: int
    missed: int
    extra: int

    @property
    def passed(self) -> bool:
        return self.missed == 0 and self.extra == 0


@dataclass
class CaseResult:
    case: Case
    floor_s: list[float] = field(default_factory=list)
    plain: list[ChildRun] = field(default_factory=list)
    flow: list[ChildRun] = field(default_factory=list)   # through a Prefect server
    planted: PlantedCheck | None = None
    planted_skipped: str = ""   # why the planted check was not run on this case (when it could have been)
    error: str = ""

    @property
    def measured(self) -> bool:
        return bool(self.floor_s and self.plain)

    @property
    def rows(self) -> int:
        return self.plain[0].rows_read

    @property
    def floor(self) -> float:
        return median(self.floor_s)

    @property
    def audit(self) -> float:
        return median(r.run_s for r in self.plain)

    @property
    def ratio(self) -> float:
        return self.audit / self.floor

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.audit

    @property
    def cost_per_row(self) -> float:
        return self.audit / self.rows

    @property
    def peak_bytes(self) -> float:
        return median(r.peak_rss_bytes for r in self.plain)

    def step_medians(self) -> dict[str, float]:
        return {name: median(r.steps[name] for r in self.plain) for name in self.plain[0].steps}

    @property
    def slowest_step(self) -> str:
        steps = self.step_medians()
        name = max(steps, key=steps.__getitem__)
        return f"{name} {steps[name]:.1f} s ({100 * steps[name] / self.audit:.0f}%)"

    @property
    def flow_overhead(self) -> float | None:
        """Flow process wall time minus plain process wall time: Prefect's import, engine and API calls."""
        if not self.flow:
            return None
        return median(r.wall_s for r in self.flow) - median(r.wall_s for r in self.plain)


@dataclass
class LocalStartup:
    """Prefect's local mode (no PREFECT_API_URL: a temporary server per run) against a real server."""

    case: Case
    local_wall_s: list[float]
    server_wall_s: list[float]

    @property
    def seconds(self) -> float:
        return median(self.local_wall_s) - median(self.server_wall_s)


@dataclass(frozen=True)
class Target:
    text: str
    value: str
    passed: bool | None  # None: the cases it needs were not measured

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a "}[self.passed]


def _gib(value: float) -> str:
    return f"{value / GIB:.2f} GiB"


def results_table(results: list[CaseResult]) -> list[str]:
    lines = ["| size | format | rows | floor s | audit s | audit/floor | rows/s | peak memory | slowest step "
             "| flow overhead s |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in results:
        if not r.measured:
            floor = f"{r.floor:.2f}" if r.floor_s else ""
            lines.append(f"| {r.case.patients:,} | {r.case.fmt} | | {floor} | | | | | failed: {r.error} | |")
            continue
        overhead = "" if r.flow_overhead is None else f"{r.flow_overhead:.1f}"
        lines.append(f"| {r.case.patients:,} | {r.case.fmt} | {r.rows:,} | {r.floor:.2f} | {r.audit:.1f} | "
                     f"{r.ratio:.1f} | {r.rows_per_second:,.0f} | {_gib(r.peak_bytes)} | {r.slowest_step} | "
                     f"{overhead} |")
    return lines


def step_table(results: list[CaseResult]) -> list[str]:
    measured = [r for r in results if r.measured]
    if not measured:
        return []
    names = list(measured[0].step_medians())
    lines = ["| size | format | " + " | ".join(f"{n} s" for n in names) + " |",
             "|---:|---|" + "---:|" * len(names)]
    for r in measured:
        steps = r.step_medians()
        lines.append(f"| {r.case.patients:,} | {r.case.fmt} | " + " | ".join(f"{steps[n]:.1f}" for n in names) + " |")
    return lines


FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet", "fhir": "FHIR", "omop": "OMOP"}
FLOOR_OF = {"csv": "its CSV floor", "parquet": "its Parquet floor", "fhir": "its NDJSON floor",
            "omop": "its CSV floor"}
# Issue 14 ("Within 3x of the floor"), at 1 000 000 patients.
RATIO_LIMITS = {"csv": 3.0, "parquet": 5.0, "fhir": 4.0, "omop": 4.0}
PEAK_LIMIT = 4 * GIB
COST_GROWTH_LIMIT = 1.2          # cost per row at 1M against 100k
COST_FORMATS = ("csv", "parquet")
RULES_STEP = "evaluate"          # the child's step of cohort + rules + decide (pipeline.evaluate)
RULES_SHARE_LIMIT = 0.10
RULES_FORMATS = ("csv", "parquet")
FLOW_OVERHEAD_LIMIT_S = 5.0


def _find(results: list[CaseResult], patients: int, fmt: str) -> CaseResult | None:
    return next((r for r in results if r.case == Case(patients, fmt) and r.measured), None)


def _failure(results: list[CaseResult], patients: int, fmt: str) -> str | None:
    """Why a case that was attempted did not finish (e.g. stopped at the memory cap), else None."""
    failed = next((r for r in results if r.case == Case(patients, fmt) and not r.measured), None)
    if failed is None:
        return None
    return f"{fmt} {patients:,} run failed ({(failed.error or 'no measurement').split(';')[0]})"


def _judge(results: list[CaseResult], text: str, cases: list[tuple[int, str]],
           value: Callable[..., tuple[str, bool | None]]) -> Target:
    """A target over CASES: FAIL when one of them did not finish, n/a when one was not measured,
    else VALUE(*measured cases) -> (shown value, passed)."""
    found = []
    for patients, fmt in cases:
        failure = _failure(results, patients, fmt)
        if failure is not None:
            return Target(text, failure, False)
        result = _find(results, patients, fmt)
        if result is None:
            return Target(text, f"not measured ({fmt} {patients:,})", None)
        found.append(result)
    shown, passed = value(*found)
    return Target(text, shown, passed)


def _ratio(result: CaseResult, limit: float) -> tuple[str, bool]:
    return f"{result.ratio:.2f}", result.ratio <= limit


def _cost_growth(at_1m: CaseResult, at_100k: CaseResult) -> tuple[str, bool]:
    growth = at_1m.cost_per_row / at_100k.cost_per_row
    return f"{growth:.2f}×", growth <= COST_GROWTH_LIMIT


def _rules_share(result: CaseResult) -> tuple[str, bool | None]:
    steps = result.step_medians()
    if RULES_STEP not in steps:
        return f"no '{RULES_STEP}' step among {', '.join(steps) or 'none'}", None
    share = steps[RULES_STEP] / result.audit
    return f"{100 * share:.1f} % ({steps[RULES_STEP]:.1f} of {result.audit:.1f} s)", share <= RULES_SHARE_LIMIT


def _flow_overhead(result: CaseResult) -> tuple[str, bool | None]:
    overhead = result.flow_overhead
    if overhead is None:
        return "not measured (flows skipped)", None
    return f"{overhead:.1f} s", overhead < FLOW_OVERHEAD_LIMIT_S


def judge_targets(results: list[CaseResult]) -> list[Target]:
    """Issue 14's targets on 1 000 000 patients, per format: audit/floor against the format's own
    floor, peak memory, cost per row against 100 000 patients, the rules step's share of the run; and
    the Prefect flow's overhead (1M CSV). A case a target needs that was not measured makes it n/a;
    one that was attempted but did not finish makes it FAIL."""
    targets = []
    for fmt, limit in RATIO_LIMITS.items():
        targets.append(_judge(results, f"audit/floor ≤ {limit:g} at 1M ({FORMAT_NAMES[fmt]}, against {FLOOR_OF[fmt]})",
                              [(MILLION, fmt)], lambda r, limit=limit: _ratio(r, limit)))
    for fmt in RATIO_LIMITS:
        targets.append(_judge(results, f"peak memory ≤ {PEAK_LIMIT / GIB:g} GiB at 1M ({FORMAT_NAMES[fmt]})",
                              [(MILLION, fmt)], lambda r: (_gib(r.peak_bytes), r.peak_bytes <= PEAK_LIMIT)))
    for fmt in COST_FORMATS:
        targets.append(_judge(results, f"cost per row at 1M ≤ {COST_GROWTH_LIMIT:g}× that at 100k "
                                       f"({FORMAT_NAMES[fmt]})",
                              [(MILLION, fmt), (HUNDRED_K, fmt)], _cost_growth))
    for fmt in RULES_FORMATS:
        targets.append(_judge(results, f"rules step (cohort + rules + decide, step '{RULES_STEP}') "
                                       f"≤ {100 * RULES_SHARE_LIMIT:g} % of the run at 1M ({FORMAT_NAMES[fmt]})",
                              [(MILLION, fmt)], _rules_share))
    targets.append(_judge(results, f"Prefect flow adds < {FLOW_OVERHEAD_LIMIT_S:g} s over plain functions, "
                                   "with a server (1M CSV)", [(MILLION, "csv")], _flow_overhead))
    return targets


def target_lines(targets: list[Target]) -> list[str]:
    return [f"- {t.verdict} {t.text}: {t.value}" for t in targets]


def planted_lines(results: list[CaseResult]) -> list[str]:
    lines = []
    for r in results:
        if r.planted_skipped:
            lines.append(f"- n/a  planted deviations at {r.case.patients:,} ({r.case.fmt}): {r.planted_skipped}")
        if r.planted is not None:
            p = r.planted
            lines.append(f"- {'PASS' if p.passed else 'FAIL'} planted deviations at {r.case.patients:,} "
                         f"({r.case.fmt}): {p.expected:,} planted, {p.found:,} found, "
                         f"{p.missed:,} missed, {p.extra:,} extra")
    return lines
