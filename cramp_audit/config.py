"""Rule-pack parameters: the defaults of sql/parameters.toml, overlaid by a site's TOML file, each
checked against the range parameters.toml gives it, and handed to DuckDB as variables so the SQL
reads getvariable('followup_days')."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb

from cramp_audit.db import SQL_DIR, set_variable
from cramp_audit.stages import statement

DEFAULTS_PATH = SQL_DIR / "parameters.toml"
# rules.md: "the 365 days that end on the latest date in the extract", both ends inclusive.
DEFAULT_PERIOD_DAYS = 365

Number = int | float


class ConfigError(ValueError):
    """A configuration file the audit cannot use; the message names the file and the key."""


@dataclass(frozen=True)
class ParameterSpec:
    """One entry of sql/parameters.toml: where it lives, its default and the values it may take."""

    section: str
    key: str
    default: Number
    min: Number
    max: Number
    whole: bool

    @property
    def allowed(self) -> str:
        return f"{'a whole number' if self.whole else 'a number'} from {self.min} to {self.max}"

    def checked(self, value: object, path: Path) -> Number:
        """value if it is allowed (a whole number as int), else ConfigError naming file, key, value
        and range."""
        if (not _is_number(value) or (self.whole and value != int(value))
                or not self.min <= value <= self.max):
            raise ConfigError(f"{path}: [{self.section}] {self.key} = {_shown(value)} is not allowed: "
                              f"must be {self.allowed}")
        return int(value) if self.whole else value


def _shown(value: object) -> str:
    """A value as the user wrote it, short (the message is one line)."""
    text = str(value) if _is_number(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8 (TOML files are UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _is_number(value: object) -> bool:
    # TOML allows inf and nan; no window, age or dose can be either.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


SPEC_FIELDS = {"default", "min", "max", "whole"}


def parameter_specs(path: Path = DEFAULTS_PATH) -> dict[str, ParameterSpec]:
    """Every parameter of sql/parameters.toml by name (names are unique across sections), each
    default checked against its own range."""
    specs: dict[str, ParameterSpec] = {}
    for section, entries in _read_toml(path).items():
        for key, entry in entries.items():
            if key in specs:
                raise ConfigError(f"{path}: parameter {key!r} appears in [{specs[key].section}] "
                                  f"and [{section}]; names must be unique")
            if not isinstance(entry, dict) or set(entry) != SPEC_FIELDS or not isinstance(entry["whole"], bool) \
                    or not all(_is_number(entry[bound]) for bound in ("min", "max")):
                raise ConfigError(f"{path}: [{section}] {key} must be {{ default = ..., min = ..., max = ..., "
                                  "whole = true|false }")
            spec = ParameterSpec(section, key, entry["default"], entry["min"], entry["max"], entry["whole"])
            specs[key] = replace(spec, default=spec.checked(spec.default, path))
    return specs


def load_parameters(config_path: Path | None = None) -> dict[str, Number]:
    """Flat name -> value of every rule-pack parameter: the defaults, overlaid by a site file that
    uses the same [section] / key layout with plain values. An unknown section or key, or a value
    outside its range, is an error (ConfigError, one line)."""
    specs = parameter_specs()
    params: dict[str, Number] = {name: spec.default for name, spec in specs.items()}
    if config_path is None:
        return params

    sections = {spec.section for spec in specs.values()}
    overrides = _read_toml(Path(config_path))
    for section, values in overrides.items():
        if section not in sections:
            raise ConfigError(f"{config_path}: unknown section [{section}]; known sections: "
                              + ", ".join(dict.fromkeys(spec.section for spec in specs.values())))
        if not isinstance(values, dict):
            raise ConfigError(f"{config_path}: {section!r} must be a [section] of parameters")
        for key, value in values.items():
            spec = specs.get(key)
            if spec is None or spec.section != section:
                where = f" (it belongs in [{spec.section}])" if spec is not None else ""
                raise ConfigError(f"{config_path}: unknown parameter {key!r} in [{section}]{where}")
            params[key] = spec.checked(value, Path(config_path))
    return params


def set_parameters(con: duckdb.DuckDBPyConnection, params: dict[str, Number],
                   period_start: date | None = None, period_end: date | None = None,
                   data_end: date | None = None) -> tuple[date, date]:
    """SET VARIABLE for every parameter plus period_start / period_end (defaulted from the extract
    when not given: end = latest date in the whole extract, start = end - 364 days) and data_end
    (that latest date: where windows end). Returns the period."""
    # Assumption: DEFAULT_PERIOD_DAYS counts both ends, so the default period is exactly 365 days.
    # rules-v2.md: windows end at the end of the data (its latest event date, not the run date).
    loaded = con.execute(statement("table_exists"),  # the load's work.event_dates (load/work_tables.sql)
                         {"schema_name": "work", "table_name": "event_dates"}).fetchone()[0]
    # A shard of a sharded run is given the whole extract's data_end (cramp_audit/shards.py).
    if data_end is None:
        data_end = con.execute(statement("latest_date")).fetchone()[0] if loaded else None
    if period_end is None:
        if data_end is None:
            raise ConfigError("the extract holds no dates, so the audit period cannot be derived; "
                              "give --period-start and --period-end")
        period_end = data_end
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
    set_variable(con, "data_end", data_end or period_end, "DATE")
    return period_start, period_end
