"""Disclosure control for every count table the prefecture sees (pages, CSV, charts, API): the one place.

A published table is a set of cells (a municipality's month, its 年度計, a month's 県内計, the grand total) and
the linear relations between them. Hiding only the counts 1–4 (primary suppression) is not enough: a total printed
beside them gives a hidden cell back by subtraction. So:

1. **Primary suppression**: every count from 1 to ``THRESHOLD - 1`` is hidden — by the database already
   (``prefecture_counts`` returns NULL), so their values never reach the application.
2. **Complementary suppression**: for each relation with exactly one hidden cell, the smallest non-zero published
   cell of that relation is hidden too (smallest value, ties broken by position: deterministic). Then the
   **checker** below runs; for each hidden cell it still finds too narrow, the smallest non-zero published cell of
   the relations around that cell is hidden, and the checker runs again, until no hidden cell can be narrowed.
   Zeros are never hidden (a published 0 is a true 0), so the checker may assume every hidden cell is at least 1.
3. Every hidden cell, primary or complementary, is shown the same way (``SUPPRESSED``): a reader cannot tell which
   kind it is, so it must not say 「5未満」.

**The checker** (``intervals`` / ``leaks``) takes what a reader sees — the published values, which cells are
hidden, and the relations — and for each hidden cell solves two small integer programmes (its minimum and its
maximum subject to the relations, every hidden cell an integer ≥ 1). A hidden cell whose interval is narrower than
``THRESHOLD`` (max − min < 5) is a leak. Relations are either sums (a total is the sum of its parts) or, for a count
of distinct people, the weaker pair of facts a distinct count gives (each part ≤ total ≤ the sum of the parts).

See docs/statistics.md for the method and the table of count definitions.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

THRESHOLD = 5  # counts 1..4 identify people in a small municipality: hidden
SUPPRESSED = "秘匿"  # the one label of every hidden cell, primary or complementary

Key = Hashable
# A finite cap instead of infinity: HiGHS may answer "unbounded or infeasible" for an unbounded programme; a maximum
# at the cap means nothing published bounds the cell from above. Larger than any count in a prefecture of 700,000.
UNBOUNDED = 10**9


@dataclass(frozen=True)
class Relation:
    """``total`` relates to ``parts``: equal to their sum (``additive``), or for a distinct count each part ≤ total
    ≤ the sum of the parts."""

    total: Key
    parts: tuple[Key, ...]
    additive: bool = True

    def keys(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


@dataclass
class Grid:
    """The values of a table and its relations; ``None`` is a count the database already hid (1–4, primary
    suppression done in SQL: its value never reaches the application). ``order`` fixes the tie-break between equal
    values, so the same data always hides the same cells."""

    values: dict[Key, int | None]
    relations: list[Relation]
    order: dict[Key, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.order:
            self.order = {key: position for position, key in enumerate(self.values)}

    def rank(self, key: Key) -> tuple[int, int]:
        return self.values.get(key) or 0, self.order.get(key, len(self.order))

    def at_least(self, key: Key) -> int:
        """What the protector may assume of a cell: its value, or 1 for a count hidden by the database."""
        value = self.values.get(key, 0)
        return 1 if value is None else value

    def at_most(self, key: Key) -> int:
        value = self.values.get(key, 0)
        return THRESHOLD - 1 if value is None else value


@dataclass(frozen=True)
class Leak:
    key: Key
    low: int
    high: float  # math.inf when nothing bounds it from above


def primary(grid: Grid) -> set[Key]:
    """Counts from 1 to 4: hidden already by the database (``None``), or here when a caller passes exact values."""
    return {key for key, value in grid.values.items() if value is None or 0 < value < THRESHOLD}


def protect(grid: Grid) -> set[Key]:
    """The cells to hide: primary, then complementary until the checker finds no leak."""
    hidden = primary(grid)
    if not hidden:
        return hidden
    _no_lone_hidden_cell(grid, hidden)
    # Hiding one more (non-zero) cell only widens the other hidden cells' intervals — every earlier solution stays
    # a solution — so a cell found safe stays safe, and each round re-checks only the cells not yet shown safe.
    unproven = set(hidden)
    while True:
        found = _narrow(grid, hidden, unproven)
        if not found:
            return hidden
        before = set(hidden)
        for leak in found:
            candidate = _complement_for(grid, hidden, leak.key)
            if candidate is not None:
                hidden.add(candidate)
        if hidden == before:  # cannot happen while a non-zero published cell is related; refuse to publish a leak
            raise RuntimeError("disclosure control could not protect the table")
        _no_lone_hidden_cell(grid, hidden)
        unproven = {leak.key for leak in found} | (hidden - before)


def _narrow(grid: Grid, hidden: set[Key], unproven: set[Key]) -> list[Leak]:
    """The checker's verdict on ``unproven`` cells, sped up by what only the protector knows: the true value lies
    in the interval, so a maximum at least ``THRESHOLD`` above it (above 4 for a count the database hid) proves
    the width without the minimum."""
    programme = _Programme(grid.values, hidden, grid.relations)
    swings = _rectangle_swings(grid, hidden)
    found = []
    for key in programme.hidden:
        if key not in unproven or swings.get(key, 0) >= THRESHOLD:
            continue
        high = programme.high(key)
        if high - grid.at_most(key) >= THRESHOLD:
            continue
        low = programme.low(key)
        if high - low < THRESHOLD:
            found.append(Leak(key, low, high))
    return found


def _rectangle_swings(grid: Grid, hidden: set[Key]) -> dict[Key, int]:
    """A cheap proof of width for a hidden cell that is a part of exactly two sums (a municipality's month): four
    hidden cells x, y (x's first sum), z (x's second sum) and w (y's and z's other sums) can move by +k on x and w
    and −k on y and z without changing any published figure, as long as every cell stays ≥ 1. So x can rise by
    min(y, z) − 1 and fall by min(x, w) − 1; the best of each, added, is a width the interval has at least."""
    sums_of: dict[Key, list[int]] = {}
    for index, relation in enumerate(grid.relations):
        if relation.additive:
            for part in relation.parts:
                if part in hidden:
                    sums_of.setdefault(part, []).append(index)
    two_sums = {key: tuple(found) for key, found in sums_of.items()
                if len(found) == 2 and all(grid.relations[i].additive for i in found)
                and sum(1 for r in grid.relations if key in r.keys()) == 2}
    by_sum: dict[int, list[Key]] = {}
    for key, (first, second) in two_sums.items():
        by_sum.setdefault(first, []).append(key)
        by_sum.setdefault(second, []).append(key)
    corner: dict[tuple[int, int], Key] = {}
    for key, pair in two_sums.items():
        corner[pair] = key
    swings: dict[Key, int] = {}
    value = grid.at_least
    for x, (first, second) in two_sums.items():
        rise = fall = 0
        for y in by_sum[first]:
            if y == x:
                continue
            y_other = two_sums[y][1] if two_sums[y][0] == first else two_sums[y][0]
            for z in by_sum[second]:
                if z == x:
                    continue
                z_other = two_sums[z][0] if two_sums[z][1] == second else two_sums[z][1]
                w = corner.get((y_other, z_other)) or corner.get((z_other, y_other))
                if w is None or w in (x, y, z):
                    continue
                rise = max(rise, min(value(y), value(z)) - 1)
                fall = max(fall, min(value(x), value(w)) - 1)
        swings[x] = rise + fall
    return swings


def _published_nonzero(grid: Grid, hidden: set[Key], keys: Iterable[Key]) -> list[Key]:
    return [k for k in keys if k not in hidden and (grid.values.get(k) or 0) > 0]


def _no_lone_hidden_cell(grid: Grid, hidden: set[Key]) -> None:
    """The classic first step: no relation may keep exactly one hidden cell (it would be the difference)."""
    changed = True
    while changed:
        changed = False
        for relation in grid.relations:
            keys = relation.keys()
            if sum(1 for k in keys if k in hidden) == 1:
                choices = _published_nonzero(grid, hidden, keys)
                if choices:
                    hidden.add(min(choices, key=grid.rank))
                    changed = True


def _complement_for(grid: Grid, hidden: set[Key], key: Key) -> Key | None:
    """The smallest non-zero published cell of a relation around ``key``, looking one relation further out each
    time the nearer ones have none."""
    reached, frontier = {key}, {key}
    while frontier:
        around = [r for r in grid.relations if any(k in frontier for k in r.keys())]
        choices = _published_nonzero(grid, hidden, (k for r in around for k in r.keys()))
        if choices:
            return min(choices, key=grid.rank)
        frontier = {k for r in around for k in r.keys() if k in hidden} - reached
        reached |= frontier
    return None


# -- the checker ----------------------------------------------------------------------------------------------
class _Programme:
    """The linear constraints a reader has over the hidden cells, to ask for one cell's least or greatest value."""

    def __init__(self, published: dict[Key, int | None], hidden: Iterable[Key], relations: list[Relation]):
        self.hidden = sorted(set(hidden), key=repr)
        self.column = {key: position for position, key in enumerate(self.hidden)}
        size = len(self.hidden)
        rows: list[np.ndarray] = []
        self.lows: list[float] = []
        self.highs: list[float] = []

        def add(terms: dict[Key, float], low: float, high: float) -> None:
            row, constant = np.zeros(size), 0.0
            for key, coefficient in terms.items():
                if key in self.column:
                    row[self.column[key]] += coefficient
                else:  # a published cell: a constant
                    constant += coefficient * (published.get(key) or 0)
            if row.any():
                rows.append(row)
                self.lows.append(low - constant)
                self.highs.append(high - constant)

        touched = [r for r in relations if any(k in self.column for k in r.keys())]
        for relation in touched:
            total_minus_parts: dict[Key, float] = {relation.total: 1.0}
            for part in relation.parts:
                total_minus_parts[part] = total_minus_parts.get(part, 0.0) - 1.0
            if relation.additive:
                add(total_minus_parts, 0.0, 0.0)
            else:
                add(total_minus_parts, -np.inf, 0.0)  # total ≤ sum of parts
                for part in relation.parts:  # each part ≤ total
                    add({relation.total: 1.0, part: -1.0}, 0.0, np.inf)
        # A table whose relations are all sums is a two-way table with its margins: its constraint matrix is
        # totally unimodular, so the linear programme's bounds are already integers and exact (and 40 times
        # faster to get). A distinct count's inequalities break that, so such a table gets the integer programme.
        self.exact_integers = any(not r.additive for r in touched)
        self.matrix = np.array(rows) if rows else np.zeros((0, size))

    def _objective(self, key: Key, sign: float) -> np.ndarray:
        objective = np.zeros(len(self.hidden))
        objective[self.column[key]] = sign
        return objective

    def low(self, key: Key) -> int:
        found = _optimum(self._objective(key, 1.0), self.matrix, self.lows, self.highs, self.exact_integers)
        if found is None:  # infeasible: the published table contradicts itself, which is a bug upstream
            raise ValueError(f"the published table is inconsistent around {key!r}")
        return math.ceil(found - 1e-6)

    def high(self, key: Key) -> float:
        found = _optimum(self._objective(key, -1.0), self.matrix, self.lows, self.highs, self.exact_integers)
        return math.inf if found is None or -found >= UNBOUNDED else math.floor(-found + 1e-6)


def intervals(published: dict[Key, int | None], hidden: Iterable[Key], relations: list[Relation],
              only: set[Key] | None = None) -> dict[Key, tuple[int, float]]:
    """For each hidden cell, the least and greatest value it can take given everything published.

    ``published`` needs the values of the published cells only (a hidden cell's value is ignored). Hidden cells are
    integers ≥ 1 (zeros are never hidden). Only relations with a hidden cell constrain anything. With ``only``:
    the intervals of those hidden cells alone.
    """
    programme = _Programme(published, hidden, relations)
    return {key: (programme.low(key), programme.high(key))
            for key in programme.hidden if only is None or key in only}


def _optimum(objective, matrix, lows, highs, exact_integers: bool) -> float | None:
    """The minimum of ``objective`` over hidden cells in [1, UNBOUNDED]; None when infeasible."""
    size = len(objective)
    if exact_integers:
        constraints = [LinearConstraint(matrix, lows, highs)] if len(matrix) else []
        answer = milp(objective, constraints=constraints, integrality=np.ones(size),
                      bounds=Bounds(np.ones(size), np.full(size, UNBOUNDED)))
    else:
        lows, highs = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
        equal = lows == highs
        upper_rows = [matrix[~equal & np.isfinite(highs)], -matrix[~equal & np.isfinite(lows)]]
        upper_bounds = [highs[~equal & np.isfinite(highs)], -lows[~equal & np.isfinite(lows)]]
        answer = linprog(objective, A_ub=np.vstack(upper_rows) if len(matrix) else None,
                         b_ub=np.concatenate(upper_bounds) if len(matrix) else None,
                         A_eq=matrix[equal] if equal.any() else None, b_eq=lows[equal] if equal.any() else None,
                         bounds=[(1, UNBOUNDED)] * size, method="highs")
    if answer.status == 2:
        return None
    return answer.fun if answer.status == 0 else -UNBOUNDED * 2


def leaks(published: dict[Key, int | None], hidden: Iterable[Key], relations: list[Relation],
          threshold: int = THRESHOLD, only: set[Key] | None = None) -> list[Leak]:
    """Hidden cells a reader can narrow to an interval narrower than ``threshold`` (the checker's verdict)."""
    return [Leak(key, low, high) for key, (low, high) in intervals(published, hidden, relations, only).items()
            if high - low < threshold]
