"""The value sets, maps and thresholds rules-v2.md adds (sql/valuesets/): what each set holds and
leaves out, sets that must stay apart, the route and dose-form maps resolving the spellings the
spec names, and the per-unit lab thresholds agreeing with rules-v2.md and parameters.toml."""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

import duckdb
import polars as pl
import pytest
from cramp_audit.sql.valuesets import build
from cramp_audit.transforms.common import route_from_description

from cramp_audit.config import load_parameters
from cramp_audit.valuesets import REF_TABLES, VALUESETS_DIR, load_value_sets

PARAMETERS = load_parameters()  # flat name -> default, the values a run uses


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


MEMBERS = _rows(VALUESETS_DIR / "value_sets.csv")
EXCLUSIONS = _rows(VALUESETS_DIR / "value_set_exclusions.csv")
SKIPPED = _rows(VALUESETS_DIR / "skipped.csv")
ROUTES = _rows(VALUESETS_DIR / "routes.csv")
ROUTE_GROUPS = {r["route"]: r["route_group"] for r in _rows(VALUESETS_DIR / "route_groups.csv")}
DOSE_FORMS = _rows(VALUESETS_DIR / "dose_forms.csv")


@cache
def codes(value_set: str) -> frozenset[tuple[str, str]]:
    return frozenset((r["code_system"], r["code"]) for r in MEMBERS if r["value_set"] == value_set)


def route_key(spelling: str) -> str:
    """How a route spelling is compared (README): case, spaces and punctuation are not significant."""
    return re.sub(r"[^a-z0-9]", "", spelling.lower())


ROUTE_BY_KEY = {route_key(r["spelling"]): r["route"] for r in ROUTES}


def route_group(spelling: str) -> str | None:
    route = ROUTE_BY_KEY.get(route_key(spelling))
    return ROUTE_GROUPS[route] if route else None


def route_from_dose_form(text: str) -> str | None:
    """README: the first term (lowest priority number) found as whole words in the lower-cased text."""
    text = re.sub(r"\s+", " ", text.lower())
    for row in sorted(DOSE_FORMS, key=lambda r: (int(r["priority"]), r["term"])):
        if re.search(r"(?<![a-z])" + re.escape(row["term"]) + r"(?![a-z])", text):
            return row["route"]
    return None


# ---------------------------------------------------------------- every file, every row

SHIPPED_WITH_SOURCE = [name for name in REF_TABLES.values()]
SUPPLEMENT_FILES = sorted(build.SUPPLEMENT.glob("*.csv"))


@pytest.mark.parametrize("path", [VALUESETS_DIR / n for n in SHIPPED_WITH_SOURCE] + SUPPLEMENT_FILES,
                         ids=lambda p: p.name)
def test_every_row_of_every_data_file_names_its_source(path: Path) -> None:
    rows = _rows(path)
    assert rows, f"{path.name} is empty"
    assert all(r["source"].strip() for r in rows), [r for r in rows if not r["source"].strip()][:3]


@pytest.mark.parametrize("path", SUPPLEMENT_FILES, ids=lambda p: p.name)
def test_supplement_lists_are_in_the_shared_format_and_verified(path: Path) -> None:
    rows = _rows(path)
    assert list(rows[0]) == ["concept_group", "code_system", "code", "display", "source", "verified"]
    assert {r["verified"] for r in rows} == {"yes"}
    assert {r["code_system"] for r in rows} <= {"ICD10CM", "ICD9CM", "SNOMEDCT", "LOINC"}
    keys = [(r["concept_group"], r["code_system"], r["code"]) for r in rows]
    assert len(keys) == len(set(keys))
    for r in rows:
        if r["code_system"] == "ICD10CM":
            assert re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", r["code"]), r["code"]
        if r["code_system"] == "ICD9CM":
            assert re.fullmatch(r"(V\d\d|E\d\d\d|\d\d\d)(\.\d{1,2})?", r["code"]), r["code"]


def test_a_supplement_list_may_not_shadow_a_shared_reference_file(tmp_path: Path) -> None:
    (tmp_path / "labs.csv").write_text("concept_group,code_system,code,display,source,verified\n", encoding="utf-8")
    with pytest.raises(ValueError, match="shadow"):
        build.build(supplement_dir=tmp_path)


@pytest.mark.skipif(not build.DEFAULT_REFERENCE.is_dir(), reason="shared reference lists not available")
def test_a_removal_that_no_include_lists_is_an_error(tmp_path: Path) -> None:
    """A stale `remove` (code renamed or already gone) must not pass silently."""
    definitions = tmp_path / "definitions.toml"
    definitions.write_text('[QUININE]\nkind = "drug"\n'
                           'include = [{ file = "drugs_quinine.csv", groups = ["quinine"] }]\n'
                           'remove = [{ code_system = "RXNORM", codes = ["4603"], reason = "x" }]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="removes codes no include lists"):
        build.build(definitions_path=definitions)


# ---------------------------------------------------------------- the new sets

@pytest.mark.parametrize("value_set, code_system, code", [
    # constipation K59.0x, migraine G43.x, pre-eclampsia/eclampsia O14-O15, arrhythmia I47-I49, at full depth
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "K590"), ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "K5900"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "K5904"), ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "G43909"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "G43A1"), ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "O1493"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "O1415"), ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "O152"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "I4891"), ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "I4720"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "I499"), ("MAGNESIUM_OTHER_INDICATION", "ICD9CM", "56400"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD9CM", "34690"), ("MAGNESIUM_OTHER_INDICATION", "ICD9CM", "64263"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD9CM", "42731"), ("MAGNESIUM_OTHER_INDICATION", "SNOMED", "49436004"),
    ("MAGNESIUM_OTHER_INDICATION", "SNOMED", "37796009"), ("MAGNESIUM_OTHER_INDICATION", "SNOMED", "14760008"),
    ("MAGNESIUM_OTHER_INDICATION", "SNOMED", "398254007"),
    # MS G35 (FY2026 split G35.A-G35.D), CP G80, hemiplegia G81, paraplegia G82, stroke sequelae I69, cord injury
    ("SPASTICITY", "ICD10CM", "G35"), ("SPASTICITY", "ICD10CM", "G35A"), ("SPASTICITY", "ICD10CM", "G801"),
    ("SPASTICITY", "ICD10CM", "G8111"), ("SPASTICITY", "ICD10CM", "G8220"), ("SPASTICITY", "ICD10CM", "I69351"),
    ("SPASTICITY", "ICD10CM", "S14101A"), ("SPASTICITY", "ICD10CM", "S34109S"), ("SPASTICITY", "ICD9CM", "340"),
    ("SPASTICITY", "ICD9CM", "43820"), ("SPASTICITY", "ICD9CM", "95200"), ("SPASTICITY", "SNOMED", "24700007"),
    ("SPASTICITY", "SNOMED", "221360009"),
    # gout, osteoarthritis, fracture, back pain
    ("PAIN_INDICATION", "ICD10CM", "M109"), ("PAIN_INDICATION", "ICD10CM", "M1A0710"),
    ("PAIN_INDICATION", "ICD10CM", "M170"), ("PAIN_INDICATION", "ICD10CM", "S72001A"),
    ("PAIN_INDICATION", "ICD10CM", "M80051A"), ("PAIN_INDICATION", "ICD10CM", "M545"),
    ("PAIN_INDICATION", "ICD10CM", "M5450"), ("PAIN_INDICATION", "ICD9CM", "2749"),
    ("PAIN_INDICATION", "ICD9CM", "71516"), ("PAIN_INDICATION", "ICD9CM", "82000"),
    ("PAIN_INDICATION", "ICD9CM", "7242"),
    ("PAIN_INDICATION", "SNOMED", "90560007"),
    ("PAIN_INDICATION", "SNOMED", "396275006"), ("PAIN_INDICATION", "SNOMED", "125605004"),
    ("PAIN_INDICATION", "SNOMED", "279039007"),
    ("MALARIA", "ICD10CM", "B500"), ("MALARIA", "ICD10CM", "B54"), ("MALARIA", "ICD10CM", "B531"),
    ("MALARIA", "ICD9CM", "0840"), ("MALARIA", "SNOMED", "61462000"),
    ("FERRITIN_LAB", "LOINC", "2276-4"), ("FERRITIN_LAB", "LOINC", "14723-1"), ("FERRITIN_LAB", "LOINC", "20567-4"),
    ("VASCULAR_ASSESSMENT", "CPT", "93922"), ("VASCULAR_ASSESSMENT", "CPT", "93925"),
    ("VASCULAR_ASSESSMENT", "CPT", "93926"),
    ("CRAMP_PRECIPITANT", "RXNORM", "83367"), ("CRAMP_PRECIPITANT", "RXNORM", "36117"),
    ("CRAMP_PRECIPITANT", "RXNORM", "745678"), ("CRAMP_PRECIPITANT", "RXNORM", "7417"),
    ("ALPHA2DELTA", "RXNORM", "25480"), ("ALPHA2DELTA", "RXNORM", "187832"), ("ALPHA2DELTA", "RXNORM", "1101333"),
    ("DIURETIC_THIAZIDE_OR_LOOP", "RXNORM", "4603"), ("DIURETIC_THIAZIDE_OR_LOOP", "RXNORM", "5487"),
    ("DIURETIC_THIAZIDE_OR_LOOP", "RXNORM", "310812"), ("DIURETIC_POTASSIUM_SPARING", "RXNORM", "9997"),
    ("DIURETIC_POTASSIUM_SPARING", "RXNORM", "310812"), ("RED_FLAG_VASCULAR", "ICD10CM", "I739"),
    # PARKINSONS gains atypical parkinsonism
    ("PARKINSONS", "ICD10CM", "G231"), ("PARKINSONS", "ICD10CM", "G232"), ("PARKINSONS", "ICD10CM", "G903"),
    ("PARKINSONS", "ICD10CM", "G3183"), ("PARKINSONS", "ICD9CM", "3330"), ("PARKINSONS", "ICD9CM", "33182"),
    ("PARKINSONS", "SNOMED", "230297002"),
])
def test_rules_v2_code_is_in_its_value_set(value_set: str, code_system: str, code: str) -> None:
    assert (code_system, code) in codes(value_set)


@pytest.mark.parametrize("value_set, code_system, code, why", [
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "K59", "K59 holds diarrhoea and neurogenic bowel too: only K59.0"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "K591", "functional diarrhoea is not constipation"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "I469", "cardiac arrest (I46) is outside I47-I49"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD10CM", "O139", "gestational hypertension without proteinuria"),
    ("MAGNESIUM_OTHER_INDICATION", "ICD9CM", "4275", "427.5 cardiac arrest is I46"),
    ("MAGNESIUM_OTHER_INDICATION", "SNOMED", "312442005", "History of atrial fibrillation is not a current indication"),
    ("SPASTICITY", "ICD10CM", "S343XXA", "cauda equina injury is a lower-motor-neurone lesion"),
    ("SPASTICITY", "ICD9CM", "9524", "cauda equina injury is a lower-motor-neurone lesion"),
    ("SPASTICITY", "ICD10CM", "S14", "S14 holds nerve-root and plexus injuries too: only S14.0-S14.1"),
    ("PAIN_INDICATION", "ICD10CM", "M542", "cervicalgia is neck pain"),
    ("PAIN_INDICATION", "ICD10CM", "M5416", "radiculopathy is a red flag, not back pain"),
    ("PAIN_INDICATION", "ICD9CM", "27410", "gouty nephropathy is not a pain indication"),
    ("PAIN_INDICATION", "SNOMED", "307136000", "an old healed fracture is not a current pain indication"),
    ("MALARIA", "SNOMED", "161416007", "History of malaria is not malaria"),
    ("FERRITIN_LAB", "LOINC", "24373-3", "ferritin in blood is not serum/plasma (rules-v2.md)"),
    ("VASCULAR_ASSESSMENT", "SNOMED", "401221002", "verified=no in the reference"),
    ("CRAMP_PRECIPITANT", "RXNORM", "4603", "diuretics are not in drugs_cramp_precipitants.csv"),
    ("DIURETIC_THIAZIDE_OR_LOOP", "RXNORM", "9997", "spironolactone is potassium-sparing"),
    ("DIURETIC_POTASSIUM_SPARING", "RXNORM", "4603", "furosemide is a loop diuretic"),
    ("RED_FLAG_VASCULAR", "ICD10CM", "M4806", "lumbar stenosis (neurogenic claudication) is not vascular"),
])
def test_rules_v2_code_outside_its_value_set(value_set: str, code_system: str, code: str, why: str) -> None:
    assert codes(value_set), f"{value_set} is empty"
    assert (code_system, code) not in codes(value_set), why


@pytest.mark.parametrize("value_set, prefix, count", [
    ("MAGNESIUM_OTHER_INDICATION", "K590", 7),   # K59.0 and K59.00-K59.04, K59.09
    ("MAGNESIUM_OTHER_INDICATION", "O15", 8),    # O15, O15.0, O15.00-O15.03, O15.1, O15.2, O15.9 (less O15.01)
    ("MALARIA", "B5", 17),                       # B50-B54 with every subcode
    ("SPASTICITY", "G35", 11),                   # G35, G35.A, G35.B, G35.B0-B2, G35.C, G35.C0-C2, G35.D
])
def test_a_range_holds_every_code_in_it(value_set: str, prefix: str, count: int) -> None:
    """rules compare exact codes, so a range is every code of the CMS list under it, header included."""
    assert len({c for s, c in codes(value_set) if s == "ICD10CM" and c.startswith(prefix)}) == count


# ---------------------------------------------------------------- removals (rules-v2.md)

@pytest.mark.parametrize("value_set, code_system, code", [
    ("HYPOMAGNESEMIA", "SNOMED", "60853003"), ("HYPOMAGNESEMIA", "ICD9CM", "2752"),
    ("HYPOMAGNESEMIA", "OMOP", "438725"), ("EXTENSIVE_WORKUP", "CPT", "73721"),
    ("EXTENSIVE_WORKUP", "CPT", "73722"), ("EXTENSIVE_WORKUP", "CPT", "73723"),
])
def test_a_removed_code_is_gone_and_kept_as_a_known_non_member(value_set: str, code_system: str, code: str) -> None:
    assert (code_system, code) not in codes(value_set)
    assert any((r["value_set"], r["code_system"], r["code"]) == (value_set, code_system, code) for r in EXCLUSIONS)
    assert any((r["value_set"], r["code_system"], r["code"]) == (value_set, code_system, code)
               and r["reason"].startswith("removed: ") for r in SKIPPED)


def test_extensive_workup_keeps_non_joint_lower_limb_mri() -> None:
    assert {("CPT", "73718"), ("CPT", "73719"), ("CPT", "73720")} <= codes("EXTENSIVE_WORKUP")


def test_hypomagnesemia_never_means_high_magnesium() -> None:
    assert ("ICD10CM", "E8341") not in codes("HYPOMAGNESEMIA")  # E83.41 Hypermagnesemia
    displays = [r["display"] for r in MEMBERS if r["value_set"] == "HYPOMAGNESEMIA"]
    assert displays and not [d for d in displays if re.search(r"hyper|disorders? of magnesium metabolism", d, re.I)]


# ---------------------------------------------------------------- sets that must stay apart

@pytest.mark.parametrize("one, other", [
    ("HYPOMAGNESEMIA", "MAGNESIUM_OTHER_INDICATION"),
    ("LEG_CRAMPS", "PAIN_INDICATION"),       # a cramp code must never be "another pain indication"
    ("LEG_CRAMPS", "SPASTICITY"),            # R25.2 cramp and spasm is not spasticity
    ("LEG_CRAMPS", "MAGNESIUM_OTHER_INDICATION"),
    ("LEG_CRAMPS", "MALARIA"),
    ("VASCULAR_ASSESSMENT", "EXTENSIVE_WORKUP"),
    ("VASCULAR_ASSESSMENT", "REFERRAL"),
    ("ALPHA2DELTA", "DOPAMINERGIC"),
    ("CRAMP_PRECIPITANT", "MAGNESIUM_SUPPLEMENT"),   # pitavastatin magnesium is a statin
    ("CRAMP_PRECIPITANT", "DIURETIC"),
])
def test_sets_that_must_be_disjoint_are(one: str, other: str) -> None:
    assert codes(one) and codes(other)
    assert not codes(one) & codes(other)


@pytest.mark.parametrize("subset, superset", [
    ("RED_FLAG_VASCULAR", "RED_FLAG"), ("DIURETIC_THIAZIDE_OR_LOOP", "DIURETIC"),
    ("DIURETIC_POTASSIUM_SPARING", "DIURETIC"),
])
def test_subsets_stay_inside_their_set(subset: str, superset: str) -> None:
    assert codes(subset) and codes(subset) <= codes(superset)


def test_only_combination_products_are_both_potassium_wasting_and_sparing() -> None:
    both = codes("DIURETIC_THIAZIDE_OR_LOOP") & codes("DIURETIC_POTASSIUM_SPARING")
    displays = {r["display"] for r in MEMBERS if (r["code_system"], r["code"]) in both and r["value_set"] == "DIURETIC"}
    assert both and all(" / " in d for d in displays), displays


def test_diuretic_subset_patterns_together_are_the_diuretic_patterns() -> None:
    """One meaning per pattern: an order matched as DIURETIC by its text is in one of the subsets."""
    names = _rows(VALUESETS_DIR / "drug_names.csv")
    def patterns(*sets: str) -> set[str]:
        return {r["pattern"] for r in names if r["value_set"] in sets and r["kind"] == "include"}
    assert patterns("DIURETIC") == patterns("DIURETIC_THIAZIDE_OR_LOOP", "DIURETIC_POTASSIUM_SPARING")


# ---------------------------------------------------------------- route map

@pytest.mark.parametrize("spelling, group", [
    # rules-v2.md "Route" and issue 12 item 1
    ("Oral route", "oral"), ("PO", "oral"), ("PO/NG", "oral"), ("oral use", "oral"), ("by mouth", "oral"),
    ("po", "oral"), (" Oral  Route ", "oral"), ("ORAL", "oral"), ("orally", "oral"), ("per os", "oral"),
    ("p.o.", "oral"), ("Oral route (qualifier value)", "oral"), ("26643006", "oral"), ("Oral use", "oral"),
    ("20053000", "oral"), ("NG", "oral"), ("127490009", "oral"),
    ("47625008", "parenteral"), ("Intravenous route", "parenteral"), ("IV", "parenteral"), ("IV DRIP", "parenteral"),
    ("Intravenous use", "parenteral"), ("78421000", "parenteral"), ("IM", "parenteral"), ("34206005", "parenteral"),
    ("SC", "parenteral"), ("SQ", "parenteral"), ("SUBCUT", "parenteral"), ("Injection", "parenteral"),
    ("6064005", "topical"), ("Topical route", "topical"), ("TP", "topical"), ("TOPICAL", "topical"),
    ("Cutaneous use", "topical"), ("45890007", "transdermal"), ("Transdermal route", "transdermal"),
    ("TD", "transdermal"), ("72607000", "intrathecal"), ("Intrathecal use", "intrathecal"), ("IT", "intrathecal"),
    ("37161004", "rectal"), ("PR", "rectal"), ("37839007", "oromucosal"), ("SL", "oromucosal"), ("46713006", "nasal"),
    ("447694001", "inhalation"), ("IH", "inhalation"),
])
def test_route_spelling_resolves_to_its_group(spelling: str, group: str) -> None:
    assert route_group(spelling) == group


@pytest.mark.parametrize("spelling", ["OS", "patch", "DWELL", "REPLACE"])
def test_ambiguous_route_spellings_are_left_unknown(spelling: str) -> None:
    """MIMIC's OS is the left eye, not per os; a patch may be topical or transdermal."""
    assert route_group(spelling) is None


def test_route_map_keys_are_unique_and_every_route_has_a_group() -> None:
    keys = [route_key(r["spelling"]) for r in ROUTES]
    assert len(keys) == len(set(keys))
    assert {r["route"] for r in ROUTES} | {r["route"] for r in DOSE_FORMS} <= set(ROUTE_GROUPS)


@pytest.fixture(scope="module")
def ref() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_value_sets(con)
    return con


def test_route_map_resolves_in_duckdb_as_documented(ref: duckdb.DuckDBPyConnection) -> None:
    """The same case/space/punctuation-insensitive join the rule SQL is to use."""
    got = dict(ref.execute("""
        SELECT s.spelling, g.route_group
        FROM (VALUES ('Oral route'), ('PO/NG'), ('oral use'), ('By Mouth'), ('Transdermal route')) AS s(spelling)
        LEFT JOIN ref.routes AS r
               ON regexp_replace(lower(r.spelling), '[^a-z0-9]', '', 'g')
                = regexp_replace(lower(s.spelling), '[^a-z0-9]', '', 'g')
        LEFT JOIN ref.route_groups AS g USING (route)""").fetchall())
    assert got == {"Oral route": "oral", "PO/NG": "oral", "oral use": "oral", "By Mouth": "oral",
                   "Transdermal route": "transdermal"}


def test_every_mimic_prescription_route_of_a_systemic_drug_is_mapped() -> None:
    """The MIMIC demo's route values that carry a drug into the body by a known way."""
    for spelling in ("IV", "PO/NG", "PO", "SC", "IV DRIP", "IM", "IH", "TP", "PR", "ORAL", "TD", "IVPCA", "IV BOLUS",
                     "NG", "NEB", "SL", "ID", "SUBCUT", "VG"):
        assert route_group(spelling), spelling


# ---------------------------------------------------------------- dose-form map

@pytest.mark.parametrize("description, route", [
    ("baclofen 10 MG Oral Tablet", "oral"), ("magnesium oxide 400 MG Oral Tablet", "oral"),
    ("magnesium oxide 400 mg tablet", "oral"), ("24 HR lovastatin 20 MG Extended Release Oral Tablet", "oral"),
    ("magnesium chloride 64 MG Delayed Release Oral Tablet", "oral"), ("Chewable Tablet", "oral"),
    ("potassium chloride 20 MEQ Oral Capsule", "oral"), ("magnesium citrate oral solution", "oral"),
    ("furosemide 10 MG/ML Injection", "parenteral"), ("bumetanide 0.25 MG/ML Injectable Solution", "parenteral"),
    ("1 ML baclofen 0.05 MG/ML Prefilled Syringe", "parenteral"), ("magnesium sulfate infusion", "parenteral"),
    ("3 ML liraglutide 6 MG/ML Pen Injector", "parenteral"),
    ("baclofen 2 MG/ML Intrathecal Injection", "intrathecal"),
    ("diclofenac sodium 10 MG/ML Topical Gel", "topical"), ("hydrocortisone 10 MG/ML Topical Cream", "topical"),
    ("diclofenac 1.3% patch", "topical"), ("ibuprofen 5% gel", "topical"),
    ("24 HR rotigotine 2 MG/24HR Transdermal System", "transdermal"), ("testosterone transdermal gel", "transdermal"),
    ("Albuterol Metered Dose Inhaler", "inhalation"), ("Albuterol Inhalation Solution", "inhalation"),
    ("buprenorphine 2 MG / naloxone 0.5 MG Sublingual Tablet", "sublingual"),
    ("estradiol 0.1 MG/GM Vaginal Cream", "vaginal"), ("atropine sulfate 0.31 MG/ML Ophthalmic Solution", "ophthalmic"),
])
def test_dose_form_gives_the_route(description: str, route: str) -> None:
    assert route_from_dose_form(description) == route


def test_dose_form_map_can_replace_the_regex_table_in_transforms_common() -> None:
    """On every drug name the value sets ship, the data gives the route the code table gives, except
    where it knows more (intrathecal is not counted as parenteral; buccal / oromucosal forms)."""
    names = sorted({re.sub(r"\s*\[[A-Z]+\]\s*$", "", r["display"]) for r in MEMBERS if r["code_system"] == "RXNORM"})
    names += ["hydrocortisone 10 MG/ML Topical Cream", "Albuterol Metered Dose Inhaler", "pen",
              "NuvaRing Vaginal System"]
    old = pl.DataFrame({"d": names}).select(route_from_description(pl.col("d")).alias("r"))["r"].to_list()
    refinements = {("parenteral", "intrathecal"), (None, "buccal"), (None, "oromucosal")}
    differ = [(n, o, route_from_dose_form(n)) for n, o in zip(names, old, strict=True)
              if o != route_from_dose_form(n) and (o, route_from_dose_form(n)) not in refinements]
    assert not differ, differ[:10]


def test_dose_form_terms_are_unique_lower_case_words() -> None:
    terms = [r["term"] for r in DOSE_FORMS]
    assert len(terms) == len(set(terms))
    assert all(t == t.lower().strip() and t for t in terms)


def test_tablets_and_capsules_are_dose_units_counting_the_form() -> None:
    units = {r["unit"].lower(): (r["dose_form"], float(r["forms_per_unit"]))
             for r in _rows(VALUESETS_DIR / "dose_form_units.csv")}
    assert units["tab"] == ("tablet", 1.0) and units["tablet"] == ("tablet", 1.0)
    assert units["cap"] == ("capsule", 1.0) and units["{tbl}"] == ("tablet", 1.0)
    assert units["half tab"] == ("tablet", 0.5)
    assert "mg" not in units


# ---------------------------------------------------------------- dose units

UNITS = _rows(VALUESETS_DIR / "unit_conversions.csv")


def factor(applies_to: str, unit: str) -> float:
    return next(float(r["factor"]) for r in UNITS
                if r["applies_to"] == applies_to and r["unit"].lower() == unit.lower())


@pytest.mark.parametrize("applies_to, unit, mg", [
    ("MAGNESIUM_OXIDE", "mg", 1), ("MAGNESIUM_OXIDE", "g", 1000), ("MAGNESIUM_OXIDE", "gm", 1000),
    ("MAGNESIUM_OXIDE", "GM", 1000), ("BACLOFEN", "mg", 1), ("BACLOFEN", "g", 1000), ("BACLOFEN", "gm", 1000),
])
def test_mass_dose_units_convert_to_mg(applies_to: str, unit: str, mg: float) -> None:
    assert factor(applies_to, unit) == mg


def test_magnesium_oxide_mmol_and_meq_keep_the_guideline_boundaries() -> None:
    """Guideline: 12-24 mmol daily (approximately 480-960 mg): both ends land on mgo_min_mg / mgo_max_mg,
    so a dose at the guideline's own limit is never a deviation; mEq = mmol x 2 (divalent)."""
    assert 12 * factor("MAGNESIUM_OXIDE", "mmol") == PARAMETERS["mgo_min_mg"]
    assert 24 * factor("MAGNESIUM_OXIDE", "mmol") == PARAMETERS["mgo_max_mg"]
    assert 48 * factor("MAGNESIUM_OXIDE", "mEq") == PARAMETERS["mgo_max_mg"]


def test_baclofen_has_no_molar_dose_unit() -> None:
    assert not [r for r in UNITS if r["applies_to"] == "BACLOFEN" and r["unit"].lower() in ("mmol", "meq")]


# ---------------------------------------------------------------- per-unit lab thresholds

THRESHOLDS = {(r["applies_to"], r["unit"]): r for r in _rows(VALUESETS_DIR / "lab_thresholds.csv")}


@pytest.mark.parametrize("analyte, unit, low, ref_min, ref_max", [
    ("MAGNESIUM_LAB", "mmol/L", 0.70, 0.4, 1.1), ("MAGNESIUM_LAB", "mg/dL", 1.7, 1.0, 2.6),
    ("MAGNESIUM_LAB", "mEq/L", 1.4, 0.8, 2.2), ("POTASSIUM_LAB", "mmol/L", 3.5, 2.5, 4.5),
    ("POTASSIUM_LAB", "mEq/L", 3.5, 2.5, 4.5),
])
def test_low_thresholds_and_plausible_ref_low_are_those_of_rules_v2(analyte: str, unit: str, low: float,
                                                                     ref_min: float, ref_max: float) -> None:
    row = THRESHOLDS[(analyte, unit)]
    assert (float(row["low"]), float(row["ref_low_min"]), float(row["ref_low_max"])) == (low, ref_min, ref_max)


def test_every_threshold_unit_converts_and_agrees_with_the_mmol_threshold() -> None:
    """Thresholds held per unit are the same threshold: 1.7 mg/dL = 1.4 mEq/L = 0.70 mmol/L (to lab rounding)."""
    mmol_low = {"MAGNESIUM_LAB": PARAMETERS["mg_low_mmol"], "POTASSIUM_LAB": PARAMETERS["k_low_mmol"]}
    for (analyte, unit), row in THRESHOLDS.items():
        in_mmol = float(row["low"]) * factor(analyte, unit)
        assert in_mmol == pytest.approx(mmol_low[analyte], rel=0.01), (analyte, unit, in_mmol)
        assert float(row["ref_low_min"]) < float(row["low"]) < float(row["ref_low_max"])


def test_potassium_in_mg_dl_converts_at_ten_over_39_1() -> None:
    assert factor("POTASSIUM_LAB", "mg/dL") == pytest.approx(10 / 39.1, rel=1e-8)
    assert float(THRESHOLDS[("POTASSIUM_LAB", "mg/dL")]["low"]) == pytest.approx(3.5 * 39.1 / 10)


# ---------------------------------------------------------------- text results

@pytest.mark.parametrize("text, meaning, number", [
    ("<30", "below", "30"), ("< 0.5", "below", "0.5"), ("less than 30", "below", "30"), ("<=30", "at_most", "30"),
    (">300", "above", "300"), ("> 90", "above", "90"), (">=60", "at_least", "60"),
    ("haemolysed", "not_a_result", None), ("hemolyzed specimen", "not_a_result", None),
    ("cancelled", "not_a_result", None), ("canceled by lab", "not_a_result", None), ("see note", "not_a_result", None),
    ("___", "not_a_result", None), ("0.7", None, None), ("not hemolyzed", None, None),
])
def test_text_result_patterns_classify_in_duckdb(ref: duckdb.DuckDBPyConnection, text: str, meaning: str | None,
                                               number: str | None) -> None:
    """Patterns are RE2, matched against the lower-cased, trimmed result text; the first capture is the
    number. Text no pattern matches and that is not a number is not a result either (README)."""
    rows = ref.execute("""SELECT meaning, regexp_extract(lower(trim(?)), pattern, 1) FROM ref.text_results
                          WHERE regexp_matches(lower(trim(?)), pattern)""", [text, text]).fetchall()
    assert len({m for m, _ in rows}) <= 1, rows
    assert (rows[0][0] if rows else None) == meaning
    if number is not None:
        assert rows[0][1] == number
