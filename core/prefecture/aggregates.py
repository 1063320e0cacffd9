"""Counts across municipalities for the prefecture (集計): one table per metric and 年度, already protected.

The prefecture never reads a municipality's rows: ``prefecture_counts`` (SQL, SECURITY DEFINER, refuses unless the
transaction is bound to 390003) returns the counts per municipality and month, per municipality for the 年度, per
month and in total, computed by the same SQL count functions the municipality's own reports use (``core.counts``,
migration 0015) and kept per 年度 in ``count_summary`` (recounted at each write's commit, migration 0019y, so the
read does not grow with the data), with every count of people from 1 to 4 already NULL (small counts never leave
the database).
``metric_table`` adds the complementary suppression (``core.prefecture.disclosure``, checked): the values of cells
it hides never leave this module, and every page, CSV, chart and API answer about these counts is made from a
``MetricTable``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.prefecture.disclosure import SUPPRESSED, THRESHOLD, Grid, Key, Relation, protect


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "件", "人", "か所", "円"
    protected: bool  # a count of people or of their cases: disclosure control applies
    additive: bool  # the 年度 is the sum of its months (not so for a count of distinct people or hubs)
    definition: str  # the public count function of core.counts (see docs/statistics.md)


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("consultations", "相談受付件数", "件", True, True, "consultations_received"),
    Metric("plans", "支援プラン作成件数", "件", True, True, "support_plans"),
    Metric("participation", "参加支援 参加者数（実人数）", "人", True, False, "participation_participants"),
    Metric("community_participants", "地域づくり 参加者数（延べ人数）", "人", True, True, "community_participants"),
    # A hub is a place, not a person: its count is published as it is.
    Metric("hubs", "地域づくり 拠点数", "か所", False, False, "community_hubs"),
    Metric("caseload", "対応件数（交付金台帳）", "件", True, True, "grant_caseload"),
    Metric("spending", "交付金 支出額", "円", False, True, "grant_spending"),
)}


def display_count(value: int | None) -> str:
    """How every figure of these tables is shown: a hidden cell (``None``) is 「秘匿」, whatever its kind."""
    if value is None:
        return SUPPRESSED
    return f"{value:,}"


def months_of(fiscal_year: int) -> list[dt.date]:
    return [dt.date(fiscal_year + (m < 4), m, 1) for m in (*range(4, 13), 1, 2, 3)]


@dataclass
class MetricTable:
    """One metric for one 年度 as published: ``None`` is a hidden cell, a missing key is zero.

    Keys: ``(code, month)`` a municipality's month, ``(code, None)`` its 年度計, ``(None, month)`` the month's
    県内計, ``(None, None)`` the grand total.
    """

    metric: Metric
    fiscal_year: int
    months: list[dt.date]
    codes: list[str]
    published: dict[Key, int | None] = field(default_factory=dict)

    def cell(self, code: str, month: dt.date) -> int | None:
        return self.published.get((code, month), 0)

    def tenant_total(self, code: str) -> int | None:
        return self.published.get((code, None), 0)

    def month_total(self, month: dt.date) -> int | None:
        return self.published.get((None, month), 0)

    @property
    def total(self) -> int | None:
        return self.published.get((None, None), 0)

    @property
    def hidden(self) -> set[Key]:
        return {key for key, value in self.published.items() if value is None}

    def show(self, value: int | None) -> str:
        return display_count(value)

    def relations(self) -> list[Relation]:
        return table_relations(self.metric, self.codes, self.months)


def table_relations(metric: Metric, codes: list[str], months: list[dt.date]) -> list[Relation]:
    """What a reader knows links the cells: each 年度計 to its months, each 県内計 to the municipalities, and the
    grand total to both."""
    relations = [Relation((code, None), tuple((code, m) for m in months), metric.additive) for code in codes]
    relations += [Relation((None, m), tuple((code, m) for code in codes)) for m in months]
    relations.append(Relation((None, None), tuple((code, None) for code in codes)))
    relations.append(Relation((None, None), tuple((None, m) for m in months), metric.additive))
    return relations


def metric_table(metric: Metric, fiscal_year: int, codes: list[str],
                 rows: list[tuple[str | None, dt.date | None, int | None]]) -> MetricTable:
    """The published table from ``prefecture_counts`` rows (tenant or None for all, month or None for the 年度,
    value or None where the database already hid a count from 1 to 4)."""
    months = months_of(fiscal_year)
    values: dict[Key, int | None] = {(code, month): 0 for code in [*codes, None] for month in [*months, None]}
    for code, month, value in rows:
        if (code is None or code in codes) and (month is None or month in months):
            values[(code, month)] = None if value is None else int(value)
    hidden = _protect(metric, tuple(codes), tuple(months), tuple(values.items())) if metric.protected else set()
    published = {key: (None if key in hidden else value) for key, value in values.items()}
    return MetricTable(metric, fiscal_year, months, list(codes), published)


@functools.lru_cache(maxsize=256)
def _protect(metric: Metric, codes: tuple[str, ...], months: tuple[dt.date, ...], values: tuple) -> frozenset[Key]:
    """Protection is deterministic in the exact values, and a past 年度 no longer changes: computed once per data."""
    return frozenset(protect(Grid(dict(values), table_relations(metric, list(codes), list(months)))))


async def exact_counts(session: AsyncSession, fiscal_year: int,
                       metric_keys: list[str] | None = None) -> dict[str, list[tuple[str, dt.date | None, int]]]:
    """The counts of ``metric_keys`` (default: every metric), small ones already hidden (the caller's transaction
    must be bound to the prefecture). Only this module calls it, and only to build protected tables."""
    rows: dict[str, list] = defaultdict(list)
    for metric, tenant_id, month, value in await session.execute(
        # the metrics go in as an argument: a filter outside the function would run after it built them all (0025)
        text("SELECT metric, tenant_id, month, value FROM prefecture_counts(:fy, :metrics)"),
        {"fy": fiscal_year, "metrics": metric_keys or list(METRICS)},
    ):
        rows[metric].append((tenant_id, month, value))
    return rows


async def monthly_aggregates(session: AsyncSession, fiscal_year: int, codes: list[str],
                             metric_keys: list[str] | None = None) -> dict[str, MetricTable]:
    """Protected tables of ``metric_keys`` (default: every metric) for ``fiscal_year`` over the municipalities
    ``codes`` (every municipality the prefecture lists, tenant or not, so a row of zeros is shown as zeros)."""
    keys = metric_keys or list(METRICS)
    counts = await exact_counts(session, fiscal_year, keys)
    return {key: metric_table(METRICS[key], fiscal_year, codes, counts.get(key, [])) for key in keys}


# -- the same counts reported outside these tables ---------------------------------------------------------------
# A municipality also gives the prefecture a count by its definition in a 実態調査 answer or a 実施計画 figure. Those
# are the same figures as a 年度計 of the tables above: shown as reported, they would hand back what a table hides
# (issue 17: "the same figures on other pages"), and show a count of 1–4 people besides.

PROTECTED_DEFINITIONS: frozenset[str] = frozenset(m.definition for m in METRICS.values() if m.protected)


async def reported_figures(session: AsyncSession, fiscal_year: int, definition: str | None, codes: list[str],
                           reported: dict[str, float]) -> dict[str, float | None]:
    """What the prefecture may see of the figures municipalities reported for ``fiscal_year`` (code → value)
    under ``definition`` (a count function of ``core.counts``; ``None``: another count of people or their cases
    that no table here publishes). Figures of an unprotected definition (meetings, hubs, spending) come back as
    reported. A count of people is hidden (``None``) where it is from 1 to 4, and, for a definition a table here
    publishes, wherever that table (over ``codes``, the municipalities the console lists) hides the same
    municipality's 年度計. Show no total, mean, minimum or maximum of the answer once a figure is hidden: each is a
    relation that would give it back (``core.prefecture.service.summarise``)."""
    if definition is not None and definition not in PROTECTED_DEFINITIONS:
        return dict(reported)
    hidden_there: set[str] = set()
    metric = next((m for m in METRICS.values() if m.definition == definition), None)
    if metric is not None:
        table = (await monthly_aggregates(session, fiscal_year, codes, [metric.key]))[metric.key]
        hidden_there = {code for code in reported if (code, None) in table.hidden}
    return {code: None if code in hidden_there or 0 < value < THRESHOLD else value
            for code, value in reported.items()}


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None
    text: str
    width: float  # 0–100 (% of the largest)


def bars(items: list[tuple[str, int | None]], show) -> list[Bar]:
    """Bars for an inline SVG chart; a hidden value is drawn as an outlined box labelled 「秘匿」, never as a
    length (a length would give the value back)."""
    largest = max((v for _, v in items if v), default=0)
    return [Bar(label, value, show(value), (100.0 * value / largest) if value and largest else 0.0)
            for label, value in items]
