"""An attacker who tries to recover suppressed cells of a release from what is published (test helper).

It is written apart from cramp_audit.disclosure on purpose: it builds its own relations from the
table's shape and never calls the protector's search. What it sees, per cell (rule_id, stratum, value,
count): the published number, or that the cell is suppressed and whether as primary ("<k", 1..k-1)
or as a complement (non-zero and not small, so >= k). Zeros are published. It knows every relation
of a stratified release: within a row denominator = exclusions + not_evaluable + evaluated and
evaluated = deviations + met (met >= 0, never published); per rule, stratum and count the values sum
to the rule total; and the cross-rule links it is given.

Attacks, each exact (a cell counts as recovered only when it can have one value):
1. `propagate`: every relation with exactly one unknown is solved and substituted, to a fixed point
   (the subtraction attack: total minus the other values).
2. `linear`: full linear algebra: a cell is determined by the equalities iff its unit vector lies in
   the row space of the relation matrix restricted to the unknowns, i.e. iff every null vector of
   that matrix is 0 there (numpy SVD). This covers every combination of relations at once.
3. `bounded`: interval propagation of the bounds above through every relation, with integer
   rounding, to a fixed point; a cell whose interval closes to one value is recovered.
4. `exhaustive` (small systems only): a backtracking search over integer tables within the bounds
   looks for a second table that differs in the cell; none at all means recovered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from cramp_audit.disclosure import COUNTS, MET, PRIMARY, PUBLISHED, TOTAL_STRATUM, TOTAL_VALUE

Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class AttackLink:
    count: str
    terms: Mapping[str, int]
    rows: tuple[tuple[str, str], ...] = ()  # () = every row


class Attack:
    def __init__(
        self, statuses: pl.DataFrame, suppress_below: int, links: Sequence[AttackLink] = ()
    ) -> None:
        """statuses: rule_id, stratum, value, count, n, status; n is read only where published."""
        self.k = suppress_below
        self.keys: list[Key] = []
        self.known: dict[int, int] = {}
        self.low: list[float] = []
        self.high: list[float] = []
        self.suppressed: list[int] = []
        index: dict[Key, int] = {}
        for row in statuses.sort("rule_id", "stratum", "value", "count").iter_rows(named=True):
            key = (row["rule_id"], row["stratum"], row["value"], row["count"])
            index[key] = len(self.keys)
            self.keys.append(key)
            if row["status"] == PUBLISHED:
                self.known[index[key]] = row["n"]
                self.low.append(row["n"])
                self.high.append(row["n"])
            else:
                self.suppressed.append(index[key])
                primary = row["status"] == PRIMARY
                self.low.append(1 if primary else suppress_below)
                self.high.append(suppress_below - 1 if primary else math.inf)
        rows = sorted({key[:3] for key in self.keys})
        for row_key in rows:  # met: unknown, >= 0
            index[(*row_key, MET)] = len(self.keys)
            self.keys.append((*row_key, MET))
            self.low.append(0)
            self.high.append(math.inf)
        self.relations: list[list[tuple[int, int]]] = []
        for row_key in rows:
            d, x, ne, e, v, m = (index[(*row_key, c)] for c in (*COUNTS, MET))
            self.relations += [[(d, 1), (x, -1), (ne, -1), (e, -1)], [(e, 1), (v, -1), (m, -1)]]
        for rule_id, stratum in sorted({(r, s) for r, s, _ in rows if s != TOTAL_STRATUM}):
            values = [v for r, s, v in rows if r == rule_id and s == stratum]
            for count in (*COUNTS, MET):
                relation = [(index[(rule_id, stratum, v, count)], 1) for v in values]
                self.relations.append([*relation, (index[(rule_id, TOTAL_STRATUM, TOTAL_VALUE, count)], -1)])
        for link in links:
            for stratum, value in sorted(set(link.rows) or {(s, v) for _, s, v in rows}):
                relation = [
                    (index[(rule_id, stratum, value, link.count)], c)
                    for rule_id, c in link.terms.items() if (rule_id, stratum, value, link.count) in index
                ]
                if relation:
                    self.relations.append(relation)

    # 1. subtraction to a fixed point
    def propagate(self) -> dict[int, int]:
        known = dict(self.known)
        changed = True
        while changed:
            changed = False
            for relation in self.relations:
                unknown = [(cell, c) for cell, c in relation if cell not in known]
                if len(unknown) == 1:
                    cell, c = unknown[0]
                    known[cell] = -sum(known[o] * co for o, co in relation if o != cell) // c
                    changed = True
        return {cell: value for cell, value in known.items() if cell not in self.known}

    # 2. every linear combination of the relations
    def linear(self) -> set[int]:
        unknown = [cell for cell in range(len(self.keys)) if cell not in self.known]
        recovered: set[int] = set()
        for component in self.components(unknown):
            cols = {cell: i for i, cell in enumerate(component)}
            rows = [r for r in self.relations if any(cell in cols for cell, _ in r)]
            matrix = np.zeros((len(rows), len(component)))
            for i, relation in enumerate(rows):
                for cell, c in relation:
                    if cell in cols:
                        matrix[i, cols[cell]] += c
            _, singular, vt = np.linalg.svd(matrix)
            rank = int((singular > 1e-9).sum())
            null = vt[rank:]  # rows spanning the null space
            for cell, i in cols.items():
                if not null.size or np.abs(null[:, i]).max() < 1e-9:
                    recovered.add(cell)
        return recovered

    def components(self, cells: list[int]) -> list[list[int]]:
        parent = {cell: cell for cell in cells}

        def root(cell: int) -> int:
            while parent[cell] != cell:
                parent[cell] = parent[parent[cell]]
                cell = parent[cell]
            return cell

        for relation in self.relations:
            inside = [cell for cell, _ in relation if cell in parent]
            for other in inside[1:]:
                parent[root(other)] = root(inside[0])
        groups: dict[int, list[int]] = {}
        for cell in cells:
            groups.setdefault(root(cell), []).append(cell)
        return list(groups.values())

    # 3. bounds through every relation
    def bounds(self, low: list[float] | None = None, high: list[float] | None = None) -> tuple[list, list] | None:
        """Tightened (low, high) for every cell, or None when the bounds contradict the relations."""
        low = list(self.low if low is None else low)
        high = list(self.high if high is None else high)
        for _ in range(500):
            changed = False
            for relation in self.relations:
                for cell, c in relation:
                    # c * x_cell = -sum(others); others' range gives the range of x_cell
                    lo_sum = hi_sum = 0.0
                    for other, co in relation:
                        if other == cell:
                            continue
                        a, b = co * low[other], co * high[other]
                        lo_sum += min(a, b)
                        hi_sum += max(a, b)
                    lo, hi = sorted((-hi_sum / c, -lo_sum / c))
                    lo = math.ceil(lo) if math.isfinite(lo) else lo
                    hi = math.floor(hi) if math.isfinite(hi) else hi
                    if lo > low[cell]:
                        low[cell], changed = lo, True
                    if hi < high[cell]:
                        high[cell], changed = hi, True
                    if low[cell] > high[cell]:
                        return None
            if not changed:
                break
        return low, high

    def bounded(self) -> dict[int, int]:
        tightened = self.bounds()
        assert tightened is not None, "the published release contradicts its own relations"
        low, high = tightened
        return {cell: int(low[cell]) for cell in self.suppressed if low[cell] == high[cell]}

    # 4. a second table, by search
    def exhaustive(self, cap: int = 200, node_budget: int = 200_000) -> dict[int, int] | None:
        """Cells with one feasible value over all integer tables (values capped at a cell's lower
        bound + cap where nothing bounds it); None when the search ran out of budget."""
        self.nodes = 0
        self.budget = node_budget
        first = self.solve(*self.bounds())
        if first is None:
            raise AssertionError("the published release has no integer table at all")
        recovered = {}
        for cell in self.suppressed:
            value = first[cell]
            for lo, hi in ((-math.inf, value - 1), (value + 1, math.inf)):
                low, high = list(self.low), list(self.high)
                low[cell], high[cell] = max(low[cell], lo), min(high[cell], hi)
                tightened = self.bounds(low, high)
                if tightened is not None and self.solve(*tightened, cap=cap) is not None:
                    break
                if self.nodes > self.budget:
                    return None
            else:
                recovered[cell] = value
        return recovered

    def solve(self, low: list, high: list, cap: int = 200) -> list[int] | None:
        self.nodes += 1
        if self.nodes > self.budget:
            return None
        open_cells = [cell for cell in range(len(self.keys)) if low[cell] != high[cell]]
        if not open_cells:
            return [int(v) for v in low]
        cell = min(open_cells, key=lambda c: (high[c] - low[c], c))
        top = high[cell] if math.isfinite(high[cell]) else low[cell] + cap
        for value in range(int(low[cell]), int(top) + 1):
            trial_low, trial_high = list(low), list(high)
            trial_low[cell] = trial_high[cell] = value
            tightened = self.bounds(trial_low, trial_high)
            if tightened is not None:
                found = self.solve(*tightened, cap=cap)
                if found is not None:
                    return found
        return None

    def recovered(self, exhaustive: bool = False) -> dict[Key, str]:
        """Every suppressed cell some attack recovers, with the attack that did it."""
        found: dict[int, str] = {}
        for cell in self.propagate():
            found.setdefault(cell, "propagation")
        for cell in self.linear():
            found.setdefault(cell, "linear algebra")
        for cell in self.bounded():
            found.setdefault(cell, "bounds")
        if exhaustive:
            cells = self.exhaustive()
            assert cells is not None, "exhaustive search ran out of budget"
            for cell in cells:
                found.setdefault(cell, "exhaustive search")
        return {self.keys[cell]: how for cell, how in sorted(found.items()) if self.keys[cell][3] != MET}
