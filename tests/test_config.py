"""Rule-pack parameters: sql/parameters.toml defaults, a site's overrides, DuckDB variables."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cramp_audit.cli import main
from cramp_audit.config import ConfigError, load_parameters, parameter_specs, set_parameters
from tests.deck import cramps_patient, lab, load_rows, patient
from tests.extract_builder import write_extract

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
    ("[cohort]\nfollowup_days = \"ninety\"\n", "followup_days = 'ninety' is not allowed: must be a whole number"),
    ("[cohort]\nfollowup_days = inf\n", "followup_days = inf is not allowed: must be a whole number"),
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
    """rules.md: defaults: the 365 days that end on the latest date in the extract, the whole extract's:
    here a lab of a patient without leg cramps, whose rows staging does not keep."""
    con = duckdb.connect()
    load_rows(con, [*cramps_patient("c", on=date(2025, 3, 1)), patient("other"),
                    lab("other", "2823-3", on=date(2025, 6, 30), value=4.1, unit="mmol/L")], "run-1")
    assert con.execute("SELECT count(*) FROM staging.labs").fetchone() == (0,)
    assert set_parameters(con, load_parameters()) == (date(2024, 7, 1), date(2025, 6, 30))
    assert set_parameters(con, load_parameters(), period_end=date(2025, 12, 31)) == (
        date(2025, 1, 1), date(2025, 12, 31))


def test_an_extract_without_dates_needs_an_explicit_period() -> None:
    """Nothing loaded (no event date at all): the period cannot be derived."""
    con = duckdb.connect()
    con.execute((SQL_DIR / "schema" / "staging.sql").read_text())
    with pytest.raises(ConfigError, match="period"):
        set_parameters(con, load_parameters())


def test_every_shipped_parameter_has_a_range_its_default_passes() -> None:
    specs = parameter_specs()
    assert set(specs) == set(load_parameters())
    for spec in specs.values():
        assert spec.min <= spec.default <= spec.max, spec
        assert isinstance(spec.default, int) == spec.whole, spec
    assert (specs["suppress_below"].min, specs["followup_days"].max) == (1, 3650)


@pytest.mark.parametrize("text, message", [
    ("[reports]\nsuppress_below = -5\n", "[reports] suppress_below = -5 is not allowed: "
                                         "must be a whole number from 1 to 1000"),
    ("[cohort]\nfollowup_days = 1e308\n", "[cohort] followup_days = 1e+308 is not allowed: "
                                          "must be a whole number from 1 to 3650"),
    ("[cohort]\nfollowup_days = 0\n", "[cohort] followup_days = 0 is not allowed"),
    ("[labs]\nmg_low_mmol = 1.7\n", "[labs] mg_low_mmol = 1.7 is not allowed: must be a number from 0.4 to 1.1"),
    ("[labs]\nk_low_mmol = -3.5\n", "[labs] k_low_mmol = -3.5 is not allowed"),
    ("[LC-NSAID-ELDERLY]\nelderly_age = 650\n", "[LC-NSAID-ELDERLY] elderly_age = 650 is not allowed"),
    ("[cohort]\nfollowup_days = true\n", "[cohort] followup_days = True is not allowed"),
    ("[cohort]\nfollowup_days = { default = 90 }\n", "followup_days = {'default': 90} is not allowed"),
    ("[cohort]\nfollowup_days = [90]\n", "followup_days = [90] is not allowed"),
    ("[cohort]\nfollowup_days = \"" + "9" * 500 + "\"\n", "followup_days = '99999"),
])
def test_a_value_outside_its_range_is_refused_naming_file_key_value_and_range(
        tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "site.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_parameters(config)
    assert str(refused.value).startswith(f"{config}: ") and message in str(refused.value)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < len(str(config)) + 200


def test_the_ends_of_a_range_are_allowed(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[cohort]\nfollowup_days = 3650.0\nmin_age_years = 0\n[labs]\nmg_low_mmol = 0.4\n"
                      "[reports]\nsuppress_below = 1\n")
    params = load_parameters(config)
    assert (params["followup_days"], params["min_age_years"], params["mg_low_mmol"], params["suppress_below"]) == (
        3650, 0, 0.4, 1)
    assert isinstance(params["followup_days"], int)


@pytest.mark.parametrize("entry, message", [
    ("x_days = 30", "must be { default = ..., min = ..., max = ..., whole = true|false }"),
    ("x_days = { default = 30, min = 1, whole = true }", "must be { default"),
    ("x_days = { default = 30, min = 1, max = 10, whole = true }", "[s] x_days = 30 is not allowed"),
    ("x_days = { default = 1.5, min = 1, max = 10, whole = true }", "[s] x_days = 1.5 is not allowed"),
])
def test_a_defaults_file_without_a_usable_range_is_refused(tmp_path: Path, entry: str, message: str) -> None:
    defaults = tmp_path / "parameters.toml"
    defaults.write_text(f"[s]\n{entry}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        parameter_specs(defaults)


@pytest.mark.parametrize("command", ["run", "schedule", "rules"])
def test_the_command_refuses_a_bad_parameter_before_reading_the_extract(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[reports]\nsuppress_below = -5\n")
    source = write_extract(tmp_path / "extract")
    db = tmp_path / "cramp.duckdb"
    argv = {"run": ["run", str(source), "--no-prefect", "--db", str(db), "--reports", str(tmp_path / "reports")],
            "schedule": ["schedule", "--cron", "0 6 * * 1", str(source), "--db", str(db)],
            "rules": ["rules"]}[command]
    assert main([*argv, "--config", str(config)]) == 2
    assert capsys.readouterr().err == (f"cramp-audit: error: {config}: [reports] suppress_below = -5 is not "
                                       "allowed: must be a whole number from 1 to 1000\n")
    assert not db.exists() and not (tmp_path / "reports").exists()
