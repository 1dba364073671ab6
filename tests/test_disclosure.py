"""Disclosure control over a run's whole release: every suppressed cell resists the recovery attack
(tests/recovery_attack.py), and nothing is suppressed that is neither small nor needed to protect."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from recovery_attack import Attack, AttackLink

from cramp_audit.disclosure import (
    BOUNDED,
    LINEAR,
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    Link,
    equal_count_links,
    release_cells,
    release_table,
    suppress,
)

K = 11
COUNT_COLUMNS = ["denominator", "exclusions", "not_evaluable", "deviations"]
KEY = ["rule_id", "stratum", "value", "count"]
STRATA_VALUES = {
    "site": ["S01", "S02", "S03", "S04", "S05", "S06", "S07", "(none)"],
    "sex": ["F", "M", "(none)"],
    "age_band": ["18-64", "65-79", "80+"],
    "index_code_kind": ["general", "leg-specific"],
}


def random_release(
    rng: np.random.Generator, small: bool = True, linked: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """rule_results and rule_strata of a random run: patients' statuses counted per site x sex x age band
    x code kind, then summed into each stratum, so every stratum partitions its rule as the real ones
    do. Cell sizes range from empty to hundreds; with small=False every count is 0 or >= K. With
    linked=True every rule has the first rule's denominator in every cell (as rules whose denominator
    is the whole cohort do), its patients split differently into statuses."""
    strata = {
        name: values[: int(rng.integers(1, len(values) + 1))] for name, values in STRATA_VALUES.items()
    }
    shape = [len(values) for values in strata.values()]
    totals, rows = [], []
    first_denominator = None
    for r in range(int(rng.integers(2 if linked else 1, 4))):
        scale = rng.choice([0.05, 0.3, 1.0, 3.0, 10.0])
        # per status (excluded, not evaluable, deviation, met), some statuses often empty
        status_scale = rng.choice([0.0, 0.2, 1.0, 3.0], size=4, p=[0.15, 0.2, 0.35, 0.3])
        atoms = rng.poisson(rng.gamma(0.7, scale, size=(*shape, 4)) * status_scale)
        if not small:
            atoms = np.where(atoms > 0, atoms + K, 0)
        if linked and first_denominator is None:
            first_denominator = atoms.sum(axis=-1)
        elif linked:
            weights = rng.dirichlet(np.ones(4) * 0.5)
            atoms = np.stack([rng.multinomial(n, weights) for n in first_denominator.ravel()]).reshape(atoms.shape)
        rule_id = f"LC-R{r}"

        def counts(a: np.ndarray) -> tuple[int, ...]:
            x, ne, v, m = (int(a[..., i]) for i in range(4))
            return x + ne + v + m, x, ne, v

        totals.append((rule_id, *counts(atoms.sum(axis=(0, 1, 2, 3)))))
        for axis, (stratum, values) in enumerate(strata.items()):
            margin = atoms.sum(axis=tuple(i for i in range(4) if i != axis))
            rows += [(rule_id, stratum, value, *counts(margin[j])) for j, value in enumerate(values)]
    return (
        pl.DataFrame(totals, schema=["rule_id", *COUNT_COLUMNS], orient="row"),
        pl.DataFrame(rows, schema=["rule_id", "stratum", "value", *COUNT_COLUMNS], orient="row"),
    )


def rule(rule_id: str, total: tuple[int, int, int, int], strata: dict[str, dict[str, tuple[int, int, int, int]]]):
    """One hand-made rule: its totals (denominator, exclusions, not_evaluable, deviations) and strata."""
    results = pl.DataFrame([(rule_id, *total)], schema=["rule_id", *COUNT_COLUMNS], orient="row")
    rows = [(rule_id, stratum, value, *c) for stratum, values in strata.items() for value, c in values.items()]
    return results, pl.DataFrame(rows, schema=["rule_id", "stratum", "value", *COUNT_COLUMNS], orient="row")


def suppressed_release(results, strata, links=()):
    return suppress(release_cells(results, strata), K, links)


def cells_with(statuses: pl.DataFrame, status: str) -> set[tuple[str, str, str, str]]:
    return set(statuses.filter(pl.col("status") == status).select(KEY).iter_rows())


def publish(statuses: pl.DataFrame, key: tuple[str, str, str, str]) -> pl.DataFrame:
    is_key = pl.all_horizontal(pl.col(c) == v for c, v in zip(KEY, key, strict=True))
    return statuses.with_columns(status=pl.when(is_key).then(pl.lit(PUBLISHED)).otherwise("status"))


def assert_well_formed(statuses: pl.DataFrame) -> None:
    """Small cells suppressed as primary, zeros and nothing else published as is."""
    small = statuses.filter(pl.col("n").is_between(1, K - 1))
    assert (small["status"] == PRIMARY).all()
    assert (statuses.filter(pl.col("n") == 0)["status"] == PUBLISHED).all()
    assert (statuses.filter(pl.col("status") == SECONDARY)["n"] >= K).all()


def test_a_release_without_small_cells_suppresses_nothing():
    rng = np.random.default_rng(7)
    for _ in range(20):
        statuses = suppressed_release(*random_release(rng, small=False))
        assert (statuses["status"] == PUBLISHED).all()
        assert statuses["protection"].is_null().all()


def assert_nothing_recovered(statuses: pl.DataFrame, links: list[Link] = ()) -> None:
    attack_links = [AttackLink(link.count, link.terms, link.rows) for link in links]
    recovered = Attack(statuses, K, attack_links).recovered()
    # Subtraction and linear algebra never succeed; the bounds only where the module says so.
    linear_only = set(statuses.filter(pl.col("protection") == LINEAR).select(KEY).iter_rows())
    assert {key: how for key, how in recovered.items() if key not in linear_only or how != "bounds"} == {}


def test_no_suppressed_cell_of_a_random_release_is_recovered():
    rng = np.random.default_rng(20240603)
    suppressed = 0
    for _ in range(60):
        statuses = suppressed_release(*random_release(rng))
        assert_well_formed(statuses)
        assert_nothing_recovered(statuses)
        suppressed += statuses.filter(pl.col("status") != PUBLISHED).height
    assert suppressed > 500  # the generator does make small cells


def test_no_suppressed_cell_of_rules_sharing_a_denominator_is_recovered():
    rng = np.random.default_rng(99)
    for _ in range(15):
        cells = release_cells(*random_release(rng, linked=True))
        links = equal_count_links(cells)
        assert links  # the rules' denominators are the same everywhere
        statuses = suppress(cells, K, links)
        assert_well_formed(statuses)
        assert_nothing_recovered(statuses, links)


def test_every_complement_is_needed():
    """Publishing any single complementary cell lets the attack recover some suppressed cell."""
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(12):
        statuses = suppressed_release(*random_release(rng))
        for key in sorted(cells_with(statuses, SECONDARY)):
            assert Attack(publish(statuses, key), K).recovered(), f"{key} is suppressed but not needed"
            checked += 1
    assert checked > 20


def test_subtraction_recovers_primary_suppression_alone():
    """The attack is not toothless: the release as rule_by_site.csv suppressed it (small cells only)."""
    rng = np.random.default_rng(3)
    statuses = suppressed_release(*random_release(rng))
    primaries_only = statuses.with_columns(
        status=pl.when(pl.col("status") == SECONDARY).then(pl.lit(PUBLISHED)).otherwise("status")
    )
    assert Attack(primaries_only, K).recovered()


def test_a_small_not_evaluable_hides_neither_the_site_nor_its_rate():
    # Site S01: 49 patients, 26 deviations, 3 not evaluable (today the whole row reads "suppressed").
    results, strata = rule("LC-MG-DOSE", (120, 14, 9, 50), {"site": {
        "S01": (49, 12, 3, 26), "S02": (40, 0, 4, 14), "S03": (31, 2, 2, 10),
    }})
    statuses = suppressed_release(results, strata)
    table = release_table(statuses)
    s01 = table.filter(pl.col("value") == "S01").row(0, named=True)
    assert (s01["denominator"], s01["deviations"], s01["not_evaluable"]) == (49, 26, None)
    assert s01["rate_shown"]
    total = table.filter(pl.col("stratum") == "total").row(0, named=True)
    assert total["denominator"] == 120 and total["rate_shown"]  # the rule's summary stays whole
    assert Attack(statuses, K).recovered(exhaustive=True) == {}


def test_one_small_cell_takes_the_smallest_complement_that_protects_it():
    results, strata = rule("LC-QUININE", (200, 0, 0, 70), {
        "site": {"S01": (50, 0, 0, 1), "S02": (50, 0, 0, 11), "S03": (50, 0, 0, 25), "S04": (50, 0, 0, 33)},
        "sex": {"F": (100, 0, 0, 35), "M": (100, 0, 0, 35)},
    })
    statuses = suppressed_release(results, strata)
    # S02's 11 cannot protect S01's 1: the two sum to 12, a complement is >= 11 and a small cell
    # >= 1, so both are pinned. The next smallest, S03, does protect it.
    assert cells_with(statuses, PRIMARY) == {("LC-QUININE", "site", "S01", "deviations")}
    assert cells_with(statuses, SECONDARY) == {("LC-QUININE", "site", "S03", "deviations")}
    assert Attack(statuses, K).recovered(exhaustive=True) == {}


def test_two_small_cells_of_one_stratum_protect_each_other():
    results, strata = rule("LC-QUININE", (100, 0, 0, 45), {
        "site": {"S01": (30, 0, 0, 2), "S02": (30, 0, 0, 3), "S03": (40, 0, 0, 40)},
    })
    statuses = suppressed_release(results, strata)
    assert cells_with(statuses, SECONDARY) == set()
    assert cells_with(statuses, PRIMARY) == {
        ("LC-QUININE", "site", "S01", "deviations"), ("LC-QUININE", "site", "S02", "deviations")
    }
    assert Attack(statuses, K).recovered(exhaustive=True) == {}


def test_a_small_total_is_suppressed_with_every_stratum_cell_it_would_reveal():
    results, strata = rule("LC-RLS-CONFUSION", (4, 1, 0, 2), {
        "site": {"S01": (3, 1, 0, 1), "S02": (1, 0, 0, 1), "S03": (0, 0, 0, 0)},
        "sex": {"F": (4, 1, 0, 2)},
        "age_band": {"18-64": (2, 0, 0, 1), "65-79": (2, 1, 0, 1)},
    })
    statuses = suppressed_release(results, strata)
    assert_well_formed(statuses)
    assert ("LC-RLS-CONFUSION", "total", "(all)", "deviations") in cells_with(statuses, PRIMARY)
    assert ("LC-RLS-CONFUSION", "site", "S03", "denominator") not in cells_with(statuses, PRIMARY)
    assert Attack(statuses, K).recovered(exhaustive=True) == {}


def test_every_cell_small_and_a_stratum_with_one_value():
    results, strata = rule("LC-MG-RENAL", (9, 2, 1, 3), {
        "site": {"S01": (5, 1, 1, 2), "S02": (4, 1, 0, 1)},
        "index_code_kind": {"general": (9, 2, 1, 3)},  # one value: the same numbers as the total
    })
    statuses = suppressed_release(results, strata)
    assert cells_with(statuses, PUBLISHED) == {
        key for key in statuses.select(KEY).iter_rows() if statuses.filter(
            pl.all_horizontal(pl.col(c) == v for c, v in zip(KEY, key, strict=True)))["n"].item() == 0
    }
    assert (statuses.filter(pl.col("status") != PUBLISHED)["protection"] == BOUNDED).all()
    assert Attack(statuses, K).recovered(exhaustive=True) == {}


def test_where_the_bounds_alone_pin_a_cell_it_is_marked_linear():
    """Ten sites of one patient each: every site is >= 1 and the total <= 10, so anyone who reads "<11"
    as 1..10 knows all of them. No subtraction recovers them; the module says only that much."""
    results, strata = rule("LC-QUININE", (10, 0, 0, 10), {"site": {f"S{i:02d}": (1, 0, 0, 1) for i in range(10)}})
    statuses = suppressed_release(results, strata)
    assert (statuses.filter(pl.col("status") != PUBLISHED)["protection"] == LINEAR).all()
    recovered = Attack(statuses, K).recovered()
    assert recovered and set(recovered.values()) == {"bounds"}


def test_zeros_are_published_and_protect_nothing():
    results, strata = rule("LC-NSAID-ELDERLY", (60, 0, 0, 5), {
        "age_band": {"18-64": (0, 0, 0, 0), "65-79": (35, 0, 0, 5), "80+": (25, 0, 0, 0)},
    })
    statuses = suppressed_release(results, strata)
    assert_well_formed(statuses)
    # 65-79's 5 deviations equal the total's 5 beside two published zeros: the total goes too, and
    # since the total's 5 is small it is primary; no zero is hidden to help.
    assert ("LC-NSAID-ELDERLY", "total", "(all)", "deviations") in cells_with(statuses, PRIMARY)
    assert Attack(statuses, K).recovered(exhaustive=True) == {}


def test_rules_linked_by_their_definitions_are_protected_together():
    # LC-WORKUP-EXCESS and LC-REFERRAL-MISSED split the cohort (no red flag / red flag), and
    # LC-QUININE's denominator is the cohort: denominator(WORKUP) + denominator(REFERRAL) = denominator(QUININE).
    def counts(d):
        return {"S01": (d[0], 0, 0, 0), "S02": (d[1], 0, 0, 0), "S03": (d[2], 0, 0, 0)}
    parts = [rule("LC-QUININE", (130, 0, 0, 0), {"site": counts((50, 40, 40))}),
             rule("LC-WORKUP-EXCESS", (103, 0, 0, 0), {"site": counts((47, 26, 30))}),
             rule("LC-REFERRAL-MISSED", (27, 0, 0, 0), {"site": counts((3, 14, 10))})]
    results, strata = (pl.concat([p[i] for p in parts]) for i in (0, 1))
    link = {"LC-WORKUP-EXCESS": 1, "LC-REFERRAL-MISSED": 1, "LC-QUININE": -1}
    attack_links = [AttackLink("denominator", link)]
    unaware = suppressed_release(results, strata)
    assert Attack(unaware, K, attack_links).recovered()  # 3 = 50 - 47
    aware = suppressed_release(results, strata, [Link("denominator", link)])
    assert Attack(aware, K, attack_links).recovered(exhaustive=True) == {}


def test_equal_count_links_finds_rules_with_the_same_denominator_everywhere():
    parts = [rule("LC-QUININE", (30, 0, 0, 2), {"site": {"S01": (20, 0, 0, 1), "S02": (10, 0, 0, 1)}}),
             rule("LC-ELECTROLYTES", (30, 0, 0, 9), {"site": {"S01": (20, 0, 0, 4), "S02": (10, 0, 0, 5)}}),
             rule("LC-MG-DOSE", (25, 0, 0, 0), {"site": {"S01": (5, 0, 0, 0), "S02": (20, 0, 0, 0)}})]
    cells = release_cells(pl.concat([p[0] for p in parts]), pl.concat([p[1] for p in parts]))
    assert equal_count_links(cells) == [Link("denominator", {"LC-ELECTROLYTES": 1, "LC-QUININE": -1})]


def test_a_link_that_holds_in_some_rows_only_is_protected():
    # LC-NSAID-ELDERLY's denominator is the cohort aged 65+: LC-QUININE's (the cohort) in the two older
    # age bands. Its small not-evaluable counts take its denominators there as complements, which
    # LC-QUININE publishes unless the link is known.
    parts = [
        rule("LC-QUININE", (105, 0, 0, 0), {"age_band": {"18-64": (60, 0, 0, 0), "65-79": (30, 0, 0, 0),
                                                         "80+": (15, 0, 0, 0)}}),
        rule("LC-NSAID-ELDERLY", (45, 0, 4, 24), {"age_band": {"18-64": (0, 0, 0, 0), "65-79": (30, 0, 2, 12),
                                                               "80+": (15, 0, 2, 12)}}),
    ]
    results, strata = (pl.concat([p[i] for p in parts]) for i in (0, 1))
    cells = release_cells(results, strata)
    assert equal_count_links(cells) == []  # not the same everywhere: the rule definitions say where
    links = [Link("denominator", {"LC-NSAID-ELDERLY": 1, "LC-QUININE": -1},
                  (("age_band", "65-79"), ("age_band", "80+")))]
    attack_links = [AttackLink(link.count, link.terms, link.rows) for link in links]
    assert Attack(suppress(cells, K), K, attack_links).recovered()
    assert Attack(suppress(cells, K, links), K, attack_links).recovered(exhaustive=True) == {}


def test_rates_are_shown_only_on_published_evaluated_and_deviations():
    results, strata = rule("LC-MG-DOSE", (60, 0, 0, 20), {"site": {
        "S01": (30, 0, 0, 5), "S02": (17, 0, 0, 15), "S03": (13, 0, 13, 0),
    }})
    results = results.with_columns(not_evaluable=pl.lit(13))
    table = release_table(suppressed_release(results, strata)).filter(pl.col("stratum") == "site")
    rate_shown = dict(table.select("value", "rate_shown").iter_rows())
    assert rate_shown["S01"] is False  # deviations suppressed
    assert rate_shown["S03"] is False  # nothing evaluated: not evaluable is never a 0 % rate
    assert table.filter(pl.col("value") == "S03")["evaluated"].item() == 0


def test_the_same_release_in_any_row_order_suppresses_the_same_cells():
    results, strata = random_release(np.random.default_rng(5))
    first = suppressed_release(results, strata)
    again = suppressed_release(results.reverse(), strata.sample(fraction=1.0, shuffle=True, seed=1))
    assert first.equals(again)


@pytest.mark.parametrize(
    ("strata", "message"),
    [
        ({"site": {"S01": (5, 0, 0, 1), "S02": (4, 0, 0, 1)}}, "stratum site: denominator sums to 9"),
        ({"total": {"(all)": (10, 0, 0, 2)}}, "reserved"),
        ({"site": {"S01": (5, 0, 0, 6), "S02": (5, 0, 0, -4)}}, "deviations"),
    ],
)
def test_a_release_whose_strata_do_not_add_up_is_refused(strata, message):
    with pytest.raises(ValueError, match=message):
        release_cells(*rule("LC-QUININE", (10, 0, 0, 2), strata))


def test_strata_of_a_rule_without_totals_are_refused():
    results, strata = rule("LC-QUININE", (10, 0, 0, 2), {"site": {"S01": (10, 0, 0, 2)}})
    with pytest.raises(ValueError, match="rule LC-QUININE has strata but no rule total"):
        release_cells(results.clear(), strata)


def test_a_link_that_does_not_hold_is_refused():
    parts = [rule("LC-QUININE", (30, 0, 0, 2), {"site": {"S01": (20, 0, 0, 1), "S02": (10, 0, 0, 1)}}),
             rule("LC-ELECTROLYTES", (30, 0, 0, 9), {"site": {"S01": (21, 0, 0, 4), "S02": (9, 0, 0, 5)}})]
    cells = release_cells(pl.concat([p[0] for p in parts]), pl.concat([p[1] for p in parts]))
    with pytest.raises(ValueError, match="does not hold in row"):
        suppress(cells, K, [Link("denominator", {"LC-QUININE": 1, "LC-ELECTROLYTES": -1})])
