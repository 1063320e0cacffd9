"""Disclosure control: hidden cells cannot be recovered from anything published, and the checker proves it (and
catches the leak of primary suppression alone). Pure tables: no database."""

from __future__ import annotations

import datetime as dt
import math
import random

from core.prefecture.aggregates import METRICS, metric_table, months_of
from core.prefecture.disclosure import THRESHOLD, Grid, Relation, intervals, leaks, primary

FY = 2025
MONTHS = months_of(FY)
CODES = ["394017", "392049", "392014", "393011"]  # 中土佐町, 南国市, 高知市, 東洋町


def exact_rows(cells: dict[tuple[str, dt.date], int], year_totals: dict[str, int] | None = None
               ) -> list[tuple[str | None, dt.date | None, int]]:
    """What prefecture_counts returns before the database hides 1–4: the months, each municipality's 年度 (the sum
    unless ``year_totals`` gives a distinct count), each month's 県内計 and the grand total."""
    codes = sorted({c for c, _ in cells})
    totals = {code: sum(v for (c, _), v in cells.items() if c == code) for code in codes}
    totals.update(year_totals or {})
    rows = [(code, month, value) for (code, month), value in cells.items()]
    rows += [(code, None, total) for code, total in totals.items()]
    rows += [(None, month, sum(v for (_, m), v in cells.items() if m == month)) for month in {m for _, m in cells}]
    rows.append((None, None, sum(totals.values())))
    return rows


def as_the_database_sends(rows):
    """prefecture_suppress: the database hides every count from 1 to 4 before it leaves."""
    return [(code, month, None if value is not None and 0 < value < THRESHOLD else value)
            for code, month, value in rows]


def protected(cells, metric="consultations", codes=CODES, rows=None):
    rows = rows if rows is not None else exact_rows(cells)
    if METRICS[metric].protected:
        rows = as_the_database_sends(rows)
    return metric_table(METRICS[metric], FY, codes, rows)


def assert_safe(table):
    found = leaks(table.published, table.hidden, table.relations())
    assert found == [], f"recoverable: {found}"
    return table


def apr(n):
    return MONTHS[n]  # MONTHS[0] is April


def test_the_issue_example_primary_only_leaks_and_the_checker_says_so():
    # 中土佐町: April 4, November 27, 年度計 31; 南国市: November 2, December 40. 県内計 November 29.
    cells = {("394017", apr(0)): 4, ("394017", apr(7)): 27, ("392049", apr(7)): 2, ("392049", apr(8)): 40}
    table = protected(cells)
    exact = _as_grid_values(cells, table)
    primary_only = primary(Grid(exact, table.relations()))
    published = {key: (None if key in primary_only else value) for key, value in exact.items()}
    found = {leak.key: (leak.low, leak.high) for leak in leaks(published, primary_only, table.relations())}
    assert found[("394017", apr(0))] == (4, 4)  # April = 31 − 27
    assert found[("392049", apr(7))] == (2, 2)  # November = 29 − 27
    # With complementary suppression nothing is recoverable, and the small cells are hidden as 「秘匿」.
    assert_safe(table)
    assert table.cell("394017", apr(0)) is None and table.cell("392049", apr(7)) is None
    assert table.show(table.cell("394017", apr(0))) == "秘匿"


def _as_grid_values(cells, table):
    """The exact values behind ``table`` (the test knows them; a reader does not)."""
    values = {}
    for code in table.codes:
        for month in table.months:
            values[(code, month)] = cells.get((code, month), 0)
        values[(code, None)] = sum(cells.get((code, m), 0) for m in table.months)
    for month in table.months:
        values[(None, month)] = sum(cells.get((c, month), 0) for c in table.codes)
    values[(None, None)] = sum(values[(c, None)] for c in table.codes)
    return values


def test_one_small_cell_in_a_row():
    cells = {("392049", m): 20 + i for i, m in enumerate(MONTHS)}
    cells[("392049", apr(3))] = 1
    cells.update({("392014", m): 50 for m in MONTHS})
    table = assert_safe(protected(cells))
    assert table.cell("392049", apr(3)) is None
    assert len(table.hidden) >= 4  # a rectangle at least: the small cell cannot stand alone in its row or column


def test_two_small_cells_in_a_column():
    cells = {("392014", m): 60 for m in MONTHS}
    cells.update({("394017", apr(5)): 2, ("393011", apr(5)): 3, ("392049", apr(5)): 30, ("392049", apr(6)): 9})
    table = assert_safe(protected(cells))
    assert table.cell("394017", apr(5)) is None and table.cell("393011", apr(5)) is None


def test_a_municipality_with_all_months_small():
    cells = {("394017", m): 1 + i % 4 for i, m in enumerate(MONTHS)}
    cells.update({("392014", m): 40 + i for i, m in enumerate(MONTHS)})
    table = assert_safe(protected(cells))
    assert all(table.cell("394017", m) is None for m in MONTHS)


def test_a_lonely_small_count_in_the_whole_table():
    table = assert_safe(protected({("394017", apr(2)): 3}))
    assert table.cell("394017", apr(2)) is None and table.total is None


def test_distinct_people_rows_are_protected_with_the_weaker_relation():
    # A count of distinct people: the 年度計 (12) is less than the sum of the months.
    cells = {("394017", apr(0)): 3, ("394017", apr(1)): 9, ("394017", apr(2)): 6,
             ("392014", apr(0)): 30, ("392014", apr(1)): 31}
    table = protected(None, "participation", rows=exact_rows(cells, {"394017": 12, "392014": 50}))
    assert_safe(table)
    assert table.cell("394017", apr(0)) is None


def test_same_data_same_hidden_cells():
    cells = {("394017", apr(0)): 4, ("394017", apr(7)): 27, ("392049", apr(7)): 2, ("392049", apr(8)): 40,
             ("392014", apr(7)): 11, ("392014", apr(0)): 8}
    assert protected(cells).hidden == protected(dict(reversed(list(cells.items())))).hidden


def test_random_sparse_tables_never_leak():
    for seed in range(12):
        rng = random.Random(seed)
        cells = {(code, m): rng.choice((0, 0, 1, 2, 3, 4, 5, 7, 12, 40))
                 for code in CODES for m in MONTHS}
        assert_safe(protected(cells))


def test_hubs_and_spending_are_not_people_and_are_published_as_they_are():
    table = protected({("394017", apr(0)): 2}, "hubs")
    assert table.hidden == set() and table.cell("394017", apr(0)) == 2


def test_the_checker_computes_the_interval_from_the_totals():
    # a + b = 10 with b published as hidden too: a ∈ [1, 9]; a lone hidden cell is exact.
    relations = [Relation("t", ("a", "b"))]
    assert intervals({"t": 10}, {"a", "b"}, relations) == {"a": (1, 9), "b": (1, 9)}
    assert intervals({"t": 10, "b": 7}, {"a"}, relations) == {"a": (3, 3)}
    # nothing bounds a hidden total from above when its parts are hidden too
    low, high = intervals({}, {"t", "a"}, [Relation("t", ("a",))])["t"]
    assert low == 1 and math.isinf(high)
    assert [leak.key for leak in leaks({"t": 6}, {"a", "b"}, relations)] == ["a", "b"]  # [1, 5]: width 4 < 5
    assert THRESHOLD == 5


def test_a_bound_the_solver_does_not_prove_counts_as_a_leak(monkeypatch):
    from core.prefecture import disclosure

    def gives_up(*_args, **_kwargs):
        raise disclosure.SolverFailure("time limit reached")

    monkeypatch.setattr(disclosure, "_optimum", gives_up)
    assert [leak.key for leak in leaks({"t": 100}, {"a", "b"}, [Relation("t", ("a", "b"))])] == ["a", "b"]


def test_a_reported_figure_is_hidden_where_the_table_hides_the_same_year_total(monkeypatch):
    """A 実態調査 answer or a 実施計画 figure is a 年度計 the prefecture also sees in the table: where the table hides
    it (here complementary: 中土佐町's 年度計 of 28 hides to protect 東洋町's 3 in the 県内計), the reported figure is
    hidden too, or reading it beside the 県内計 would give 東洋町 back; a count of meetings is shown as reported."""
    import asyncio

    import core.prefecture.aggregates as aggregates

    cells = {("394017", apr(0)): 28, ("393011", apr(0)): 3, ("392014", apr(0)): 60, ("392014", apr(1)): 70}
    table = assert_safe(protected(cells))
    assert table.tenant_total("393011") is None and table.tenant_total("394017") is None

    async def tables(session, fiscal_year, codes, keys):
        return {"consultations": table}

    monkeypatch.setattr(aggregates, "monthly_aggregates", tables)
    reported = {"394017": 28, "392014": 130, "393011": 3, "393649": 7}  # 大川村 (no table row) answered by link
    shown = asyncio.run(aggregates.reported_figures(None, FY, "consultations_received", CODES, reported))
    assert shown == {"394017": None, "392014": 130, "393011": None, "393649": 7}
    meetings = asyncio.run(aggregates.reported_figures(None, FY, "support_meetings_held", CODES, {"393011": 2}))
    assert meetings == {"393011": 2}
