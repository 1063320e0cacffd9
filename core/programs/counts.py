"""The implementation-plan counts (規則 34-10) of participation support and community building.

``program_counts(session, year, month=None)`` is what the grants and prefecture domains call. It runs in the
caller's transaction, so row-level security limits it to the bound tenant. The keys match
``core.grants.counts.COUNT_LABELS``:

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

Volunteers are not counted (the plan does not ask for them). ``year`` is a calendar year; with ``month`` one
month; with ``fiscal=True`` (and no month) the 年度 April ``year`` – March ``year + 1``, as the grant reports use.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, and_, cast, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.businesses import count_by_business
from core.programs.models import Attendance, CommunityActivity, Enrolment, Partner, Program, ProgramSession

COUNT_KEYS = (
    "participation_participants",
    "participation_cooperating_businesses",
    "community_hubs",
    "community_participants",
    "community_agencies",
)


def period(year: int, month: int | None = None, *, fiscal: bool = False) -> tuple[dt.date, dt.date]:
    """First and last day of the period."""
    if month is not None:
        if not 1 <= month <= 12:
            raise ValueError("month must be 1..12")
        first = dt.date(year, month, 1)
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    if fiscal:
        return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


async def program_counts(session: AsyncSession, year: int, month: int | None = None, *,
                         fiscal: bool = False) -> dict[str, int]:
    """The five counts for the bound tenant and the period (see the module docstring)."""
    first, last = period(year, month, fiscal=fiscal)
    return await counts_between(session, first, last)


async def counts_between(session: AsyncSession, first: dt.date, last: dt.date) -> dict[str, int]:
    held = and_(ProgramSession.status == "scheduled", ProgramSession.held_on.between(first, last))
    person = func.coalesce(cast(Enrolment.case_id, String),
                           Enrolment.person_name + literal("|") + Enrolment.person_kana)

    participation_people = await session.scalar(
        select(func.count(distinct(person)))
        .select_from(Attendance)
        .join(ProgramSession, and_(ProgramSession.tenant_id == Attendance.tenant_id,
                                   ProgramSession.id == Attendance.session_id))
        .join(Program, and_(Program.tenant_id == ProgramSession.tenant_id, Program.id == ProgramSession.program_id))
        .join(Enrolment, and_(Enrolment.tenant_id == Attendance.tenant_id, Enrolment.id == Attendance.enrolment_id))
        .where(held, Program.kind == "participation")
    )

    community_sessions = (
        select(ProgramSession.id, ProgramSession.anonymous_headcount, Program.hub_id)
        .join(Program, and_(Program.tenant_id == ProgramSession.tenant_id, Program.id == ProgramSession.program_id))
        .where(held, Program.kind == "community")
        .subquery()
    )
    hubs = await session.scalar(select(func.count(distinct(community_sessions.c.hub_id))))
    anonymous = await session.scalar(select(func.coalesce(func.sum(community_sessions.c.anonymous_headcount), 0)))
    named = await session.scalar(
        select(func.count()).select_from(Attendance)
        .where(Attendance.session_id.in_(select(community_sessions.c.id)))
    )

    def partners(kinds: tuple[str, ...], pillar: str):
        return (
            select(func.count()).select_from(Partner)
            .where(Partner.kind.in_(kinds), Partner.pillar == pillar, Partner.since <= last,
                   or_(Partner.until.is_(None), Partner.until >= first))
        )

    return {
        "participation_participants": int(participation_people or 0),
        "participation_cooperating_businesses": int(await session.scalar(partners(("business",), "participation")) or 0),
        "community_hubs": int(hubs or 0),
        "community_participants": int(anonymous or 0) + int(named or 0),
        "community_agencies": int(await session.scalar(partners(("agency", "business"), "community")) or 0),
    }


async def programs_by_business(session: AsyncSession, fiscal_year: int) -> dict[str, int]:
    """Programmes that held at least one (not cancelled) session in the 年度, under each of their 事業."""
    start, end = period(fiscal_year, fiscal=True)
    held = select(ProgramSession.program_id).where(ProgramSession.held_on >= start, ProgramSession.held_on <= end,
                                                   ProgramSession.status != "cancelled")
    return await count_by_business(session, Program, Program.id.in_(held))


async def activities_by_business(session: AsyncSession, fiscal_year: int) -> dict[str, int]:
    """Community activities going on in the 年度 (started by its end, or start unknown, and not ended)."""
    _start, end = period(fiscal_year, fiscal=True)
    return await count_by_business(session, CommunityActivity, CommunityActivity.status == "active",
                                   or_(CommunityActivity.started_on.is_(None), CommunityActivity.started_on <= end))
