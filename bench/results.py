"""What a benchmark run found: per case (size × format) the medians of its repeats, the issue's
targets judged PASS / FAIL, and the table printed and written to bench/results.md."""

from __future__ import annotations

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


def _find(results: list[CaseResult], patients: int, fmt: str) -> CaseResult | None:
    return next((r for r in results if r.case == Case(patients, fmt) and r.measured), None)


def _failed(results: list[CaseResult]) -> list[CaseResult]:
    """1M cases that were attempted but did not finish (e.g. stopped at the memory cap)."""
    return [r for r in results if r.case.patients == MILLION and not r.measured]


def _ratio_target(result: CaseResult | None, fmt: str, limit: float) -> Target:
    text = f"audit/floor ≤ {limit:g} at 1M ({fmt})"
    if result is None:
        return Target(text, "not measured", None)
    return Target(text, f"{result.ratio:.2f}", result.ratio <= limit)


def judge_targets(results: list[CaseResult]) -> list[Target]:
    """The issue's targets on 1 000 000 patients (growth and cost per row against 100 000, CSV). A 1M
    case that did not finish fails every target."""
    failed = _failed(results)
    if failed:
        why = "; ".join(f"{r.case.fmt} run failed ({r.error.split(';')[0]})" for r in failed)
        return [Target("all targets at 1M", why, False)]
    csv_1m, parquet_1m, csv_100k = (_find(results, MILLION, "csv"), _find(results, MILLION, "parquet"),
                                    _find(results, HUNDRED_K, "csv"))
    targets = [_ratio_target(csv_1m, "CSV", 3), _ratio_target(parquet_1m, "Parquet", 5)]
    at_1m = [r for r in (csv_1m, parquet_1m) if r is not None]
    if at_1m:
        peak = max(r.peak_bytes for r in at_1m)
        targets.append(Target("peak memory < 6 GiB at 1M", _gib(peak), peak < 6 * GIB))
    else:
        targets.append(Target("peak memory < 6 GiB at 1M", "not measured", None))
    if csv_1m and csv_100k:
        growth = csv_1m.peak_bytes / csv_100k.peak_bytes
        cost = csv_1m.cost_per_row / csv_100k.cost_per_row
        targets += [Target("peak memory grows ≤ 10× from 100k to 1M (CSV)", f"{growth:.1f}×", growth <= 10),
                    Target("cost per row at 1M ≤ 1.3× that at 100k (CSV)", f"{cost:.2f}×", cost <= 1.3)]
    else:
        targets += [Target("peak memory grows ≤ 10× from 100k to 1M (CSV)", "not measured", None),
                    Target("cost per row at 1M ≤ 1.3× that at 100k (CSV)", "not measured", None)]
    overhead = csv_1m.flow_overhead if csv_1m else None
    targets.append(Target("Prefect flow adds < 5 s over plain functions, with a server (1M CSV)",
                          "not measured" if overhead is None else f"{overhead:.1f} s",
                          None if overhead is None else overhead < 5))
    return targets


def target_lines(targets: list[Target]) -> list[str]:
    return [f"- {t.verdict} {t.text}: {t.value}" for t in targets]


def planted_lines(results: list[CaseResult]) -> list[str]:
    lines = []
    for r in results:
        if r.planted is not None:
            p = r.planted
            lines.append(f"- {'PASS' if p.passed else 'FAIL'} planted deviations at {r.case.patients:,} "
                         f"({r.case.fmt}): {p.expected:,} planted, {p.found:,} found, "
                         f"{p.missed:,} missed, {p.extra:,} extra")
    return lines
