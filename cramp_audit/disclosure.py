"""Disclosure control over the whole release of one run: every published count is suppressed as one table.

What is protected
-----------------
A *row* is one rule's total (stratum ``total``, value ``(all)``) or one stratum value of it
(audit.rule_strata: site, sex, age_band, index_code_kind). Each row has five published *cells*:

    denominator, exclusions, not_evaluable, deviations        (the CSV / HTML / MeasureReport counts)
    evaluated = denominator - exclusions - not_evaluable      (published through the rate and its
                                                               Wilson interval, which reveal it)

A rate (and its interval) is shown only when both of the counts it is built on, deviations and
evaluated, are published (``rate_shown`` in `release_table`); so a rate never tells more than its two
cells, and evaluated is protected like any other count. denominator, exclusions and not_evaluable may
then be partly suppressed while the rate stays: a small not_evaluable costs one of its row's other
counts and the complements of its stratum, not the rate.

What the attacker knows (the model the guarantee is stated in)
----------------------------------------------------------------
Every published figure of the run, and these exact relations:

- within each row: denominator = exclusions + not_evaluable + evaluated;
  evaluated = deviations + met, met >= 0 (met is never published: it only gives deviations <= evaluated);
- per rule, per stratum, per count (met included): the values' cells sum to the rule total's cell;
  the total's cells are shared by all four strata (and may be suppressed themselves);
- optional cross-rule `Link`s (rules whose populations are the same or partition another one, e.g.
  two rules whose denominator is the whole cohort): a weighted sum of one count over rules is 0 in
  every row, or in the rows named;
- the bounds the display gives: a published 0 is 0 (zeros are never suppressed, so they protect
  nothing); a primary cell, shown ``<k``, is 1..k-1; a secondary cell is not small and not 0, so >= k.

Algorithm (deterministic: every choice is ordered by cell key)
---------------------------------------------------------------
1. Primary: every cell from 1 to suppress_below - 1.
2. Complementary: a suppressed cell j is *protected* by a witness z: an integer vector with entries
   -1/0/+1 on suppressed cells (and the never-published met cells), z_j != 0, that satisfies every
   relation (A z = 0) and keeps each moved cell inside the bounds above. Then x + z is a second table
   that agrees with every published figure, every relation and every bound, so the attacker cannot
   tell x_j from x_j + z_j; z protects every suppressed cell it moves. For each unprotected cell (rule
   totals first, then by key) a depth-first search finds a witness, allowed to move published
   non-zero cells at a cost (they become *secondary*): cost = value x weight, weights
   `DEFAULT_WEIGHTS` (evaluated and deviations weigh more, since hiding either blanks a rate; a rule
   total weighs `TOTAL_WEIGHT`, so totals are suppressed only when nothing else protects). Already
   suppressed cells and met cost nothing. The search deepens: the cheapest witness of at most 8 moved
   cells, else 16, 32, 64 (`SUPPORT_LIMITS`), balancing first the relation with the fewest ways to
   balance it. Suppressing more never breaks a witness, so the loop ends with every suppressed cell
   protected. (A typical witness: a small deviations count at one site and a complement at another
   site move by +1 / -1, their met counts by -1 / +1.)
3. Redundancy pass: each secondary cell, most costly first, is published again when every suppressed
   cell still has a witness without it.

Guarantee
---------
- No suppressed cell is determined by the relations and published figures (linear recovery, the
  "subtract it from the total" attack and every combination of relations): each has a witness.
- Each suppressed cell marked ``protection = "bounded"`` is also safe against an attacker who uses the
  bounds (<k means 1..k-1, complements >= k, zeros are zeros, deviations <= evaluated): two integer
  tables within those bounds agree with everything published. A cell is marked ``"linear"`` when no
  such witness exists even after the search may suppress any non-zero cell: the bounds can then pin
  it (e.g. a total of 10 whose 10 sites hold 1 patient each: every site is >= 1, so the total is 10).
  Closing that would need suppressing zeros, which the house rule forbids; the report says so.
- No suppression without primary cells; every secondary cell is needed by the search's own test
  (publishing any one of them leaves some suppressed cell without a witness). The tests check this
  against the attack too: publishing any single complement lets tests/recovery_attack.py recover a
  cell. This is irredundancy, not the least total cost (that is NP-hard in general); the greedy order
  and the weights make complements small in practice.
- `suppress` raises RuntimeError only if a suppressed cell has no witness even linearly with every
  non-zero cell suppressible (not seen in the tests); the release must then not be published.
Out of the model: an attacker who also knows this algorithm and replays it on candidate tables, other
runs of the same source (differencing over time) and the patient-level worklist (internal only).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

PUBLISHED, PRIMARY, SECONDARY = "published", "primary", "secondary"
BOUNDED, LINEAR = "bounded", "linear"
TOTAL_STRATUM, TOTAL_VALUE = "total", "(all)"
RULE_COUNTS = ("denominator", "exclusions", "not_evaluable", "deviations")  # audit.rule_results / rule_strata
COUNTS = ("denominator", "exclusions", "not_evaluable", "evaluated", "deviations")  # the published cells
MET = "met"  # evaluated - deviations: never published, only gives the attacker deviations <= evaluated

# Cost of suppressing a cell = its value x the weight of its count (x TOTAL_WEIGHT for a rule total).
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "denominator": 1.0, "exclusions": 1.0, "not_evaluable": 1.0, "evaluated": 3.0, "deviations": 3.0,
}
TOTAL_WEIGHT = 1000.0

ROW_KEY = ("rule_id", "stratum", "value")
CELL_SCHEMA = {"rule_id": pl.String, "stratum": pl.String, "value": pl.String, "count": pl.String, "n": pl.Int64}
STATUS_SCHEMA = {**CELL_SCHEMA, "status": pl.String, "protection": pl.String}

# A witness search looks for witnesses of at most 8 moved cells, then 16, 32, 64 (iterative deepening:
# short witnesses are found at once, and zero-cost moves cannot wander), each within SEARCH_NODES.
SUPPORT_LIMITS = (8, 16, 32, 64)
SEARCH_NODES = 20_000


class UnprotectableCellError(RuntimeError):
    """A small cell that no set of suppressions can hide (the search found no witness)."""


@dataclass(frozen=True)
class Link:
    """A cross-rule identity the attacker can know from the rule definitions: sum over rules of
    coefficient x `count` = 0 in every row (stratum, value), or only in `rows` when given. Example: two
    rules whose denominator is the whole cohort, `Link("denominator", {"LC-QUININE": 1,
    "LC-ELECTROLYTES": -1})`; LC-NSAID-ELDERLY's denominator is the cohort aged 65+, the same as
    LC-QUININE's only in the age bands 65-79 and 80+ (`rows=(("age_band", "65-79"), ("age_band", "80+"))`).
    A rule without such a row counts 0 there."""

    count: str
    terms: Mapping[str, int] = field(default_factory=dict)
    rows: tuple[tuple[str, str], ...] = ()


# --- the release as cells ---------------------------------------------------------------------------


def release_cells(rule_results: pl.DataFrame, rule_strata: pl.DataFrame) -> pl.DataFrame:
    """Every published count of one run as one long table (CELL_SCHEMA: rule_id, stratum, value, count,
    n), the rule totals as stratum "total" / value "(all)", evaluated derived. Checks the relations the
    guarantee relies on (each stratum partitions its rule) and raises ValueError naming the cell."""
    totals = rule_results.select(
        "rule_id", pl.lit(TOTAL_STRATUM).alias("stratum"), pl.lit(TOTAL_VALUE).alias("value"), *RULE_COUNTS
    )
    strata = rule_strata.select(*ROW_KEY, *RULE_COUNTS)
    if strata.filter(pl.col("stratum") == TOTAL_STRATUM).height:
        raise ValueError(f"rule_strata: stratum {TOTAL_STRATUM!r} is reserved for the rule totals")
    rows = pl.concat([totals, strata.cast({c: totals.schema[c] for c in RULE_COUNTS})]).with_columns(
        (pl.col("denominator") - pl.col("exclusions") - pl.col("not_evaluable")).alias("evaluated")
    )
    check_rows(rows)
    return (
        rows.unpivot(on=list(COUNTS), index=list(ROW_KEY), variable_name="count", value_name="n")
        .cast(CELL_SCHEMA)
        .sort(*ROW_KEY, "count")
    )


def check_rows(rows: pl.DataFrame) -> None:
    """Wide rows (ROW_KEY + COUNTS): counts whole and consistent, each stratum summing to its total."""
    duplicated = rows.filter(pl.struct(ROW_KEY).is_duplicated())
    if duplicated.height:
        raise ValueError(f"release: row {duplicated.select(ROW_KEY).row(0)} appears more than once")
    for count in (*RULE_COUNTS, "evaluated"):
        bad = rows.filter(pl.col(count).is_null() | (pl.col(count) < 0))
        if bad.height:
            raise ValueError(f"release: row {bad.select(ROW_KEY).row(0)} has {count} missing or below 0")
    bad = rows.filter(pl.col("deviations") > pl.col("evaluated"))
    if bad.height:
        raise ValueError(f"release: row {bad.select(ROW_KEY).row(0)} has more deviations than evaluated")
    totals = rows.filter(pl.col("stratum") == TOTAL_STRATUM)
    sums = (
        rows.filter(pl.col("stratum") != TOTAL_STRATUM)
        .group_by("rule_id", "stratum")
        .agg(pl.col(c).sum() for c in RULE_COUNTS)
        .join(totals.select("rule_id", *RULE_COUNTS), on="rule_id", how="left", suffix="_total")
        .sort("rule_id", "stratum")
    )
    orphans = sums.filter(pl.col("denominator_total").is_null())
    if orphans.height:
        raise ValueError(f"release: rule {orphans['rule_id'][0]} has strata but no rule total")
    for count in RULE_COUNTS:
        bad = sums.filter(pl.col(count) != pl.col(f"{count}_total"))
        if bad.height:
            rule_id, stratum, got, total = bad.select("rule_id", "stratum", count, f"{count}_total").row(0)
            raise ValueError(
                f"release: rule {rule_id} stratum {stratum}: {count} sums to {got} over its values, "
                f"the rule total is {total}"
            )


# --- suppression ------------------------------------------------------------------------------------


def suppress(
    cells: pl.DataFrame,
    suppress_below: int,
    links: Sequence[Link] = (),
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> pl.DataFrame:
    """The cells of `release_cells` with `status` (published / primary / secondary) and `protection`
    (bounded / linear for a suppressed cell, null when published); see the module docstring."""
    if isinstance(suppress_below, bool) or not isinstance(suppress_below, int) or suppress_below < 1:
        raise ValueError(f"suppress_below must be a whole number >= 1, got {suppress_below!r}")
    cells = cells.select(list(CELL_SCHEMA)).cast(CELL_SCHEMA).sort(*ROW_KEY, "count")
    rows = cells.pivot(on="count", index=list(ROW_KEY), values="n")
    missing = [c for c in COUNTS if c not in rows.columns]
    if missing:
        raise ValueError(f"release: no {', '.join(missing)} cells")
    check_rows(rows)
    check_links(rows, links)
    statuses: dict[tuple[str, str, str, str], tuple[str, str | None]] = {}
    for rules in linked_components(rows["rule_id"].unique().sort().to_list(), links):
        problem = Problem(rows.filter(pl.col("rule_id").is_in(rules)), links, suppress_below, weights)
        try:
            statuses.update(problem.solve())
        except UnprotectableCellError:
            statuses.update(withheld(cells.filter(pl.col("rule_id").is_in(rules)), suppress_below))
    keys = list(zip(*(cells[c].to_list() for c in (*ROW_KEY, "count")), strict=True))
    return cells.with_columns(
        pl.Series("status", [statuses[key][0] for key in keys], pl.String),
        pl.Series("protection", [statuses[key][1] for key in keys], pl.String),
    )


def withheld(cells: pl.DataFrame, suppress_below: int) -> dict[tuple[str, str, str, str], tuple[str, str | None]]:
    """Every non-zero cell suppressed: for a group of linked rules in which the search finds no
    pattern that hides a small cell (seen on extracts of two or three patients), nothing is shown."""
    return {(rule_id, stratum, value, count): (PUBLISHED, None) if n == 0 else
            (PRIMARY if n < suppress_below else SECONDARY, LINEAR)
            for rule_id, stratum, value, count, n in cells.select(*ROW_KEY, "count", "n").iter_rows()}


def release_table(statuses: pl.DataFrame) -> pl.DataFrame:
    """The suppressed release one row per (rule_id, stratum, value): each count (null when suppressed),
    its `<count>_status`, and `rate_shown` (deviations and evaluated published and evaluated > 0: the
    only rows whose rate and Wilson interval may be shown)."""
    shown = statuses.with_columns(
        pl.when(pl.col("status") == PUBLISHED).then(pl.col("n")).alias("shown")
    )
    values = shown.pivot(on="count", index=list(ROW_KEY), values="shown")
    status = shown.pivot(on="count", index=list(ROW_KEY), values="status")
    status = status.rename({c: f"{c}_status" for c in COUNTS})
    return (
        values.join(status, on=list(ROW_KEY), how="left")
        .with_columns(rate_shown=pl.col("evaluated").fill_null(0) > 0)
        .with_columns(rate_shown=pl.col("rate_shown") & pl.col("deviations").is_not_null())
        .select(*ROW_KEY, *COUNTS, *(f"{c}_status" for c in COUNTS), "rate_shown")
        .sort(pl.col("stratum") != TOTAL_STRATUM, *ROW_KEY)
    )


def equal_count_links(cells: pl.DataFrame, count: str = "denominator") -> list[Link]:
    """Conservative links: rules whose `count` is the same in every row of the release (e.g. every rule
    whose denominator is the whole cohort). A coincidence costs a little more suppression; a true
    identity the attacker knows from the rule definitions is then covered. Identities that hold in
    some rows only, or that are sums (two rules splitting the cohort), are not found here: they come
    from the rule definitions (`Link.rows`). Equalities of single rows are not taken: on small data
    they are mostly coincidences, and they would tie every rule into one problem."""
    vectors = (
        cells.filter(pl.col("count") == count)
        .group_by("rule_id")
        .agg(pl.concat_str("stratum", "value", pl.col("n").cast(pl.String), separator="\x1f").sort().alias("cells"))
        .with_columns(pl.col("cells").list.join("\x1e"))
        .group_by("cells")
        .agg(pl.col("rule_id").sort())
        .filter(pl.col("rule_id").list.len() > 1)
        .sort(pl.col("rule_id").list.first())
    )
    return [
        Link(count, {first: 1, other: -1})
        for rules in vectors["rule_id"].to_list()
        for first, other in zip(rules, rules[1:], strict=False)
    ]


def check_links(rows: pl.DataFrame, links: Sequence[Link]) -> None:
    """A link that does not hold in the data would model a relation no attacker has: refuse it."""
    known = set(rows["rule_id"].to_list())
    for link in links:
        if link.count not in COUNTS:
            raise ValueError(f"link {link}: count must be one of {', '.join(COUNTS)}")
        unknown = sorted(set(link.terms) - known)
        if unknown:
            raise ValueError(f"link {link}: rule {unknown[0]} is not in the release")
        linked = rows.filter(pl.col("rule_id").is_in(list(link.terms)))
        if link.rows:
            wanted = pl.DataFrame(list(link.rows), schema=["stratum", "value"], orient="row")
            linked = linked.join(wanted, on=["stratum", "value"], how="semi")
        weighted = (
            linked
            .with_columns(
                (pl.col(link.count) * pl.col("rule_id").replace_strict(dict(link.terms), return_dtype=pl.Int64))
                .alias("weighted")
            )
            .group_by("stratum", "value")
            .agg(pl.col("weighted").sum())
            .filter(pl.col("weighted") != 0)
            .sort("stratum", "value")
        )
        if weighted.height:
            raise ValueError(f"link {link} does not hold in row {weighted.select('stratum', 'value').row(0)}")


def linked_components(rule_ids: Iterable[str], links: Sequence[Link]) -> list[list[str]]:
    """Rules that share no link are independent problems (sorted, so the result is deterministic)."""
    parent = {rule_id: rule_id for rule_id in rule_ids}

    def root(rule_id: str) -> str:
        while parent[rule_id] != rule_id:
            parent[rule_id] = parent[parent[rule_id]]
            rule_id = parent[rule_id]
        return rule_id

    for link in links:
        first, *others = sorted(link.terms)
        for other in others:
            parent[root(other)] = root(first)
    groups: dict[str, list[str]] = {}
    for rule_id in sorted(parent):
        groups.setdefault(root(rule_id), []).append(rule_id)
    return sorted(groups.values())


CellKey = tuple[str, str, str, str]
HIDDEN = "hidden"


class Problem:
    """One independent part of the release: its cells (met included, hidden), the relations among
    them (lists of (cell, coefficient)), and the witness search of the module docstring."""

    def __init__(
        self, rows: pl.DataFrame, links: Sequence[Link], suppress_below: int, weights: Mapping[str, float]
    ) -> None:
        self.small_max = suppress_below - 1
        self.not_small = suppress_below
        self.keys: list[CellKey] = []
        self.n: list[int] = []
        self.status: list[str] = []
        self.cost: list[float] = []
        index: dict[CellKey, int] = {}
        for row in rows.sort(*ROW_KEY).iter_rows(named=True):
            row_key = (row["rule_id"], row["stratum"], row["value"])
            total = row["stratum"] == TOTAL_STRATUM
            for count in (*COUNTS, MET):
                n = row["evaluated"] - row["deviations"] if count == MET else row[count]
                index[(*row_key, count)] = len(self.keys)
                self.keys.append((*row_key, count))
                self.n.append(n)
                if count == MET:
                    self.status.append(HIDDEN)
                else:
                    self.status.append(PRIMARY if 1 <= n <= self.small_max else PUBLISHED)
                weight = 0.0 if count == MET else weights.get(count, 1.0) * (TOTAL_WEIGHT if total else 1.0)
                self.cost.append(n * weight)
        self.relations: list[list[tuple[int, int]]] = []
        row_keys = sorted({key[:3] for key in self.keys})
        for rk in row_keys:
            d, x, ne, e, v, m = (index[(*rk, c)] for c in (*COUNTS, MET))
            self.relations.append([(d, 1), (x, -1), (ne, -1), (e, -1)])
            self.relations.append([(e, 1), (v, -1), (m, -1)])
        strata: dict[tuple[str, str], list[str]] = {}
        for rule_id, stratum, value in row_keys:
            if stratum != TOTAL_STRATUM:
                strata.setdefault((rule_id, stratum), []).append(value)
        for (rule_id, stratum), values in sorted(strata.items()):
            for count in (*COUNTS, MET):
                relation = [(index[(rule_id, stratum, value, count)], 1) for value in values]
                relation.append((index[(rule_id, TOTAL_STRATUM, TOTAL_VALUE, count)], -1))
                self.relations.append(relation)
        rules = {rk[0] for rk in row_keys}
        for link in links:
            if not set(link.terms) <= rules:
                continue
            for stratum, value in sorted(set(link.rows) if link.rows else {rk[1:] for rk in row_keys}):
                relation = [
                    (index[(rule_id, stratum, value, link.count)], coefficient)
                    for rule_id, coefficient in sorted(link.terms.items())
                    if coefficient and (rule_id, stratum, value, link.count) in index
                ]
                if relation:
                    self.relations.append(relation)
        self.coefficient = [dict(relation) for relation in self.relations]
        if any(len(c) != len(relation) for c, relation in zip(self.coefficient, self.relations, strict=True)):
            raise ValueError("disclosure: a relation names a cell twice")
        self.cell_relations: list[list[tuple[int, int]]] = [[] for _ in self.keys]
        for r, relation in enumerate(self.relations):
            for cell, coefficient in relation:
                self.cell_relations[cell].append((r, coefficient))
        self.witness: dict[int, dict[int, int]] = {}
        self.protection: dict[int, str] = {}
        # a moved cell balances at most this many relations: bounds how many more moves a witness needs
        self.max_degree = max((len(relations) for relations in self.cell_relations), default=1)

    # bounds the attacker reads off the display
    def bounds(self, cell: int, status: str) -> tuple[float, float]:
        if status == PRIMARY:
            return 1, self.small_max
        if status == SECONDARY:
            return self.not_small, math.inf
        if status == HIDDEN:
            return 0, math.inf
        return self.n[cell], self.n[cell]

    def move_cost(self, cell: int, step: int, bounded: bool, allow_new: bool) -> float | None:
        """What moving `cell` by `step` costs in a witness, or None when it may not move."""
        status = self.status[cell]
        cost = 0.0
        if status == PUBLISHED:
            if not allow_new or self.n[cell] == 0:
                return None  # a published zero is known: it can neither move nor protect
            status, cost = SECONDARY, self.cost[cell]
        if bounded:
            low, high = self.bounds(cell, status)
            if not low <= self.n[cell] + step <= high:
                return None
        return cost

    def find_witness(self, cell: int, bounded: bool, allow_new: bool) -> dict[int, int] | None:
        """The cheapest witness moving `cell` among the smallest that exist (module docstring), or None
        when none is found within the search limits."""
        self.best: dict[int, int] | None = None
        self.best_cost = math.inf
        # Statuses do not change during a search, so each move's cost, and which cells of a relation
        # can move towards balancing it, are worked out once per search.
        self.moves: dict[tuple[int, int], float | None] = {}
        self.movable: dict[tuple[int, bool], frozenset[int]] = {}
        for limit in SUPPORT_LIMITS:
            self.limit, self.nodes, self.cut = limit, 0, False
            for step in (1, -1):
                if self.move_cost(cell, step, bounded, allow_new) is None:
                    continue
                residual: dict[int, int] = {}
                for r, coefficient in self.cell_relations[cell]:
                    residual[r] = residual.get(r, 0) + coefficient * step
                unbalanced = {r for r, value in residual.items() if value}
                self.in_witness = {cell}  # z's cells as a set: intersected with small sets, it walks those
                self.search({cell: step}, residual, unbalanced, 0.0, bounded, allow_new)
            if self.best is not None or not self.cut:
                break  # found, or the whole tree was searched: a deeper limit would search it again
        return self.best

    def search(
        self, z: dict[int, int], residual: dict[int, int], unbalanced: set[int], cost: float,
        bounded: bool, allow_new: bool,
    ) -> None:
        self.nodes += 1
        if not unbalanced:
            if cost < self.best_cost:
                self.best, self.best_cost = dict(z), cost
            return
        if self.nodes > SEARCH_NODES or len(z) + -(-len(unbalanced) // self.max_degree) > self.limit:
            self.cut = True
            return
        # Balance the relation with the fewest ways to do it first (fail first); only the chosen
        # relation's moves are ranked.
        chosen, fewest = -1, 0
        for r in sorted(unbalanced):
            ways = self.ways(r, residual, bounded, allow_new)
            if not ways:
                return
            if chosen < 0 or ways < fewest:
                chosen, fewest = r, ways
                if ways == 1:
                    break
        for move_cost, _, cell, step in self.candidates(chosen, residual, z, bounded, allow_new):
            if self.nodes > SEARCH_NODES:
                self.cut = True
                break
            if cost + move_cost >= self.best_cost:
                break  # candidates are sorted by cost: the rest cannot do better
            z[cell] = step
            self.in_witness.add(cell)
            changed = []
            for r, coefficient in self.cell_relations[cell]:
                changed.append((r, residual.get(r, 0)))
                residual[r] = residual.get(r, 0) + coefficient * step
                if residual[r]:
                    unbalanced.add(r)
                else:
                    unbalanced.discard(r)
            self.search(z, residual, unbalanced, cost + move_cost, bounded, allow_new)
            for r, before in reversed(changed):
                residual[r] = before
                if before:
                    unbalanced.add(r)
                else:
                    unbalanced.discard(r)
            self.in_witness.discard(cell)
            del z[cell]

    def search_move_cost(self, cell: int, step: int, bounded: bool, allow_new: bool) -> float | None:
        """move_cost, remembered for the current search."""
        key = (cell, step)
        if key not in self.moves:
            self.moves[key] = self.move_cost(cell, step, bounded, allow_new)
        return self.moves[key]

    def movable_cells(self, r: int, need: int, bounded: bool, allow_new: bool) -> frozenset[int]:
        """The cells of relation r that may move one step towards balancing a residual of `need`."""
        key = (r, need > 0)
        if key not in self.movable:
            self.movable[key] = frozenset(
                cell for cell, coefficient in self.relations[r]
                if self.search_move_cost(cell, -1 if need * coefficient > 0 else 1, bounded, allow_new) is not None
            )
        return self.movable[key]

    def ways(self, r: int, residual: dict[int, int], bounded: bool, allow_new: bool) -> int:
        """How many moves bring relation r's residual one step towards 0 (len of `candidates`): its
        movable cells not already in the witness."""
        cells = self.movable_cells(r, residual[r], bounded, allow_new)
        return len(cells) - len(cells & self.in_witness)

    def candidates(
        self, r: int, residual: dict[int, int], z: dict[int, int], bounded: bool, allow_new: bool
    ) -> list[tuple[float, int, int, int]]:
        """Moves that bring relation r's residual one step towards 0: (cost, relations it unbalances
        minus those it balances, cell, step), cheapest and most closing first."""
        need = residual[r]
        moves = []
        for cell in self.movable_cells(r, need, bounded, allow_new):
            if cell in z:
                continue
            step = -1 if need * self.coefficient[r][cell] > 0 else 1
            move_cost = self.search_move_cost(cell, step, bounded, allow_new)
            assert move_cost is not None
            opened = 0
            for r2, c2 in self.cell_relations[cell]:
                before = residual.get(r2, 0)
                opened += (before + c2 * step != 0) - (before != 0)
            moves.append((move_cost, opened, cell, step))
        moves.sort()
        return moves

    def suppressed(self) -> list[int]:
        return [cell for cell, status in enumerate(self.status) if status in (PRIMARY, SECONDARY)]

    def protect(self, cell: int) -> None:
        """Find cell a witness, suppressing complements as needed; with the bounds if at all possible."""
        for bounded in (True, False):
            z = self.find_witness(cell, bounded, allow_new=True)
            if z is not None:
                for moved in z:
                    if self.status[moved] == PUBLISHED:
                        self.status[moved] = SECONDARY
                mode = BOUNDED if bounded else LINEAR
                for moved in z:
                    if self.status[moved] != HIDDEN and self.protection.get(moved) != BOUNDED:
                        self.witness[moved], self.protection[moved] = z, mode
                return
        raise UnprotectableCellError(f"disclosure: no witness for {self.keys[cell]} even with every cell suppressible")

    def solve(self) -> dict[CellKey, tuple[str, str | None]]:
        # Rule totals first: their witnesses run through every stratum and protect many cells at once.
        primaries = sorted(self.suppressed(), key=lambda c: (self.keys[c][1] != TOTAL_STRATUM, self.keys[c]))
        for cell in primaries:
            if cell not in self.witness:
                self.protect(cell)
        while unprotected := [c for c in self.suppressed() if c not in self.witness]:
            self.protect(unprotected[0])
        self.upgrade()
        self.drop_redundant()
        return {
            key: (status, self.protection.get(cell))
            for cell, (key, status) in enumerate(zip(self.keys, self.status, strict=True))
            if status != HIDDEN
        }

    def upgrade(self) -> None:
        """A cell protected only linearly may have a bounded witness among the cells now suppressed."""
        for cell in self.suppressed():
            if self.protection[cell] == LINEAR:
                z = self.find_witness(cell, bounded=True, allow_new=False)
                if z is not None:
                    self.witness[cell], self.protection[cell] = z, BOUNDED

    def drop_redundant(self) -> None:
        secondaries = [c for c in self.suppressed() if self.status[c] == SECONDARY]
        for cell in sorted(secondaries, key=lambda c: (-self.cost[c], self.keys[c])):
            self.status[cell] = PUBLISHED
            replaced: dict[int, dict[int, int]] = {}
            for other in self.suppressed():
                if cell in self.witness[other]:
                    z = self.find_witness(other, self.protection[other] == BOUNDED, allow_new=False)
                    if z is None:
                        break
                    replaced[other] = z
            else:
                self.witness.update(replaced)
                del self.witness[cell], self.protection[cell]
                continue
            self.status[cell] = SECONDARY
