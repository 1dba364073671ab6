"""Rule-pack parameters: sql/parameters.toml defaults, a site's overrides, DuckDB variables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from cramp_audit.config import ConfigError, load_parameters, set_parameters

SQL_DIR = Path(__file__).parents[1] / "sql"


def test_defaults_are_a_flat_dict_of_rules_md_values() -> None:
    params = load_parameters()
    assert params["followup_days"] == 180 and params["mg_low_mmol"] == 0.70 and params["k_low_mmol"] == 3.5
    assert params["egfr_min"] == 30 and params["mgo_min_mg"] == 480 and params["mgo_max_mg"] == 960
    assert params["baclofen_step_min_days"] == 7 and params["elderly_age"] == 65
    assert all(isinstance(v, int | float) for v in params.values())


def test_a_site_file_overrides_with_the_same_layout(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[cohort]\nfollowup_days = 90\n\n[labs]\nmg_low_mmol = 0.75\n")
    params = load_parameters(config)
    assert params["followup_days"] == 90 and params["mg_low_mmol"] == 0.75
    assert params["k_low_mmol"] == 3.5  # untouched


@pytest.mark.parametrize("text, message", [
    ("[cohort]\nfollowup_dayz = 90\n", "unknown parameter 'followup_dayz' in [cohort]"),
    ("[labs]\nfollowup_days = 90\n", "it belongs in [cohort]"),
    ("[nonsense]\nx = 1\n", "unknown section [nonsense]"),
    ("[cohort]\nfollowup_days = \"ninety\"\n", "must be a number"),
    ("[cohort]\nfollowup_days = inf\n", "must be a number"),
    ("[labs]\nmg_low_mmol = nan\n", "must be a number"),
    ("[cohort]\nfollowup_days = 90.5\n", "must be a whole number"),
    ("[cohort\n", "not valid TOML"),
])
def test_a_bad_site_file_is_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "site.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_parameters(config)


def test_parameters_become_duckdb_variables() -> None:
    con = duckdb.connect()
    start, end = set_parameters(con, load_parameters(), date(2025, 1, 1), date(2025, 12, 31))
    assert (start, end) == (date(2025, 1, 1), date(2025, 12, 31))
    row = con.execute("SELECT getvariable('followup_days'), typeof(getvariable('followup_days')), "
                      "getvariable('mg_low_mmol'), getvariable('period_start') + getvariable('followup_days')"
                      ).fetchone()
    assert row == (180, "INTEGER", 0.7, date(2025, 6, 30))


def test_default_period_is_the_365_days_ending_on_the_latest_date_in_the_extract() -> None:
    """rules.md: defaults: the 365 days that end on the latest date in the extract."""
    con = duckdb.connect()
    con.execute((SQL_DIR / "staging.sql").read_text())
    con.execute("INSERT INTO staging.patients (patient_id, birth_date) VALUES ('p', DATE '1950-01-01')")
    con.execute("INSERT INTO staging.labs (patient_id, code_system, code, collected_date) "
                "VALUES ('p', 'LOINC', '2823-3', DATE '2025-06-30')")
    assert set_parameters(con, load_parameters()) == (date(2024, 7, 1), date(2025, 6, 30))
    assert set_parameters(con, load_parameters(), period_end=date(2025, 12, 31)) == (
        date(2025, 1, 1), date(2025, 12, 31))


def test_an_extract_without_dates_needs_an_explicit_period() -> None:
    con = duckdb.connect()
    con.execute((SQL_DIR / "staging.sql").read_text())
    with pytest.raises(ConfigError, match="period"):
        set_parameters(con, load_parameters())
