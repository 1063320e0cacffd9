"""One definition per count (docs/statistics.md has the table): what the grant reports, the 実施計画 figures and
the prefecture's aggregates all count.

Each count that the prefecture also sees is a SQL function of migration 0015 (``count_*(first, last)``, SECURITY
INVOKER). The functions here call them in the caller's transaction, so row-level security limits them to the bound
tenant; ``prefecture_counts`` calls the very same SQL functions for all municipalities. The two partner counts
are only ever the tenant's own figure and stay in ``core.programs.counts``.

Every count is of a period ``first``–``last`` (inclusive); ``fiscal_year_period(2025)`` is 令和7年度, April 2025 –
March 2026. The public names below are stable: other domains call them.

A 年度 or one month of it is read from ``count_summary`` (migration 0019y: what the same SQL function returned for
that 年度, recounted at the commit of every write that touches it), so a report costs the same however much data
the municipality holds. Any other period, or a count the caller's own transaction has just touched (its mark in
``count_summary_stale`` is still there, the recount comes at commit), is counted live by the function.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

# public name → the SQL function (migration 0015) that defines it
SQL_COUNTS = {
    "consultations_received": "count_consultations_received",
    "support_plans": "count_support_plans",
    "participation_participants": "count_participation_participants",
    "community_hubs": "count_community_hubs",
    "community_participants": "count_community_participants",
    "grant_caseload": "count_grant_caseload",
}
# public name → its metric in count_summary (the prefecture's metric keys, migration 0019y)
SUMMARY_METRICS = {
    "consultations_received": "consultations",
    "support_plans": "plans",
    "participation_participants": "participation",
    "community_hubs": "hubs",
    "community_participants": "community_participants",
    "grant_caseload": "caseload",
}


def fiscal_year_period(fiscal_year: int) -> tuple[dt.date, dt.date]:
    """The 年度 that starts in April of ``fiscal_year``: its first and last day."""
    return dt.date(fiscal_year, 4, 1), dt.date(fiscal_year + 1, 3, 31)


def month_period(fiscal_year: int, month: int) -> tuple[dt.date, dt.date]:
    """One month of a 年度 (January–March are in the following calendar year)."""
    if not 1 <= month <= 12:
        raise ValueError("month must be 1..12")
    first = dt.date(fiscal_year + (month < 4), month, 1)
    following = dt.date(first.year + (month == 12), month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def summary_period(first: dt.date, last: dt.date) -> tuple[int, int] | None:
    """(年度, month) of ``count_summary`` that is exactly this period (month 0: the whole 年度), or None."""
    fiscal_year = first.year - (first.month < 4)
    if (first, last) == fiscal_year_period(fiscal_year):
        return fiscal_year, 0
    if first.day == 1 and (first, last) == month_period(fiscal_year, first.month):
        return fiscal_year, first.month
    return None


def _count(name: str, meaning: str):
    """The public function of one count: ``await name(session, first, last) -> int`` for the bound tenant."""
    live = f"SELECT sum(value) FROM {SQL_COUNTS[name]}(:first, :last) WHERE month IS NULL"
    # One round trip: the summary's row, unless this transaction has marked the count (then the function; the
    # branch not taken is not run, each is an uncorrelated subquery evaluated on demand).
    summarised = text(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM count_summary_stale WHERE metric = :metric AND fiscal_year = :fy) "
        f"THEN ({live}) ELSE (SELECT coalesce(sum(value), 0) FROM count_summary "
        "WHERE metric = :metric AND fiscal_year = :fy AND month = :month) END")

    async def count(session: AsyncSession, first: dt.date, last: dt.date) -> int:
        period = summary_period(first, last)
        if period is None:
            value = await session.scalar(text(live), {"first": first, "last": last})
        else:
            value = await session.scalar(summarised, {"first": first, "last": last, "metric": SUMMARY_METRICS[name],
                                                      "fy": period[0], "month": period[1]})
        return int(value or 0)

    count.__name__ = count.__qualname__ = name
    count.__doc__ = meaning
    return count


consultations_received = _count("consultations_received", "相談受付件数: cases received (受付日) in the period.")
support_plans = _count("support_plans", "支援プラン作成件数: support plans created in the period (Japan time).")
participation_participants = _count(
    "participation_participants", "参加支援 参加者数: distinct people who attended a held 参加支援 session in the period.")
community_hubs = _count("community_hubs", "地域づくり 拠点数: distinct hubs where a 地域づくり session was held in the period.")
community_participants = _count(
    "community_participants",
    "地域づくり 参加者数 (延べ人数): attendances plus anonymous headcounts of held 地域づくり sessions in the period.")
grant_caseload = _count("grant_caseload", "対応件数: the grant caseload ledger's counts of the months in the period.")


def _meetings_held(kind: str, meaning: str):
    """Meetings of ``kind`` held in the period (start date in Japan time): the tenant's own figure only."""

    async def held(session: AsyncSession, first: dt.date, last: dt.date) -> int:
        from core.meetings.models import Meeting

        day = func.date(func.timezone("Asia/Tokyo", Meeting.starts_at))
        return int(await session.scalar(
            select(func.count()).select_from(Meeting).where(Meeting.kind == kind, day.between(first, last))) or 0)

    held.__doc__ = meaning
    return held


support_meetings_held = _meetings_held("support_meeting", "支援会議 開催回数: 支援会議 that started in the period.")
multilayer_meetings_held = _meetings_held("multilayer_meeting",
                                          "重層的支援会議 開催回数: 重層的支援会議 that started in the period.")
