"""The background population: encounters, common diagnoses, drugs, routine labs and procedures,
built column-wise for a whole chunk of patients at once.

Each menu lists neutral items first (codes in no rule's value set, safe for every patient) and then
rule-relevant items (diuretics, NSAIDs, potassium and magnesium labs, ...). Scenario patients draw
only from the neutral part, so their background can never change what the audit must find;
patients outside every scenario draw from the whole menu and never receive a leg-cramps code.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from cramp_audit.data_samples.rng import Rng
from cramp_audit.data_samples.scenarios import CONCEPTS, Concept

# Yearly rates of background rows per patient (about 48 rows over five years, patient row included).
RATES_PER_YEAR = {"encounters": 2.4, "diagnoses": 1.1, "medications": 2.0, "labs": 3.2, "procedures": 0.8}
PROVIDERS_PER_SITE = 8
# Clinics with deliberately uneven sizes, so some site x rule cells are small.
SITES: tuple[tuple[str, int], ...] = (("S01", 34), ("S02", 24), ("S03", 17), ("S04", 12), ("S05", 8), ("S06", 5))


@dataclass(frozen=True)
class MenuItem:
    concept: Concept
    weight: int
    neutral: bool = True  # False: rule-relevant, only for patients outside every scenario
    dose: float | None = None  # medications
    freq: float | None = None
    chronic: bool = True  # medications: long-term order; diagnoses: never resolved
    values: tuple[float, float] | None = None  # labs: values are drawn uniformly from this range
    decimals: int = 1


def _c(table: str, system: str, code: str, description: str, **kw: object) -> Concept:
    return Concept(table, system, code, description, None, **kw)  # type: ignore[arg-type]


def _dx(code: str, description: str, weight: int, *, system: str = "ICD10CM", chronic: bool = True,
        neutral: bool = True) -> MenuItem:
    return MenuItem(_c("diagnoses", system, code, description), weight, neutral=neutral, chronic=chronic)


def _drug(code: str, description: str, weight: int, dose: float, freq: float, *, chronic: bool = True,
          unit: str = "mg", route: str = "oral", neutral: bool = True) -> MenuItem:
    return MenuItem(_c("medications", "RXNORM", code, description, unit=unit, route=route), weight, dose=dose,
                    freq=freq, chronic=chronic, neutral=neutral)


def _loinc(code: str, description: str, unit: str, ref: tuple[float | None, float | None],
           values: tuple[float, float], weight: int, decimals: int = 1) -> MenuItem:
    concept = _c("labs", "LOINC", code, description, unit=unit, ref_low=ref[0], ref_high=ref[1])
    return MenuItem(concept, weight, values=values, decimals=decimals)


def _cpt(code: str, description: str, weight: int) -> MenuItem:
    return MenuItem(_c("procedures", "CPT", code, description), weight)


def _relevant(concept_key: str, weight: int, **kw: object) -> MenuItem:
    """A rule-relevant item, reusing the scenario concept (same code and description)."""
    return MenuItem(CONCEPTS[concept_key], weight, neutral=False, **kw)  # type: ignore[arg-type]


MENUS: dict[str, tuple[MenuItem, ...]] = {
    "diagnoses": (
        _dx("I10", "Essential (primary) hypertension", 20),
        _dx("E11.9", "Type 2 diabetes mellitus without complications", 10),
        _dx("E78.5", "Hyperlipidemia, unspecified", 12),
        _dx("K21.9", "Gastro-esophageal reflux disease without esophagitis", 6),
        _dx("F32.A", "Depression, unspecified", 5),
        _dx("E03.9", "Hypothyroidism, unspecified", 5),
        _dx("J45.909", "Unspecified asthma, uncomplicated", 4),
        _dx("J06.9", "Acute upper respiratory infection, unspecified", 10, chronic=False),
        # rules-v2.md PAIN_INDICATION (LC-NSAID-ELDERLY exclusion): rule-relevant since rule pack v2
        _dx("M17.11", "Unilateral primary osteoarthritis, right knee", 4, neutral=False),
        _dx("Z00.00", "Encounter for general adult medical examination without abnormal findings", 8,
            chronic=False),
        _dx("M54.50", "Low back pain, unspecified", 5, chronic=False, neutral=False),
        # Near miss: in the leg-cramps reference file but not in LEG_CRAMPS (only M62.831 is).
        _dx("M62.838", "Other muscle spasm", 1, chronic=False),
        _dx("38341003", "Hypertensive disorder, systemic arterial", 5, system="SNOMED"),
        _dx("44054006", "Diabetes mellitus type 2", 3, system="SNOMED"),
        _relevant("ckd_stage4", 1),
        _relevant("ckd_stage3b", 2),
        _relevant("cirrhosis_alcoholic", 1),
        _relevant("restless_legs", 1),
        _relevant("parkinsons", 1),
        _relevant("hypomagnesemia", 1),
        _relevant("pvd", 2),
        _relevant("radiculopathy_lumbar", 2),
        _relevant("diabetic_polyneuropathy", 2),
    ),
    "medications": (
        _drug("29046", "lisinopril 10 MG Oral Tablet", 12, 10, 1),
        _drug("17767", "amlodipine 5 MG Oral Tablet", 8, 5, 1),
        _drug("6809", "metformin hydrochloride 500 MG Oral Tablet", 10, 500, 2),
        # CRAMP_PRECIPITANT (rules-v2.md LC-MED-REVIEW): rule-relevant since rule pack v2
        _drug("617310", "atorvastatin 20 MG Oral Tablet", 10, 20, 1, neutral=False),
        _drug("312961", "simvastatin 20 MG Oral Tablet", 4, 20, 1, neutral=False),
        _drug("10582", "levothyroxine sodium 0.1 MG Oral Tablet", 5, 0.1, 1),
        _drug("7646", "omeprazole 20 MG Delayed Release Oral Capsule", 6, 20, 1),
        _drug("36437", "sertraline 50 MG Oral Tablet", 4, 50, 1),
        _drug("979492", "losartan potassium 50 MG Oral Tablet", 4, 50, 1),
        _drug("161", "acetaminophen 500 MG Oral Tablet", 5, 500, 3, chronic=False),
        _drug("723", "amoxicillin 500 MG Oral Capsule", 5, 500, 3, chronic=False),
        _drug("435", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", 3, 0.18, 4, route="inhalation", neutral=False),
        _relevant("furosemide_40", 3, dose=40, freq=1),
        _relevant("hctz_25", 4, dose=25, freq=1),
        _relevant("ibuprofen_400", 4, dose=400, freq=3, chronic=False),
        _relevant("naproxen_500", 2, dose=500, freq=2, chronic=False),
        _relevant("kcl_er_20", 2, dose=20, freq=1),
        _relevant("mgo_400", 2, dose=400, freq=2),
        _relevant("ropinirole_025", 1, dose=0.25, freq=1),
        _relevant("baclofen_10", 1, dose=10, freq=3),
        _relevant("quinine_324", 1, dose=324, freq=1, chronic=False),
    ),
    "labs": (
        _loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", (135, 145), (131, 148), 10, 0),
        _loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", (0.6, 1.3), (0.5, 2.2), 8, 2),
        _loinc("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", (12.0, 17.0), (10.0, 18.0), 8),
        _loinc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", (4.0, 5.6), (4.6, 9.5), 6),
        _loinc("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", (70, 99), (65, 190), 8, 0),
        _loinc("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", (8.6, 10.3), (8.2, 10.8), 5),
        _loinc("13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", "mg/dL",
               (None, 100), (55, 190), 5, 0),
        _loinc("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", (98, 107), (95, 110), 5, 0),
        _loinc("1963-8", "Bicarbonate [Moles/volume] in Serum or Plasma", "mmol/L", (22, 29), (19, 31), 4, 0),
        _loinc("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", (7, 20), (5, 35), 5, 0),
        _relevant("potassium", 8, values=(3.1, 5.6)),
        _relevant("magnesium_mgdl", 3, values=(1.4, 2.6)),
        _relevant("egfr", 5, values=(18, 110), decimals=0),
    ),
    "procedures": (
        _cpt("36415", "Collection of venous blood by venipuncture", 10),
        _cpt("93000", "Electrocardiogram, routine, with interpretation and report", 5),
        _cpt("71046", "Radiologic examination, chest; 2 views", 4),
        _cpt("90471", "Immunization administration", 8),
        _cpt("77067", "Screening mammography, bilateral", 3),
        _cpt("45378", "Colonoscopy, flexible; diagnostic", 2),
        _cpt("73562", "Radiologic examination, knee; 3 views", 2),
        _cpt("97110", "Therapeutic exercises", 2),
        _relevant("mri_lumbar", 1),
        _relevant("nerve_conduction", 1),
        _relevant("referral_neurology", 1),
        _relevant("medication_review", 2),
        _relevant("ankle_brachial_index", 1),
    ),
}


def _expanded(items: tuple[MenuItem, ...]) -> list[MenuItem]:
    """Each item repeated `weight` times, neutral items first, so a uniform index below the
    neutral length picks a neutral item."""
    ordered = [i for i in items if i.neutral] + [i for i in items if not i.neutral]
    return [item for item in ordered for _ in range(item.weight)]


def neutral_length(table: str) -> int:
    return sum(i.weight for i in MENUS[table] if i.neutral)


def menu_frame(table: str) -> pl.DataFrame:
    """One row per slot of the expanded menu: slot k -> code and the columns that go with it."""
    rows = [
        {
            "k": k, "code_system": i.concept.system, "code": i.concept.code, "description": i.concept.description,
            "unit": i.concept.unit, "route": i.concept.route, "ref_low": i.concept.ref_low,
            "ref_high": i.concept.ref_high, "dose": i.dose, "freq": i.freq, "chronic": i.chronic,
            "value_low": i.values[0] if i.values else None, "value_high": i.values[1] if i.values else None,
            "decimals": i.decimals,
        }
        for k, i in enumerate(_expanded(MENUS[table]))
    ]
    schema = {"k": pl.Int64, "code_system": pl.String, "code": pl.String, "description": pl.String,
              "unit": pl.String, "route": pl.String, "ref_low": pl.Float64, "ref_high": pl.Float64,
              "dose": pl.Float64, "freq": pl.Float64, "chronic": pl.Boolean, "value_low": pl.Float64,
              "value_high": pl.Float64, "decimals": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


class Background:
    """Builds the background rows of one chunk of patients.

    `patients` must carry: idx, patient_id, num (the 7-digit id part), site_id, site_number,
    first_day, last_day (history window, day numbers since 1970-01-01) and neutral (bool)."""

    def __init__(self, rng: Rng, history_years: float) -> None:
        self.rng = rng
        self.history_years = history_years
        self.menus = {table: menu_frame(table) for table in MENUS}

    # -- shared pieces -------------------------------------------------------------------------
    def _counts(self, patients: pl.DataFrame) -> pl.DataFrame:
        """Rows per patient and table: yearly rate x years covered, jittered x0.4..1.6."""
        years = (pl.col("last_day") - pl.col("first_day") + 1) / 365.25
        exprs = []
        for table, rate in RATES_PER_YEAR.items():
            jitter = 0.4 + 1.2 * self.rng.uniform(f"count:{table}", "idx")
            n = (rate * years * jitter + 0.5).floor().cast(pl.Int64)
            exprs.append((n.clip(lower_bound=1) if table == "encounters" else n).alias(f"n_{table}"))
        return patients.lazy().with_columns(exprs).collect()

    def _encounter_day(self, j: str) -> pl.Expr:
        span = pl.col("last_day") - pl.col("first_day") + 1
        return pl.col("first_day") + self.rng.below("encounter:day", span, "idx", j)

    def _provider(self, j: str) -> pl.Expr:
        number = self.rng.below("encounter:provider", PROVIDERS_PER_SITE, "idx", j) + 1
        return pl.format("PR{}{}", pl.col("site_number"), number.cast(pl.String).str.zfill(2))

    def _encounter_id(self, j: str) -> pl.Expr:
        return pl.format("E{}-{}", pl.col("num"), pl.col(j).cast(pl.String).str.zfill(2))

    def _events(self, counted: pl.DataFrame, table: str) -> pl.LazyFrame:
        """One row per background event of `table`, placed at one of the patient's encounters and
        joined to its menu item."""
        rows = counted.lazy().filter(pl.col(f"n_{table}") > 0).with_columns(
            j=pl.int_ranges(0, pl.col(f"n_{table}"))).explode("j")
        menu_len = pl.when(pl.col("neutral")).then(neutral_length(table)).otherwise(self.menus[table].height)
        rows = rows.with_columns(
            enc_j=self.rng.below(f"{table}:encounter", pl.col("n_encounters"), "idx", "j"),
            k=self.rng.below(f"{table}:item", menu_len, "idx", "j"),
        ).with_columns(day=self._encounter_day("enc_j"), encounter_id=self._encounter_id("enc_j"))
        return rows.join(self.menus[table].lazy(), on="k", how="left")

    # -- tables --------------------------------------------------------------------------------
    def tables(self, patients: pl.DataFrame) -> dict[str, pl.LazyFrame]:
        """Lazy frames (lazy so that polars shares repeated sub-expressions of the random draws)."""
        counted = self._counts(patients)
        return {
            "encounters": self._encounters(counted),
            "diagnoses": self._diagnoses(counted),
            "medications": self._medications(counted),
            "labs": self._labs(counted),
            "procedures": self._procedures(counted),
        }

    def _encounters(self, counted: pl.DataFrame) -> pl.LazyFrame:
        rows = counted.lazy().with_columns(j=pl.int_ranges(0, pl.col("n_encounters"))).explode("j").with_columns(
            u_class=self.rng.uniform("encounter:class", "idx", "j"),
            stay=1 + self.rng.below("encounter:stay", 6, "idx", "j"),
            day=self._encounter_day("j"),
        )
        encounter_class = (pl.when(pl.col("u_class") < 0.86).then(pl.lit("ambulatory"))
                           .when(pl.col("u_class") < 0.95).then(pl.lit("emergency")).otherwise(pl.lit("inpatient")))
        end = pl.when(pl.col("u_class") >= 0.95).then(pl.col("day") + pl.col("stay")).otherwise(pl.col("day"))
        return rows.select(
            "idx", "day", order="j",
            encounter_id=self._encounter_id("j"),
            patient_id="patient_id",
            start_date="day",
            end_date=pl.min_horizontal(end, pl.col("last_day")),
            encounter_class=encounter_class,
            site_id="site_id",
            provider_id=self._provider("j"),
        )

    def _diagnoses(self, counted: pl.DataFrame) -> pl.LazyFrame:
        rows = self._events(counted, "diagnoses").with_columns(
            resolved=pl.col("day") + 7 + self.rng.below("diagnoses:resolved", 15, "idx", "j"))
        return rows.select(
            "idx", "day", "patient_id", "encounter_id", "code_system", "code", "description", order="j",
            recorded_date="day",
            resolved_date=pl.when(~pl.col("chronic") & (pl.col("resolved") <= pl.col("last_day")))
            .then(pl.col("resolved")),
        )

    def _medications(self, counted: pl.DataFrame) -> pl.LazyFrame:
        rows = self._events(counted, "medications").with_columns(
            u_length=self.rng.uniform("medications:length", "idx", "j"),
            u_status=self.rng.uniform("medications:status", "idx", "j"),
        )
        u_length, u_status = pl.col("u_length"), pl.col("u_status")
        chronic_length = (pl.when(u_length < 0.6).then(None).when(u_length < 0.8).then(365)
                          .when(u_length < 0.9).then(180).otherwise(90))
        acute_length = pl.when(u_length < 0.5).then(pl.lit(7)).otherwise(pl.lit(14))
        end = pl.col("day") + pl.when(pl.col("chronic")).then(chronic_length).otherwise(acute_length)
        rows = rows.with_columns(end_day=end).with_columns(
            end_day=pl.when(pl.col("end_day") <= pl.col("last_day")).then(pl.col("end_day")))
        status = (pl.when(u_status < 0.010).then(pl.lit("cancelled"))
                  .when(u_status < 0.015).then(pl.lit("entered-in-error"))
                  .when(pl.col("end_day").is_null()).then(pl.lit("active"))
                  .when(u_status < 0.05).then(pl.lit("stopped"))
                  .otherwise(pl.lit("completed")))
        return rows.select(
            "idx", "day", order="j",
            order_id=pl.format("M{}-{}", pl.col("num"), pl.col("j").cast(pl.String).str.zfill(2)),
            patient_id="patient_id", encounter_id="encounter_id", code_system="code_system", code="code",
            description="description", start_date="day", end_date="end_day", dose_value="dose",
            dose_unit="unit", frequency_per_day="freq", route="route", prescriber_id=self._provider("enc_j"),
            status=status,
        )

    def _labs(self, counted: pl.DataFrame) -> pl.LazyFrame:
        rows = self._events(counted, "labs")
        u_value = self.rng.uniform("labs:value", "idx", "j")
        value = pl.col("value_low") + u_value * (pl.col("value_high") - pl.col("value_low"))
        scale = pl.lit(10.0).pow(pl.col("decimals"))
        return rows.select(
            "idx", "day", "patient_id", "encounter_id", "code_system", "code", "description", order="j",
            collected_date="day",
            value_numeric=(value * scale).round(0) / scale,
            value_text=pl.lit(None, dtype=pl.String),
            unit="unit", ref_low="ref_low", ref_high="ref_high",
        )

    def _procedures(self, counted: pl.DataFrame) -> pl.LazyFrame:
        rows = self._events(counted, "procedures")
        return rows.select("idx", "day", "patient_id", "encounter_id", "code_system", "code", "description",
                           order="j", performed_date="day")
