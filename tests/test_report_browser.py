"""report.html in a real browser (headless Chromium): it loads without console errors, the rendered
page shows the numbers of rule_summary.csv and its sections (results first, per-rule guideline, strata,
trend and reasons, provenance last), and it renders to a screenshot. Skipped when Chromium is not
installed (Debian: `apt-get install -y chromium`)."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cramp_audit.reports import format_percent, write_reports
from tests.report_fixture import RULES, RUN_ID, build_audit_db, read_rule_table
from tests.test_report_sections import add_sibling_tables

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_CANDIDATES if (path := shutil.which(name))), None)


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium invocation that stays off the network, with console messages on stderr."""
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def console_messages(stderr: str) -> list[str]:
    """Page console lines Chromium logs, e.g. `[..:INFO:CONSOLE:1] "Uncaught ...", source: file://...`.
    The page has no script, so any console message at all means something went wrong."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("chromium not installed: the browser check needs `chromium` on PATH (apt-get install -y chromium)")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    con = build_audit_db(root / "cramp.duckdb")
    add_sibling_tables(con)  # strata, reason codes and a trend, as the merged stages write them
    write_reports(con, RUN_ID, root / "out", suppress_below=11)
    return root / "out" / RUN_ID


def test_console_errors_are_detected(chromium: str, tmp_path: Path) -> None:
    """Negative control: the check below would see a console error if the page had one."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><p>x</p><script>console.error("planted error")</script>', encoding="utf-8")

    result = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())

    assert any("planted error" in line for line in console_messages(result.stderr))


def test_report_loads_without_console_errors_and_shows_rule_summary(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    result = run_chromium(chromium, tmp_path / "profile", "--dump-dom", (report / "report.html").as_uri())
    dom = result.stdout

    assert console_messages(result.stderr) == []
    with (report / "rule_summary.csv").open(encoding="utf-8-sig", newline="") as f:
        summary = list(csv.DictReader(f))
    shown = read_rule_table(dom)
    assert sorted(shown) == sorted(rule_id for rule_id, *_ in RULES)
    for row in summary:
        rate = float(row["deviation_rate_percent"]) if row["deviation_rate_percent"] else None
        shown_row = shown[row["rule_id"]]
        assert {c: shown_row[c] for c in ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations")} == {
            c: row[c] for c in ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations")}
        assert shown_row["deviation_rate"] == (format_percent(rate) if rate is not None else row["rate_note"])
    # rate per rule, rule × site, and a trend line for each rule with a rate in both runs
    assert len(re.findall(r"<svg\b", dom)) >= 3
    for section in ("rules", "rule-details", "sites", "cohort", "data-quality", "run-details"):
        assert f'id="{section}"' in dom, section
    assert dom.index('id="rules"') < dom.index('id="run-details"')  # results first, provenance last
    for text in ("Lower is better", "small numbers", "Top reasons for a deviation", "trend-chart",
                 "percentage points", 'data-stratum="age_band"'):
        assert text in dom, text
    assert not re.search(r"<(?:script|img|link|iframe)\b", dom)  # nothing the page could fetch


def test_report_renders_to_a_screenshot(chromium: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"

    result = run_chromium(chromium, tmp_path / "profile", "--hide-scrollbars", "--window-size=1100,3800",
                          f"--screenshot={shot}", (report / "report.html").as_uri())

    assert console_messages(result.stderr) == []
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 50_000  # a blank page compresses to a few kB


@pytest.mark.parametrize("section", ["rules", "rule-details", "cohort", "run-details"])
def test_each_section_renders_something_visible(chromium: str, report: Path, tmp_path: Path, section: str) -> None:
    """The page with every other top-level element hidden: a section that rendered nothing (an empty
    table, a chart that failed to draw) would screenshot like the blank control."""
    def shot(html: str, name: str) -> bytes:
        page = report / f".{name}.html"  # beside the report, so it reads the same way
        page.write_text(html, encoding="utf-8")
        try:
            png = tmp_path / f"{name}.png"
            result = run_chromium(chromium, tmp_path / "profile", "--hide-scrollbars", "--window-size=1100,1400",
                                  f"--screenshot={png}", page.as_uri())
            assert console_messages(result.stderr) == []
            return png.read_bytes()
        finally:
            page.unlink()

    html = (report / "report.html").read_text(encoding="utf-8")
    only = html.replace("</style>", f"body > *:not(#{section}) {{ display: none !important; }}</style>", 1)
    blank = html.replace("</style>", "body > * { display: none !important; }</style>", 1)

    assert len(shot(only, section)) > 3 * len(shot(blank, "blank"))
