"""The seeded extract generator (data_samples/generate.py): deterministic, scales, uses reference
codes, and writes expectation files that say exactly what an audit must find and quarantine."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from cramp_audit.data_samples import background, generate, scenarios
from cramp_audit.data_samples.generate import BAD_ROWS, SAMPLE_ARGUMENTS, SAMPLE_DIR, Config
from cramp_audit.data_samples.scenarios import CONCEPTS, CRAMP_CODES, RULE_IDS, SCENARIOS
from cramp_audit.schemas.spec import CODE_SYSTEMS, TABLES, Column, Table

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = Path(os.environ.get("CRAMP_REFERENCE_VALUESETS", SHARED / "reference" / "valuesets"))
RULES_MD = SHARED / "spec" / "rules.md"
TABLE_NAMES = [t.name for t in TABLES]
AS_OF = generate.DEFAULT_AS_OF

# rules.md "Value sets and where their codes come from": file -> concept groups (None = all groups).
RULE_VALUE_SET_GROUPS: dict[str, set[str] | None] = {
    "conditions_leg_cramps.csv": {"leg_cramps"},  # + M62.831 (below)
    "drugs_quinine.csv": {"quinine"},
    "drugs_magnesium.csv": {"magnesium_any_ingredient", "magnesium_oral_supplement_scd", "magnesium_parenteral_scd"},
    "conditions_electrolytes.csv": {"hypomagnesemia"},
    "labs.csv": {"magnesium_serum_plasma_mass", "magnesium_serum_plasma_molar", "potassium", "egfr_ckd_epi_2021",
                 "egfr_ckd_epi_older", "egfr_mdrd", "egfr_unspecified_or_cystatin"},
    "drugs_potassium_supplements.csv": {"potassium_supplement_ingredient", "potassium_oral_supplement_scd",
                                        "potassium_parenteral_scd",
                                        "potassium_chloride_in_iv_maintenance_fluid_scd_weaker"},
    "conditions_ckd_renal.csv": {"ckd_stage4", "ckd_stage5", "esrd_or_stage5_dialysis"},
    "drugs_baclofen.csv": {"baclofen", "baclofen_oral_scd"},
    "conditions_liver_cirrhosis_ascites.csv": {"cirrhosis"},
    "drugs_diuretics.csv": None,
    "procedures_medication_review.csv": {"medication_review", "medication_reconciliation"},
    "conditions_peripheral_neuropathy.csv": None,
    "conditions_radiculopathy.csv": None,
    "conditions_pad_claudication.csv": None,
    "conditions_focal_neuro_deficit.csv": {"foot_drop", "limb_paresis_or_focal_weakness", "mononeuropathy_lower_limb",
                                           "muscle_wasting_atrophy", "abnormal_reflex", "skin_sensation_disturbance"},
    "procedures_workup.csv": {"imaging_lumbar_spine_mri", "imaging_lumbar_spine_ct", "imaging_lower_extremity_mri",
                              "imaging_lower_extremity_ct", "nerve_conduction_study", "needle_emg",
                              "needle_emg_with_ncs_addon", "referral_neurology", "referral_vascular_surgery"},
    "drugs_rls_dopaminergic_and_alpha2delta.csv": {"dopaminergic_rls"},
    "conditions_parkinsons.csv": {"parkinsons_disease", "secondary_parkinsonism"},
    "conditions_restless_legs.csv": {"restless_legs"},
    "drugs_otc_analgesics_nsaids.csv": {"nsaid"},
}

needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference value sets not found at {REFERENCE}")


# -- helpers --------------------------------------------------------------------------------------
def make(out: Path, patients: int = 400, **kw: object) -> Path:
    generate.generate(Config(patients=patients, out=out, **kw))  # type: ignore[arg-type]
    return out


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def read_text(folder: Path, table: str) -> pl.DataFrame:
    """A table as the file has it (all strings), with its 1-based source row."""
    frame = pl.read_csv(folder / f"{table}.csv", infer_schema=False)
    return frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))


def normalise(system: str, code: str) -> tuple[str, str]:
    system = "SNOMED" if system == "SNOMEDCT" else system
    return system, code.upper().replace(".", "") if system.startswith("ICD") else code


def reference_rows() -> pl.DataFrame:
    frames = [pl.read_csv(p, infer_schema=False).select("concept_group", "code_system", "code")
              .with_columns(file=pl.lit(p.name)) for p in sorted(REFERENCE.glob("*.csv"))]
    return pl.concat(frames)


def rule_value_set_codes() -> set[tuple[str, str]]:
    """Every (system, code) that some rule's value set holds."""
    codes = {normalise("ICD10CM", "M62.831")}
    for row in reference_rows().iter_rows(named=True):
        if row["file"] in RULE_VALUE_SET_GROUPS:
            groups = RULE_VALUE_SET_GROUPS[row["file"]]
            if groups is None or row["concept_group"] in groups:
                codes.add(normalise(row["code_system"], row["code"]))
    return codes


def leg_cramps_codes() -> set[tuple[str, str]]:
    rows = reference_rows().filter((pl.col("file") == "conditions_leg_cramps.csv")
                                   & (pl.col("concept_group") == "leg_cramps"))
    return {normalise(s, c) for s, c in rows.select("code_system", "code").iter_rows()} | {("ICD10CM", "M62831")}


def planted_ids(folder: Path) -> set[str]:
    return set(pl.read_csv(folder / "planted_scenarios.csv")["patient_id"].to_list())


def calendar_age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make(tmp_path_factory.mktemp("extract"), patients=1500, seed=5)


# -- determinism and scale ------------------------------------------------------------------------
def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first, second = make(tmp_path / "a", seed=11), make(tmp_path / "b", seed=11)
    other = make(tmp_path / "c", seed=12)
    assert files_of(first) == files_of(second)
    assert files_of(first)["labs.csv"] != files_of(other)["labs.csv"]


def test_output_does_not_depend_on_the_chunk_size(tmp_path: Path) -> None:
    whole = make(tmp_path / "whole", seed=3)
    chunked = make(tmp_path / "chunked", seed=3, chunk_patients=37)
    assert files_of(whole) == files_of(chunked)


def test_row_counts_scale_with_the_number_of_patients(tmp_path: Path) -> None:
    small, large = make(tmp_path / "small", patients=1000), make(tmp_path / "large", patients=2000)
    for table in TABLE_NAMES:
        n_small, n_large = read_text(small, table).height, read_text(large, table).height
        assert 1.7 < n_large / n_small < 2.3, table
    assert read_text(large, "patients").height == 2000 + 1  # + the death-before-birth bad row
    rows = sum(read_text(large, t).height for t in TABLE_NAMES)
    assert 40 < rows / 2000 < 60  # ~50 rows per patient with five years of history


def test_tables_have_exactly_the_canonical_columns(extract: Path) -> None:
    for table in TABLES:
        header = (extract / f"{table.name}.csv").read_text().splitlines()[0]
        assert header == ",".join(table.column_names)


# -- codes ----------------------------------------------------------------------------------------
@needs_reference
def test_every_scenario_code_is_in_its_reference_value_set_group() -> None:
    reference = {(row["file"], row["concept_group"], *normalise(row["code_system"], row["code"]))
                 for row in reference_rows().iter_rows(named=True)}
    concepts = list(CONCEPTS.values()) + [c for c, _ in CRAMP_CODES]
    for concept in concepts:
        if concept.valueset is not None:
            file, group = concept.valueset
            assert (file, group, *normalise(concept.system, concept.code)) in reference, concept


@needs_reference
def test_codes_meant_to_be_outside_every_rule_value_set_are() -> None:
    rule_codes = rule_value_set_codes()
    outside = [c for c in CONCEPTS.values() if c.valueset is None]
    outside += [item.concept for items in background.MENUS.values() for item in items if item.neutral]
    for concept in outside:
        assert normalise(concept.system, concept.code) not in rule_codes, concept
    # Nor may a neutral drug match by the description fallback (ingredient names of the drug sets).
    drug_names = {re.sub(r"\s*\[.*$", "", d).lower()
                  for f, d in pl.concat([pl.read_csv(REFERENCE / f, infer_schema=False).filter(
                      pl.col("concept_group").is_in(list(g)) if g else pl.lit(True)).select(
                      pl.lit(f).alias("f"), "display") for f, g in RULE_VALUE_SET_GROUPS.items()
                      if f.startswith("drugs_")]).iter_rows()
                  if re.search(r"\[(IN|PIN|ingredient)\]", d)}
    for concept in outside:
        if concept.table == "medications":
            assert not [n for n in drug_names if n in concept.description.lower()], concept


@needs_reference
def test_planted_rows_use_reference_codes(extract: Path) -> None:
    reference = {normalise(s, c) for s, c in reference_rows().select("code_system", "code").iter_rows()}
    deliberate = {normalise(c.system, c.code) for c in CONCEPTS.values() if c.valueset is None}
    planted = planted_ids(extract)
    for table in ("diagnoses", "medications", "labs", "procedures"):
        rows = read_text(extract, table).filter(pl.col("patient_id").is_in(list(planted))
                                                & pl.col("encounter_id").str.contains("-S"))
        assert rows.height > 0
        for system, code in rows.select("code_system", "code").unique().iter_rows():
            assert normalise(system, code) in reference | deliberate, (table, system, code)


@needs_reference
def test_background_patients_never_have_a_leg_cramps_code(extract: Path) -> None:
    cramps = leg_cramps_codes()
    diagnoses = read_text(extract, "diagnoses").filter(~pl.col("patient_id").is_in(list(planted_ids(extract))))
    codes = {normalise(s, c) for s, c in diagnoses.select("code_system", "code").drop_nulls().iter_rows()}
    assert not codes & cramps


# -- expectations ---------------------------------------------------------------------------------
def test_planted_deviations_name_cohort_patients_and_rule_ids_of_the_rule_pack(extract: Path) -> None:
    deviations = pl.read_csv(extract / "planted_deviations.csv")
    cohort = set(pl.read_csv(extract / "expected_cohort.csv")["patient_id"].to_list())
    assert deviations.height > 0 and set(deviations["patient_id"].to_list()) <= cohort
    assert set(deviations["rule_id"].to_list()) == set(RULE_IDS)
    assert deviations.is_unique().all()
    if RULES_MD.is_file():
        # rules.md's rules plus the two rules-v2.md adds ("Two new rules": - **LC-...** (low))
        v2 = RULES_MD.with_name("rules-v2.md").read_text()
        assert (set(re.findall(r"^### (LC-[A-Z0-9-]+)", RULES_MD.read_text(), re.M))
                | set(re.findall(r"^- \*\*(LC-[A-Z0-9-]+)\*\* \(", v2, re.M))) == set(RULE_IDS)
    for scenario in SCENARIOS:
        assert set(scenario.deviations) <= set(RULE_IDS), scenario.name
        assert scenario.cohort or not scenario.deviations, scenario.name


@needs_reference
def test_expected_cohort_is_the_first_leg_cramps_diagnosis_in_the_period_at_18_or_older(extract: Path) -> None:
    period_start = AS_OF - timedelta(days=364)
    cramps = leg_cramps_codes()
    patients = {r["patient_id"]: r for r in read_text(extract, "patients").iter_rows(named=True)}
    first: dict[str, date] = {}
    for row in read_text(extract, "diagnoses").iter_rows(named=True):
        if row["code"] is None or normalise(row["code_system"], row["code"]) not in cramps:
            continue
        recorded = date.fromisoformat(row["recorded_date"])
        patient = patients.get(row["patient_id"])
        if patient is None or not period_start <= recorded <= AS_OF:
            continue
        if calendar_age(date.fromisoformat(patient["birth_date"]), recorded) >= 18:
            first[row["patient_id"]] = min(first.get(row["patient_id"], recorded), recorded)
    expected = {r["patient_id"]: date.fromisoformat(r["index_date"])
                for r in pl.read_csv(extract / "expected_cohort.csv", infer_schema=False).iter_rows(named=True)}
    assert first == expected
    # Index dates leave the whole follow-up (180 days) inside the data, well inside the period.
    assert all(period_start + timedelta(days=30) <= d <= AS_OF - timedelta(days=195) for d in expected.values())


def test_the_latest_loaded_date_is_the_as_of_date(extract: Path) -> None:
    rejected = pl.read_csv(extract / "expected_quarantine.csv").filter(pl.col("action") == "rejected")
    latest = date.min
    for table in TABLES:
        frame = read_text(extract, table.name).join(
            rejected.filter(pl.col("table") == table.name).select("source_row"), on="source_row", how="anti")
        for column in (c.name for c in table.columns if c.dtype == "date"):
            value = frame[column].str.to_date("%Y-%m-%d", strict=False).max()
            latest = max(latest, value or date.min)  # type: ignore[type-var]
    assert latest == AS_OF


def _iso_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _value_defect(column: Column, value: str | None) -> bool:
    """A required value missing, a date that does not parse or is before 1900 (or, when required,
    after today), a number that does not parse."""
    if value is None:
        return column.required
    if column.dtype == "date":
        parsed = _iso_date(value)
        return parsed is None or parsed < date(1900, 1, 1) or (column.required and parsed > date.today())
    if column.dtype == "number":
        try:
            float(value)
        except ValueError:
            return True
    return False


def _row_defects(table: Table, row: dict[str, str | None], known_patients: set[str]) -> list[str]:
    """Fields of one row that a validator following extract-format.md must quarantine."""
    fields = [c.name for c in table.columns if _value_defect(c, row[c.name])]
    if "code_system" in row and row["code_system"] not in CODE_SYSTEMS[table.name]:
        fields.append("code_system")
    if table.name != "patients" and row["patient_id"] not in known_patients:
        fields.append("patient_id")
    for column in ("dose_value", "frequency_per_day"):
        value = row.get(column)
        if value is not None and column not in fields and float(value) <= 0:
            fields.append(column)
    if table.date_columns_ordered:
        start, end = (_iso_date(row[c]) for c in table.date_columns_ordered)
        if start and end and end < start:
            fields.append(table.date_columns_ordered[1])
    death, birth = row.get("death_date"), row.get("birth_date")
    if table.name == "patients" and death and birth and death < birth:
        fields.append("death_date")
    if table.name == "labs" and row["unit"] == "furlongs":  # the only unit outside common UCUM use
        fields.append("unit")
    return fields


def _defects(folder: Path) -> set[tuple[str, int, str]]:
    """(table, source_row, field) of every row a validator must quarantine, found independently
    of the generator's own list."""
    known = set(read_text(folder, "patients")["patient_id"].to_list())
    found: set[tuple[str, int, str]] = set()
    for table in TABLES:
        frame = read_text(folder, table.name)
        for row in frame.iter_rows(named=True):
            found |= {(table.name, row["source_row"], f) for f in _row_defects(table, row, known)}
        if table.key:
            duplicated = frame.filter(~pl.col(table.key).is_first_distinct())
            found |= {(table.name, r, table.key) for r in duplicated["source_row"].to_list()}
    return found


def test_expected_quarantine_lists_exactly_the_bad_rows(extract: Path) -> None:
    expected = pl.read_csv(extract / "expected_quarantine.csv")
    assert expected.height == len(BAD_ROWS) and expected["kind"].is_unique().all()
    assert set(zip(expected["table"], expected["source_row"], expected["field"], strict=True)) == _defects(extract)
    by_kind = {b.kind: b for b in BAD_ROWS}
    assert all(by_kind[k].action == a for k, a in zip(expected["kind"], expected["action"], strict=True))


def test_bad_rows_only_touch_background_patients(extract: Path) -> None:
    planted = planted_ids(extract)
    for row in pl.read_csv(extract / "expected_quarantine.csv").iter_rows(named=True):
        bad = read_text(extract, row["table"]).filter(pl.col("source_row") == row["source_row"])
        assert bad["patient_id"][0] not in planted


def test_every_scenario_is_planted_and_the_cohort_is_a_few_percent_at_scale(tmp_path: Path) -> None:
    counts = generate.scenario_counts(1_000_000, 0.04)
    assert min(counts) >= 1 and 0.035 < sum(counts) / 1_000_000 < 0.045
    assert all(n >= 1 for n in generate.scenario_counts(400, 0.04))


# -- formats, the bundled sample, documentation ---------------------------------------------------
def test_parquet_output_holds_the_same_rows_as_csv(tmp_path: Path) -> None:
    csv, parquet = make(tmp_path / "csv", seed=8), make(tmp_path / "pq", seed=8, fmt="parquet")
    text_only = {b.kind for b in BAD_ROWS if b.text_only}
    csv_quarantine = pl.read_csv(csv / "expected_quarantine.csv")
    parquet_quarantine = pl.read_csv(parquet / "expected_quarantine.csv")
    kept = csv_quarantine.filter(~pl.col("kind").is_in(list(text_only)))
    assert parquet_quarantine.drop("source_row").equals(kept.drop("source_row"))
    for table in TABLES:
        from_parquet = pl.read_parquet(parquet / f"{table.name}.parquet")
        assert from_parquet.columns == table.column_names
        as_text = from_parquet.select(pl.all().cast(pl.String))
        dropped = csv_quarantine.filter((pl.col("table") == table.name) & pl.col("kind").is_in(list(text_only)))
        from_csv = read_text(csv, table.name).join(dropped.select("source_row"), on="source_row", how="anti")
        assert as_text.equals(from_csv.drop("source_row")), table.name
    for name in ("planted_deviations.csv", "expected_cohort.csv", "planted_scenarios.csv"):
        assert (csv / name).read_bytes() == (parquet / name).read_bytes()


def test_bundled_sample_is_what_the_generator_makes_for_its_documented_arguments(tmp_path: Path) -> None:
    assert generate.main(["--out", str(tmp_path / "sample"), *SAMPLE_ARGUMENTS]) == 0
    assert files_of(tmp_path / "sample") == files_of(SAMPLE_DIR)
    assert sum(len(b) for b in files_of(SAMPLE_DIR).values()) < 600_000
    scenarios_in_sample = set(pl.read_csv(SAMPLE_DIR / "planted_scenarios.csv")["scenario"].to_list())
    assert scenarios_in_sample == {s.name for s in SCENARIOS}
    readme = (SAMPLE_DIR.parent / "README.md").read_text()
    assert " ".join(SAMPLE_ARGUMENTS) in readme


def test_scenario_and_bad_row_tables_in_the_docstring_and_readme_match_the_code() -> None:
    readme = (SAMPLE_DIR.parent / "README.md").read_text()
    assert scenarios.scenario_table_text() in (scenarios.__doc__ or "")
    assert scenarios.scenario_table_markdown() in readme
    assert generate.bad_rows_markdown() in readme
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


def test_command_line_refuses_too_few_patients(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--patients", "10", "--out", str(tmp_path)]) == 2
    assert "at least 50" in capsys.readouterr().err
