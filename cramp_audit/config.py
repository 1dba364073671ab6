"""Rule-pack parameters: the defaults of sql/parameters.toml, overlaid by a site's TOML file, and
handed to DuckDB as variables so the SQL reads getvariable('followup_days')."""

from __future__ import annotations

import math
import tomllib
from datetime import date, timedelta
from pathlib import Path

import duckdb

from cramp_audit.db import SQL_DIR, set_variable, sql_text

DEFAULTS_PATH = SQL_DIR / "parameters.toml"
# rules.md: "the 365 days that end on the latest date in the extract", both ends inclusive.
DEFAULT_PERIOD_DAYS = 365

Number = int | float


class ConfigError(ValueError):
    """A configuration file the audit cannot use; the message names the file and the key."""


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _is_number(value: object) -> bool:
    # TOML allows inf and nan; no window, age or dose can be either.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def load_parameters(config_path: Path | None = None) -> dict[str, Number]:
    """Flat name -> value of every rule-pack parameter (names are unique across sections).
    A user file uses the same [section] / key layout; an unknown section or key is an error."""
    defaults = _read_toml(DEFAULTS_PATH)
    params: dict[str, Number] = {}
    section_of: dict[str, str] = {}
    for section, values in defaults.items():
        for key, value in values.items():
            if key in params:
                raise ConfigError(f"{DEFAULTS_PATH}: parameter {key!r} appears in [{section_of[key]}] "
                                  f"and [{section}]; names must be unique")
            params[key] = value
            section_of[key] = section
    if config_path is None:
        return params

    overrides = _read_toml(Path(config_path))
    for section, values in overrides.items():
        if section not in defaults:
            raise ConfigError(f"{config_path}: unknown section [{section}]; known sections: "
                              + ", ".join(defaults))
        if not isinstance(values, dict):
            raise ConfigError(f"{config_path}: {section!r} must be a [section] of parameters")
        for key, value in values.items():
            if key not in defaults[section]:
                where = f" (it belongs in [{section_of[key]}])" if key in section_of else ""
                raise ConfigError(f"{config_path}: unknown parameter {key!r} in [{section}]{where}")
            if not _is_number(value):
                raise ConfigError(f"{config_path}: parameter {key!r} in [{section}] must be a number, "
                                  f"got {value!r}")
            if isinstance(defaults[section][key], int):  # days, ages, mg: whole numbers stay whole
                if value != int(value):
                    raise ConfigError(f"{config_path}: parameter {key!r} in [{section}] must be a whole "
                                      f"number, got {value!r}")
                value = int(value)
            params[key] = value
    return params


def latest_extract_date(con: duckdb.DuckDBPyConnection) -> date:
    """The latest date in any date column of staging.* (sql/period.sql)."""
    latest = con.execute(sql_text("period.sql")).fetchone()[0]
    if latest is None:
        raise ConfigError("the extract holds no dates, so the audit period cannot be derived; "
                          "give --period-start and --period-end")
    return latest


def set_parameters(con: duckdb.DuckDBPyConnection, params: dict[str, Number],
                   period_start: date | None = None, period_end: date | None = None) -> tuple[date, date]:
    """SET VARIABLE for every parameter plus period_start / period_end (defaulted from the extract
    when not given: end = latest date in staging, start = end - 364 days). Returns the period."""
    # Assumption: DEFAULT_PERIOD_DAYS counts both ends, so the default period is exactly 365 days.
    if period_end is None:
        period_end = latest_extract_date(con)
    if period_start is None:
        period_start = period_end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if period_start > period_end:
        raise ConfigError(f"the audit period starts ({period_start}) after it ends ({period_end})")
    for name, value in params.items():
        if not name.isidentifier():
            raise ConfigError(f"parameter name {name!r} is not a plain identifier")
        # Integers stay INTEGER (date arithmetic needs them); the rest DOUBLE.
        set_variable(con, name, value, "INTEGER" if isinstance(value, int) else "DOUBLE")
    set_variable(con, "period_start", period_start, "DATE")
    set_variable(con, "period_end", period_end, "DATE")
    return period_start, period_end
