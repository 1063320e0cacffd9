"""The implementation-plan counts (規則 34-10) of participation support and community building.

``program_counts(session, fiscal_year, month=None)`` is what the grants and prefecture domains call. It runs in the
caller's transaction, so row-level security limits it to the bound tenant. The keys match
``core.grants.counts.COUNT_LABELS``:

The definitions are the table of docs/statistics.md; the first, third and fourth are SQL functions shared with the
prefecture's aggregates (``core.counts``).

- ``participation_participants`` (参加支援 参加者数): distinct people enrolled in a 参加支援 programme who attended at
  least one held (not cancelled) session in the period. A person is the linked case id when there is one, else
  the name and kana as entered, so one person in two programmes counts once.
- ``participation_cooperating_businesses`` (参加支援 協力事業者数): partners of kind 協力事業者 (business) working
  with 参加支援 whose cooperation period overlaps the period.
- ``community_hubs`` (地域づくり 拠点数): hubs where at least one 地域づくり session was held in the period.
- ``community_participants`` (地域づくり 参加者数, 延べ人数): attendance of enrolled people plus anonymous
  headcounts over the held 地域づくり sessions in the period.
- ``community_agencies`` (地域づくり 連携団体数): partners of kind 連携団体 or 協力事業者 working with 地域づくり
  whose cooperation period overlaps the period.

Volunteers are not counted (the plan does not ask for them). Periods are 年度, as the grant reports and the
実施計画 use: ``program_counts(session, 2025)`` is April 2025 – March 2026; with ``month=2`` it is February 2026.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import counts
from core.businesses import count_by_business
from core.programs.models import CommunityActivity, Partner, Program, ProgramSession

COUNT_KEYS = (
    "participation_participants",
    "participation_cooperating_businesses",
    "community_hubs",
    "community_participants",
    "community_agencies",
)


def period(fiscal_year: int, month: int | None = None) -> tuple[dt.date, dt.date]:
    """First and last day of the 年度, or of one month of it (January–March are in ``fiscal_year + 1``)."""
    if month is not None:
        return counts.month_period(fiscal_year, month)
    return counts.fiscal_year_period(fiscal_year)


async def program_counts(session: AsyncSession, fiscal_year: int, month: int | None = None) -> dict[str, int]:
    """The five counts for the bound tenant and the 年度 (or one month of it; see the module docstring)."""
    first, last = period(fiscal_year, month)
    return await counts_between(session, first, last)


async def counts_between(session: AsyncSession, first: dt.date, last: dt.date) -> dict[str, int]:
    """The five counts of the period. The three the prefecture also sees are defined once, in SQL (``core.counts``,
    migration 0015); the partner counts are the tenant's own figures only."""

    def partners(kinds: tuple[str, ...], pillar: str):
        return (
            select(func.count()).select_from(Partner)
            .where(Partner.kind.in_(kinds), Partner.pillar == pillar, Partner.since <= last,
                   or_(Partner.until.is_(None), Partner.until >= first))
        )

    return {
        "participation_participants": await counts.participation_participants(session, first, last),
        "participation_cooperating_businesses": int(await session.scalar(partners(("business",), "participation")) or 0),
        "community_hubs": await counts.community_hubs(session, first, last),
        "community_participants": await counts.community_participants(session, first, last),
        "community_agencies": int(await session.scalar(partners(("agency", "business"), "community")) or 0),
    }


async def programs_by_business(session: AsyncSession, fiscal_year: int) -> dict[str, int]:
    """Programmes that held at least one (not cancelled) session in the 年度, under each of their 事業."""
    start, end = period(fiscal_year)
    held = select(ProgramSession.program_id).where(ProgramSession.held_on >= start, ProgramSession.held_on <= end,
                                                   ProgramSession.status != "cancelled")
    return await count_by_business(session, Program, Program.id.in_(held))


async def activities_by_business(session: AsyncSession, fiscal_year: int) -> dict[str, int]:
    """Community activities going on in the 年度 (started by its end, or start unknown, and not ended)."""
    _start, end = period(fiscal_year)
    return await count_by_business(session, CommunityActivity, CommunityActivity.status == "active",
                                   or_(CommunityActivity.started_on.is_(None), CommunityActivity.started_on <= end))
