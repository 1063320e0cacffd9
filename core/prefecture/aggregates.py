"""Counts across municipalities for the prefecture (集計), from ``prefecture_monthly_aggregates`` only.

The prefecture never reads a municipality's rows: the SQL function (SECURITY DEFINER, refuses unless the
transaction is bound to 390003) returns sums per municipality and month, and suppresses every *count* from 1 to 4
before it leaves the database (``prefecture_suppress``: NULL). ``display_count`` is the one place that turns a
suppressed count into 「5未満」. Spending is an amount in yen, not a count of people, and is not suppressed.

Sources at migration 0009: spending (grant_expenditure) and caseload (grant_caseload_count). Consultations,
plans, participation and hubs show 0 until the cases and programs domains add their tables and a later migration
extends the function.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SUPPRESSED = "5未満"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "件", "人", "か所", "円"
    is_count: bool
    source: str | None  # where it comes from; None: no table yet (shown as 0)


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("consultations", "相談受付件数", "件", True, "support_case"),
    Metric("plans", "支援プラン作成件数", "件", True, "support_plan"),
    Metric("participation", "参加支援 参加者数", "人", True, "program_attendance"),
    Metric("hubs", "地域づくり 拠点数", "か所", True, "program_session"),
    Metric("caseload", "対応件数（交付金台帳）", "件", True, "grant_caseload_count"),
    Metric("spending", "交付金 支出額", "円", False, "grant_expenditure"),
)}


def display_count(value: int | None) -> str:
    """How every count is shown: NULL from the database (a suppressed 1–4) is 「5未満」."""
    if value is None:
        return SUPPRESSED
    return f"{value:,}"


def months_of(fiscal_year: int) -> list[dt.date]:
    return [dt.date(fiscal_year + (m < 4), m, 1) for m in (*range(4, 13), 1, 2, 3)]


@dataclass
class MetricTable:
    """One metric for one 年度: cells[(code, month)], per-municipality year totals, per-month totals, total.
    ``None`` is a suppressed count; a missing key is zero."""

    metric: Metric
    fiscal_year: int
    months: list[dt.date]
    cells: dict[tuple[str, dt.date], int | None] = field(default_factory=dict)
    by_tenant: dict[str, int | None] = field(default_factory=dict)
    by_month: dict[dt.date, int | None] = field(default_factory=dict)
    total: int | None = 0

    def cell(self, code: str, month: dt.date) -> int | None:
        return self.cells.get((code, month), 0)

    def tenant_total(self, code: str) -> int | None:
        return self.by_tenant.get(code, 0)

    def month_total(self, month: dt.date) -> int | None:
        return self.by_month.get(month, 0)

    def show(self, value: int | None) -> str:
        return display_count(value) if self.metric.is_count else f"{value or 0:,}"


async def monthly_aggregates(session: AsyncSession, fiscal_year: int) -> dict[str, MetricTable]:
    """Every metric for ``fiscal_year`` (the caller's transaction must be bound to the prefecture)."""
    tables = {key: MetricTable(metric, fiscal_year, months_of(fiscal_year)) for key, metric in METRICS.items()}
    rows = await session.execute(
        text("SELECT tenant_id, metric, month, value FROM prefecture_monthly_aggregates(:fy)"), {"fy": fiscal_year}
    )
    for tenant_id, metric, month, value in rows:
        table = tables.get(metric)
        if table is None:
            continue
        value = None if value is None else int(value)
        if tenant_id is not None and month is not None:
            table.cells[(tenant_id, month)] = value
        elif tenant_id is not None:
            table.by_tenant[tenant_id] = value
        elif month is not None:
            table.by_month[month] = value
        else:
            table.total = value
    return tables


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None
    text: str
    width: float  # 0–100 (% of the largest)


def bars(items: list[tuple[str, int | None]], show) -> list[Bar]:
    """Bars for an inline SVG chart; a suppressed count is drawn as an empty bar labelled 「5未満」."""
    largest = max((v for _, v in items if v), default=0)
    return [Bar(label, value, show(value), (100.0 * value / largest) if value and largest else 0.0)
            for label, value in items]
