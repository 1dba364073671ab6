"""Seeded generator of canonical extracts with known answers.

    python -m cramp_audit.data_samples.generate --patients N --out DIR [--seed 42] [--format csv|parquet]
        [--bad-rows/--no-bad-rows] [--as-of 2026-06-30] [--history-years 5] [--cramp-fraction 0.04]
        [--chunk-patients 200000]

Writes the six canonical tables of shared/spec/extract-format.md into DIR and, beside them, what an
audit of that extract must find (default parameters, default period = the 365 days ending on the
latest date in the extract, which is always --as-of: one encounter is put on that day and no
loaded date is later):

- planted_deviations.csv  patient_id, rule_id: every (patient, rule) that is a deviation
- expected_cohort.csv     patient_id, index_date
- planted_scenarios.csv   patient_id, scenario, in_cohort, reference_date (day 0 of the template)
- expected_quarantine.csv table, source_row, action, field, kind: the deliberately bad rows
  (source_row is 1-based, header excluded, as in audit.quarantine)

Most patients are background population (background.py); a few percent are leg-cramp patients,
each following one scenario template (scenarios.py has the table of templates and the rules each
one plants). Small runs are enriched so that every template appears at least once.

Bad rows (--bad-rows, on by default, 13 rows whatever the size) are appended at the end of their
table and only ever copy rows of background patients, so they never touch planted evidence. In
Parquet output the two kinds a typed column cannot hold (an unparseable date, a non-numeric lab
value) are left out, and expected_quarantine.csv says so by not listing them.

Everything is built column-wise with polars and written chunk by chunk (--chunk-patients), so a
million patients (~50M rows) stay within a few minutes and a few GB of memory. Random draws are
hashes of (seed, stream, patient, row), so the output is deterministic for a seed and does not
depend on the chunk size.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow.parquet as pq
from cramp_audit.data_samples.background import PROVIDERS_PER_SITE, SITES, Background
from cramp_audit.data_samples.rng import Rng
from cramp_audit.data_samples.scenarios import CONCEPTS, CRAMP, CRAMP_CODES, FROM_CONCEPT, SCENARIOS
from cramp_audit.schemas.spec import TABLES

EPOCH = date(1970, 1, 1)
DEFAULT_AS_OF = date(2026, 6, 30)
# Index dates fall in [as_of - 330, as_of - 200]: well inside the default period, and the 180-day
# follow-up (plus the day-195 scenario) ends before as_of.
INDEX_LATEST_DAYS_BEFORE_AS_OF = 200
INDEX_SPREAD_DAYS = 131
AGE_MARGIN_YEARS = 0.02  # keep drawn ages ~1 week away from a template's age-band edges
BACKGROUND_DEATH_RATE = 0.025
EXPECTATION_FILES = ("planted_deviations.csv", "expected_cohort.csv", "planted_scenarios.csv",
                     "expected_quarantine.csv")
# The bundled sample: `python -m cramp_audit.data_samples.generate --out data_samples/sample` + these arguments
# (README.md; a test regenerates it and compares the files).
SAMPLE_DIR = Path(__file__).with_name("sample")
SAMPLE_ARGUMENTS = ("--patients", "400", "--seed", "7", "--history-years", "1")
BAD_ROW_DONORS = 20  # background rows kept per table to copy bad rows from
# Sort key "order" within a patient and day: background event number j, then scenario events.
SCENARIO_ORDER = pl.col("seq") + 10_000
ANCHOR_ORDER = 1_000_000

_DTYPES: dict[str, pl.DataType] = {"text": pl.String(), "date": pl.Date(), "number": pl.Float64()}
OUTPUT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    table.name: {column.name: _DTYPES[column.dtype] for column in table.columns} for table in TABLES
}


@dataclass(frozen=True)
class Config:
    patients: int
    out: Path
    seed: int = 42
    fmt: str = "csv"
    bad_rows: bool = True
    as_of: date = DEFAULT_AS_OF
    history_years: float = 5.0
    cramp_fraction: float = 0.04
    chunk_patients: int = 200_000

    @property
    def as_of_day(self) -> int:
        return (self.as_of - EPOCH).days


# ---------------------------------------------------------------------------------------------
# Which patient follows which scenario
# ---------------------------------------------------------------------------------------------
def scenario_counts(patients: int, cramp_fraction: float) -> list[int]:
    """Patients per scenario: proportional to the weights, at least one each (so small runs are
    enriched); if that would be more than half the patients, one each for as many templates as
    half the patients allow."""
    target = patients * cramp_fraction
    total_weight = sum(s.weight for s in SCENARIOS)
    counts = [max(1, round(s.weight / total_weight * target)) for s in SCENARIOS]
    if sum(counts) > patients // 2:
        room = patients // 2
        counts = [1 if i < room else 0 for i in range(len(SCENARIOS))]
    return counts


def assign_scenarios(config: Config, rng: Rng) -> pl.DataFrame:
    """(idx, scenario) for every scenario patient: patients picked by a random ranking, templates
    dealt out in a random order."""
    counts = scenario_counts(config.patients, config.cramp_fraction)
    slots = pl.DataFrame({"scenario": [i for i, n in enumerate(counts) for _ in range(n)]},
                         schema={"scenario": pl.Int64})
    slots = slots.with_row_index("slot").sort(rng.uniform("assign:slot", "slot"), "slot")
    picked = (pl.DataFrame({"idx": pl.int_range(0, config.patients, eager=True)})
              .sort(rng.uniform("assign:patient", "idx"), "idx").head(slots.height))
    return picked.with_columns(scenario=slots["scenario"]).sort("idx")


def anchor_patient(assignment: pl.DataFrame) -> int:
    """The first background patient: kept alive and given an encounter on the as-of date."""
    taken = set(assignment["idx"].to_list())
    return next(i for i in range(len(taken) + 1) if i not in taken)


def scenario_attributes() -> pl.DataFrame:
    return pl.DataFrame(
        [{"scenario": i, "age_low": float(s.age[0]), "age_high": float(s.age[1]),
          "birthday_after_index": s.birthday_after_index, "death_offset": s.death_day, "in_cohort": s.cohort,
          "scenario_name": s.name}
         for i, s in enumerate(SCENARIOS)],
        schema={"scenario": pl.Int64, "age_low": pl.Float64, "age_high": pl.Float64,
                "birthday_after_index": pl.Int64, "death_offset": pl.Int64, "in_cohort": pl.Boolean,
                "scenario_name": pl.String},
    )


# ---------------------------------------------------------------------------------------------
# Patients of one chunk
# ---------------------------------------------------------------------------------------------
def _weighted_choice(u: pl.Expr, labels: list[str], weights: list[float]) -> pl.Expr:
    """labels[i] with probability weights[i] / sum(weights), for u uniform in [0, 1)."""
    total, running, bounds = sum(weights), 0.0, []
    for weight in weights[:-1]:
        running += weight
        bounds.append(running / total)
    expr = pl.lit(labels[-1])
    for label, bound in reversed(list(zip(labels[:-1], bounds, strict=True))):
        expr = pl.when(u < bound).then(pl.lit(label)).otherwise(expr)
    return expr


def _site_number(rng: Rng) -> pl.Expr:
    labels = [site[1:] for site, _ in SITES]
    return _weighted_choice(rng.uniform("patient:site", "idx"), labels, [w for _, w in SITES])


def _background_birth_day(rng: Rng, as_of_day: int) -> pl.Expr:
    """18% children, 57% adults under 65, 25% aged 65-95."""
    u_band, u_age = rng.uniform("patient:age-band", "idx"), rng.uniform("patient:age", "idx")
    age = (pl.when(u_band < 0.18).then(u_age * 18).when(u_band < 0.75).then(18 + u_age * 47)
           .otherwise(65 + u_age * 30))
    return as_of_day - (age * 365.25).floor().cast(pl.Int64)


def _scenario_birth_day(rng: Rng) -> pl.Expr:
    """Age drawn inside the template's band (minus a small margin), or an exact birthday."""
    u = rng.uniform("patient:scenario-age", "idx")
    span = (pl.col("age_high") - pl.col("age_low") - 2 * AGE_MARGIN_YEARS).clip(lower_bound=0)
    age = pl.col("age_low") + AGE_MARGIN_YEARS + u * span
    banded = pl.col("index_day") - (age * 365.25).floor().cast(pl.Int64)
    index_date = pl.col("index_day").cast(pl.Int32).cast(pl.Date)
    birthday = index_date.dt.offset_by(pl.format("-{}y", pl.col("age_low").cast(pl.Int64)))
    exact = birthday.cast(pl.Int32).cast(pl.Int64) + pl.col("birthday_after_index")
    return pl.when(pl.col("birthday_after_index").is_not_null()).then(exact).otherwise(banded)


def patients_chunk(config: Config, rng: Rng, assignment: pl.DataFrame, anchor: int, lo: int, hi: int
                   ) -> pl.DataFrame:
    """One row per patient idx in [lo, hi) with everything later steps need."""
    as_of_day = config.as_of_day
    frame = (pl.DataFrame({"idx": pl.int_range(lo, hi, eager=True)})
             .join(assignment.filter(pl.col("idx").is_between(lo, hi - 1)), on="idx", how="left")
             .join(scenario_attributes(), on="scenario", how="left"))
    is_scenario = pl.col("scenario").is_not_null()
    u_sex = rng.uniform("patient:sex", "idx")
    frame = frame.with_columns(
        num=(pl.col("idx") + 1).cast(pl.String).str.zfill(7),
        site_number=_site_number(rng),
        sex=_weighted_choice(u_sex, ["F", "M", "U", "O"], [51.0, 48.6, 0.3, 0.1]),
        index_day=pl.when(is_scenario).then(
            as_of_day - INDEX_LATEST_DAYS_BEFORE_AS_OF - rng.below("patient:index", INDEX_SPREAD_DAYS, "idx")),
    ).with_columns(
        patient_id="P" + pl.col("num"),
        site_id="S" + pl.col("site_number"),
        birth_day=pl.when(is_scenario).then(_scenario_birth_day(rng)).otherwise(
            _background_birth_day(rng, as_of_day)),
    )
    background_dies = ((rng.uniform("patient:death", "idx") < BACKGROUND_DEATH_RATE) & (pl.col("idx") != anchor))
    background_death = pl.max_horizontal(pl.col("birth_day"),
                                         as_of_day - 1 - rng.below("patient:death-day", 1826, "idx"))
    frame = frame.with_columns(
        death_day=pl.when(is_scenario).then(pl.col("index_day") + pl.col("death_offset"))
        .when(background_dies).then(background_death),
    ).with_columns(last_day=pl.coalesce(pl.col("death_day"), pl.lit(as_of_day)))
    # Background history: the last --history-years of the patient's life inside the extract.
    history_days = round(config.history_years * 365.25)
    return frame.with_columns(
        first_day=pl.max_horizontal(pl.col("birth_day"), pl.col("last_day") - history_days),
        neutral=is_scenario,
    )


def patient_rows(patients: pl.DataFrame) -> pl.DataFrame:
    return patients.select("idx", patient_id="patient_id", birth_date="birth_day", sex="sex",
                           death_date="death_day", site_id="site_id", day="birth_day", order=pl.lit(0))


# ---------------------------------------------------------------------------------------------
# Scenario rows of one chunk
# ---------------------------------------------------------------------------------------------
def _concept_frame() -> pl.DataFrame:
    """Concept key -> coded columns; the leg-cramps codes appear as keys 'cramp#<n>'."""
    keyed = [(key, c) for key, c in CONCEPTS.items()] + [(f"{CRAMP}#{n}", c) for n, (c, _) in enumerate(CRAMP_CODES)]
    return pl.DataFrame(
        [{"concept": key, "code_system": c.system, "code": c.code, "description": c.description, "unit": c.unit,
          "concept_route": c.route, "ref_low": c.ref_low, "ref_high": c.ref_high} for key, c in keyed],
        schema={"concept": pl.String, "code_system": pl.String, "code": pl.String, "description": pl.String,
                "unit": pl.String, "concept_route": pl.String, "ref_low": pl.Float64, "ref_high": pl.Float64},
    )


def _events_frame() -> pl.DataFrame:
    """Every event of every template, one row each (seq numbers events within a template)."""
    rows = []
    for number, scenario in enumerate(SCENARIOS):
        for seq, e in enumerate(scenario.events):
            rows.append({
                "scenario": number, "seq": seq, "table": e.table, "concept": e.concept, "offset": e.day,
                "end_offset": e.end_day, "dose": e.dose, "freq": e.freq, "status": e.status,
                "route_from_concept": e.route == FROM_CONCEPT,
                "event_route": None if e.route == FROM_CONCEPT else e.route,
                "value_low": e.value[0] if e.value else None, "value_high": e.value[1] if e.value else None,
                "value_text": e.text,
            })
    return pl.DataFrame(rows, schema={
        "scenario": pl.Int64, "seq": pl.Int64, "table": pl.String, "concept": pl.String, "offset": pl.Int64,
        "end_offset": pl.Int64, "dose": pl.Float64, "freq": pl.Float64, "status": pl.String,
        "route_from_concept": pl.Boolean, "event_route": pl.String, "value_low": pl.Float64,
        "value_high": pl.Float64, "value_text": pl.String})


def _cramp_slot(rng: Rng) -> pl.Expr:
    """Weighted choice among CRAMP_CODES, per event row."""
    labels = [str(n) for n in range(len(CRAMP_CODES))]
    return _weighted_choice(rng.uniform("scenario:cramp-code", "idx", "seq"), labels,
                            [float(w) for _, w in CRAMP_CODES])


class ScenarioRows:
    def __init__(self, rng: Rng) -> None:
        self.rng = rng
        self.events = _events_frame()
        self.concepts = _concept_frame()

    def tables(self, patients: pl.DataFrame) -> dict[str, pl.DataFrame]:
        planted = patients.filter(pl.col("scenario").is_not_null()).select(
            "idx", "num", "patient_id", "site_id", "site_number", "scenario", "index_day")
        rows = planted.join(self.events, on="scenario", how="inner")
        concept_key = pl.when(pl.col("concept") == CRAMP).then(
            pl.format("{}#{}", pl.col("concept"), _cramp_slot(self.rng))).otherwise(pl.col("concept"))
        rows = (rows.with_columns(concept=concept_key, day=pl.col("index_day") + pl.col("offset"),
                                  end_day=pl.col("index_day") + pl.col("end_offset"))
                .join(self.concepts, on="concept", how="left")
                .with_columns(visit=pl.col("day").rank("dense").over("idx")))
        rows = rows.with_columns(
            encounter_id=pl.format("E{}-S{}", pl.col("num"), pl.col("visit").cast(pl.String).str.zfill(2)))
        by_table = {t: rows.filter(pl.col("table") == t) for t in ("diagnoses", "medications", "labs", "procedures")}
        return {
            "encounters": self._encounters(rows),
            "diagnoses": by_table["diagnoses"].select(
                "idx", "day", "patient_id", "encounter_id", "code_system", "code", "description",
                order=SCENARIO_ORDER, recorded_date="day", resolved_date=pl.lit(None, dtype=pl.Int64)),
            "medications": self._medications(by_table["medications"]),
            "labs": self._labs(by_table["labs"]),
            "procedures": by_table["procedures"].select(
                "idx", "day", "patient_id", "encounter_id", "code_system", "code", "description",
                order=SCENARIO_ORDER, performed_date="day"),
        }

    def _provider(self) -> pl.Expr:
        number = self.rng.below("scenario:provider", PROVIDERS_PER_SITE, "idx", "visit") + 1
        return pl.format("PR{}{}", pl.col("site_number"), number.cast(pl.String).str.zfill(2))

    def _encounters(self, rows: pl.DataFrame) -> pl.DataFrame:
        visits = rows.unique(["idx", "visit"], keep="first", maintain_order=True)
        return visits.select("idx", "day", order=pl.col("visit") + 10_000, encounter_id="encounter_id",
                             patient_id="patient_id", start_date="day", end_date="day",
                             encounter_class=pl.lit("ambulatory"), site_id="site_id", provider_id=self._provider())

    def _medications(self, rows: pl.DataFrame) -> pl.DataFrame:
        return rows.select(
            "idx", "day", order=SCENARIO_ORDER,
            order_id=pl.format("M{}-S{}", pl.col("num"), pl.col("seq").cast(pl.String).str.zfill(2)),
            patient_id="patient_id", encounter_id="encounter_id", code_system="code_system", code="code",
            description="description", start_date="day", end_date="end_day", dose_value="dose", dose_unit="unit",
            frequency_per_day="freq",
            route=pl.when(pl.col("route_from_concept")).then(pl.col("concept_route")).otherwise(pl.col("event_route")),
            prescriber_id=self._provider(), status="status",
        )

    def _labs(self, rows: pl.DataFrame) -> pl.DataFrame:
        u = self.rng.uniform("scenario:lab-value", "idx", "seq")
        value = pl.col("value_low") + u * (pl.col("value_high") - pl.col("value_low"))
        return rows.select(
            "idx", "day", "patient_id", "encounter_id", "code_system", "code", "description", order=SCENARIO_ORDER,
            collected_date="day",
            value_numeric=(value * 100).round(0) / 100, value_text="value_text", unit="unit",
            ref_low="ref_low", ref_high="ref_high",
        )


def anchor_encounter(patients: pl.DataFrame, anchor: int, as_of_day: int) -> pl.DataFrame:
    """The encounter on the as-of date that fixes the extract's latest date (empty if the anchor
    patient is not in this chunk)."""
    return patients.filter(pl.col("idx") == anchor).select(
        "idx", day=pl.lit(as_of_day), order=pl.lit(ANCHOR_ORDER), encounter_id=pl.format("E{}-ASOF", pl.col("num")),
        patient_id="patient_id", start_date=pl.lit(as_of_day), end_date=pl.lit(as_of_day),
        encounter_class=pl.lit("ambulatory"), site_id="site_id", provider_id=pl.format("PR{}01", pl.col("site_number")))


def finish(table: str, parts: list[pl.DataFrame | pl.LazyFrame]) -> pl.DataFrame:
    """Concatenate background and scenario parts, order rows by (patient, date, event number) so
    the output is the same whatever the chunking or polars' join order, and cast to the canonical
    column types."""
    schema = OUTPUT_SCHEMAS[table]
    casts = [pl.col(c).cast(pl.Int32).cast(pl.Date) if dtype == pl.Date() else pl.col(c).cast(dtype)
             for c, dtype in schema.items()]
    keys = [pl.col(k).cast(pl.Int64) for k in ("idx", "day", "order")]
    frames = [p.lazy().select(*keys, *[pl.col(c) for c in schema]).with_columns(casts) for p in parts]
    return pl.concat(frames, how="vertical").sort(["idx", "day", "order"]).collect()


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
class TableSink:
    """Appends chunks of one table to <table>.csv or <table>.parquet and counts the rows."""

    def __init__(self, out: Path, table: str, fmt: str) -> None:
        self.path = out / f"{table}.{fmt}"
        self.fmt = fmt
        self.schema = OUTPUT_SCHEMAS[table]
        self.rows = 0
        self._csv: IO[bytes] | None = None
        self._parquet: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        """Typed rows (the canonical schema)."""
        if self.fmt == "csv":
            self.write_csv_text(frame)
            return
        arrow = frame.select(list(self.schema)).to_arrow()
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, arrow.schema, compression="zstd")
        self._parquet.write_table(arrow)
        self.rows += frame.height

    def write_csv_text(self, frame: pl.DataFrame) -> None:
        if self._csv is None:
            self._csv = self.path.open("wb")
            frame.select(list(self.schema)).write_csv(self._csv)
        else:
            frame.select(list(self.schema)).write_csv(self._csv, include_header=False)
        self.rows += frame.height

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()


# ---------------------------------------------------------------------------------------------
# Deliberately bad rows (extract-format.md, "What validation does with a bad row")
# ---------------------------------------------------------------------------------------------
Row = dict[str, str | None]


@dataclass(frozen=True)
class BadRow:
    kind: str
    table: str
    action: str  # rejected / repaired
    field: str
    what: str  # for the README
    change: Callable[[Row, Config], Row]  # the fields that differ from the copied background row
    text_only: bool = False  # cannot be held by a typed (Parquet) column


def _shift(iso: str | None, days: int) -> str:
    return (date.fromisoformat(str(iso)) + timedelta(days=days)).isoformat()


def _new_order(row: Row, suffix: str) -> str:
    return f"{row['order_id']}-{suffix}"


# The lab bad rows are potassium results, whose value and unit the rules would read.
_POTASSIUM = {"code": CONCEPTS["potassium"].code, "description": CONCEPTS["potassium"].description}

BAD_ROWS: tuple[BadRow, ...] = (
    BadRow("missing_required_value", "diagnoses", "rejected", "code", "code left empty",
           lambda r, c: {"code": None}),
    BadRow("unknown_patient", "diagnoses", "rejected", "patient_id", "patient PX999999 is not in patients",
           lambda r, c: {"patient_id": "PX999999", "encounter_id": None}),
    BadRow("unknown_code_system", "diagnoses", "rejected", "code_system", "code_system ICPC2",
           lambda r, c: {"code_system": "ICPC2"}),
    BadRow("unparseable_date", "medications", "rejected", "start_date", "start_date 2026-02-30 (CSV only)",
           lambda r, c: {"order_id": _new_order(r, "B1"), "start_date": "2026-02-30", "end_date": None},
           text_only=True),
    BadRow("duplicate_key", "medications", "rejected", "order_id",
           "exact copy of an earlier order (the first one is kept)", lambda r, c: {}),
    BadRow("end_before_start", "medications", "rejected", "end_date", "end_date 10 days before start_date",
           lambda r, c: {"order_id": _new_order(r, "B2"), "end_date": _shift(r["start_date"], -10),
                         "status": "completed"}),
    BadRow("negative_dose", "medications", "repaired", "dose_value", "dose_value negated",
           lambda r, c: {"order_id": _new_order(r, "B3"), "dose_value": f"-{r['dose_value']}"}),
    BadRow("zero_frequency", "medications", "repaired", "frequency_per_day", "frequency_per_day 0",
           lambda r, c: {"order_id": _new_order(r, "B4"), "frequency_per_day": "0.0"}),
    BadRow("date_before_1900", "labs", "rejected", "collected_date", "collected_date 1899-12-31",
           lambda r, c: {"collected_date": "1899-12-31"}),
    BadRow("non_numeric_lab_value", "labs", "repaired", "value_numeric",
           "potassium value_numeric 'hemolysed' (CSV only; kept in value_text)",
           lambda r, c: {**_POTASSIUM, "value_numeric": "hemolysed"}, text_only=True),
    BadRow("unknown_lab_unit", "labs", "repaired", "unit", "potassium result in unit 'furlongs'",
           lambda r, c: {**_POTASSIUM, "unit": "furlongs"}),
    BadRow("date_after_extract_date", "procedures", "rejected", "performed_date",
           "performed_date 100 years after --as-of (after any run date)",
           lambda r, c: {"performed_date": c.as_of.replace(year=c.as_of.year + 100).isoformat()}),
    BadRow("death_before_birth", "patients", "rejected", "death_date",
           "new patient PX000001 (no other rows) dying a year before birth",
           lambda r, c: {"patient_id": "PX000001", "death_date": _shift(r["birth_date"], -365)}),
)


def bad_rows_markdown() -> str:
    """The bad-row table of data_samples/README.md (a test keeps them equal)."""
    lines = ["| kind | table | expected action | field | what the row holds |", "|---|---|---|---|---|"]
    lines += [f"| {b.kind} | {b.table} | {b.action} | {b.field} | {b.what} |" for b in BAD_ROWS]
    return "\n".join(lines)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.all().cast(pl.String))


def bad_row_frames(config: Config, donors: dict[str, pl.DataFrame]) -> dict[str, list[tuple[BadRow, Row]]]:
    """The bad rows per table, each a changed copy of a different background row (the n-th bad
    row of a table copies its n-th donor, whether or not the format skips an earlier kind)."""
    result: dict[str, list[tuple[BadRow, Row]]] = {}
    for bad in BAD_ROWS:
        donor_rows = _as_text(donors[bad.table]).to_dicts()
        position = [b.table for b in BAD_ROWS[:BAD_ROWS.index(bad)]].count(bad.table)
        if position >= len(donor_rows):
            raise ValueError(f"too few background {bad.table} rows for bad rows; use more --patients")
        if bad.text_only and config.fmt == "parquet":
            continue
        row = donor_rows[position]
        result.setdefault(bad.table, []).append((bad, {**row, **bad.change(row, config)}))
    return result


def _from_text(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date():
        return pl.col(column).str.to_date("%Y-%m-%d")
    return pl.col(column).cast(dtype, strict=True)


def keep_donors(donors: dict[str, pl.DataFrame], table: str, background_rows: pl.DataFrame) -> None:
    """Bad rows copy the first rows of background patients: keep the first BAD_ROW_DONORS."""
    kept = donors.get(table)
    if kept is None or kept.height < BAD_ROW_DONORS:
        combined = background_rows if kept is None else pl.concat([kept, background_rows])
        donors[table] = combined.head(BAD_ROW_DONORS)


def write_bad_rows(config: Config, sinks: dict[str, TableSink], donors: dict[str, pl.DataFrame]
                   ) -> pl.DataFrame:
    """Append the bad rows at the end of their tables; returns expected_quarantine."""
    expected = []
    for table, items in bad_row_frames(config, donors).items():
        sink = sinks[table]
        text = pl.DataFrame([row for _, row in items], schema=dict.fromkeys(sink.schema, pl.String))
        first_row = sink.rows + 1
        if config.fmt == "csv":
            sink.write_csv_text(text)
        else:
            sink.write(text.with_columns(_from_text(c, dtype) for c, dtype in sink.schema.items()))
        expected += [{"table": table, "source_row": first_row + i, "action": bad.action, "field": bad.field,
                      "kind": bad.kind} for i, (bad, _) in enumerate(items)]
    return pl.DataFrame(expected, schema={"table": pl.String, "source_row": pl.Int64, "action": pl.String,
                                          "field": pl.String, "kind": pl.String})


# ---------------------------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------------------------
def planted_patients(patients: pl.DataFrame) -> pl.DataFrame:
    return patients.filter(pl.col("scenario").is_not_null()).select(
        "patient_id", scenario="scenario_name", in_cohort="in_cohort",
        reference_date=pl.col("index_day").cast(pl.Int32).cast(pl.Date), scenario_number="scenario")


def write_expectations(out: Path, planted: pl.DataFrame, quarantine: pl.DataFrame) -> dict[str, int]:
    deviations_by_scenario = pl.DataFrame(
        [{"scenario_number": i, "rule_id": rule} for i, s in enumerate(SCENARIOS) for rule in s.deviations],
        schema={"scenario_number": pl.Int64, "rule_id": pl.String})
    cohort = planted.filter(pl.col("in_cohort"))
    deviations = (cohort.join(deviations_by_scenario, on="scenario_number")
                  .select("patient_id", "rule_id").sort("patient_id", "rule_id"))
    deviations.write_csv(out / "planted_deviations.csv")
    cohort.select("patient_id", index_date="reference_date").sort("patient_id").write_csv(out / "expected_cohort.csv")
    planted.drop("scenario_number").sort("patient_id").write_csv(out / "planted_scenarios.csv")
    quarantine.write_csv(out / "expected_quarantine.csv")
    return {"cohort": cohort.height, "deviations": deviations.height, "planted": planted.height}


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------
def remove_previous_output(out: Path) -> None:
    """Delete only files this generator writes (both formats), never anything else."""
    for table in OUTPUT_SCHEMAS:
        for suffix in (".csv", ".parquet", ".csv.gz"):
            (out / f"{table}{suffix}").unlink(missing_ok=True)
    for name in EXPECTATION_FILES:
        (out / name).unlink(missing_ok=True)


def generate(config: Config) -> dict[str, int]:
    """Write the extract and the expectation files; returns row counts and cohort figures."""
    if config.patients < 50:
        raise ValueError("--patients must be at least 50 (room for background patients and bad rows)")
    config.out.mkdir(parents=True, exist_ok=True)
    remove_previous_output(config.out)
    rng = Rng(config.seed)
    assignment = assign_scenarios(config, rng)
    anchor = anchor_patient(assignment)
    background, scenario_rows = Background(rng, config.history_years), ScenarioRows(rng)
    sinks = {table: TableSink(config.out, table, config.fmt) for table in OUTPUT_SCHEMAS}
    planted: list[pl.DataFrame] = []
    donors: dict[str, pl.DataFrame] = {}
    try:
        for lo in range(0, config.patients, config.chunk_patients):
            hi = min(config.patients, lo + config.chunk_patients)
            patients = patients_chunk(config, rng, assignment, anchor, lo, hi)
            parts = {"patients": [patient_rows(patients)]}
            for source in (background.tables(patients), scenario_rows.tables(patients)):
                for table, frame in source.items():
                    parts.setdefault(table, []).append(frame)
            parts["encounters"].append(anchor_encounter(patients, anchor, config.as_of_day))
            background_idx = patients.filter(pl.col("scenario").is_null())["idx"].implode()
            for table, frames in parts.items():
                frame = finish(table, frames)
                keep_donors(donors, table, frame.filter(pl.col("idx").is_in(background_idx)))
                sinks[table].write(frame.drop("idx", "day", "order"))
            planted.append(planted_patients(patients))
        quarantine = write_bad_rows(config, sinks, donors) if config.bad_rows else _no_bad_rows()
    finally:
        for sink in sinks.values():
            sink.close()
    summary = write_expectations(config.out, pl.concat(planted), quarantine)
    return {**{f"rows_{t}": s.rows for t, s in sinks.items()}, **summary}


def _no_bad_rows() -> pl.DataFrame:
    return pl.DataFrame(schema={"table": pl.String, "source_row": pl.Int64, "action": pl.String,
                                "field": pl.String, "kind": pl.String})


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m cramp_audit.data_samples.generate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--bad-rows", action=argparse.BooleanOptionalAction, default=True,
                        help="append the deliberately bad rows (default: on)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF,
                        help="latest date in the extract (default %(default)s)")
    parser.add_argument("--history-years", type=float, default=5.0,
                        help="years of background history per patient (default %(default)s)")
    parser.add_argument("--cramp-fraction", type=float, default=0.04,
                        help="share of patients following a leg-cramp scenario (default %(default)s)")
    parser.add_argument("--chunk-patients", type=int, default=200_000)
    args = parser.parse_args(argv)
    return Config(patients=args.patients, out=args.out, seed=args.seed, fmt=args.fmt, bad_rows=args.bad_rows,
                  as_of=args.as_of, history_years=args.history_years, cramp_fraction=args.cramp_fraction,
                  chunk_patients=args.chunk_patients)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    started = time.perf_counter()
    try:
        summary = generate(config)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    rows = ", ".join(f"{k.removeprefix('rows_')} {v:,}" for k, v in summary.items() if k.startswith("rows_"))
    print(f"wrote {config.out} in {seconds:.1f}s: {rows}; cohort {summary['cohort']:,}, "
          f"planted deviations {summary['deviations']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
