"""The implementation-plan counts (規則 34-10) that grant reports print: the one seam to the other domains.

``implementation_counts`` is the only place the grant domain asks about cases and programmes: it calls each
domain's own count function for the same fiscal year (April–March). Callers must not query other domains'
tables themselves.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

# Key → the words a report prints, in report order.
COUNT_LABELS: dict[str, str] = {
    "consultations_received": "相談受付件数",
    "participation_participants": "参加支援事業 参加者数",
    "participation_cooperating_businesses": "参加支援事業 協力事業者数",
    "community_hubs": "地域づくり事業 拠点数",
    "community_participants": "地域づくり事業 参加者数",
    "community_agencies": "地域づくり事業 連携団体数",
}


async def implementation_counts(session: AsyncSession, fiscal_year: int) -> dict[str, int]:
    """Counts for ``fiscal_year`` (the Western year the 年度 starts in) of the caller's tenant.

    相談受付件数 comes from the cases domain (intakes received in the 年度), the 参加支援 and 地域づくり counts
    from the programmes domain (attendance, partners and hubs of the 年度). Runs in the caller's transaction, so
    row-level security scopes every count to the tenant.
    """
    from core.cases.search import consultations_received
    from core.programs.counts import program_counts

    counts = {key: 0 for key in COUNT_LABELS}
    counts["consultations_received"] = await consultations_received(session, fiscal_year)
    for key, value in (await program_counts(session, fiscal_year)).items():
        if key in counts:
            counts[key] = int(value)
    return counts


# Record kind → the words a table prints, for the counts per 事業.
BUSINESS_COUNT_LABELS: dict[str, str] = {
    "cases": "相談ケース（受付）",
    "meetings": "会議（開催）",
    "programmes": "事業・プログラム（開催あり）",
    "activities": "地域の活動（継続中）",
}


async def business_counts(session: AsyncSession, fiscal_year: int) -> dict[str, dict[str, int]]:
    """Records of the 年度 under each of the five 事業: record kind → 事業 code → count.

    Each domain counts its own records (``cases_by_business``, ``meetings_by_business``, ``programs_by_business``,
    ``activities_by_business``); a record naming two 事業 counts under both, so columns do not add up to a total.
    """
    from core.cases.search import cases_by_business
    from core.meetings.service import meetings_by_business
    from core.programs.counts import activities_by_business, programs_by_business

    return {
        "cases": await cases_by_business(session, fiscal_year),
        "meetings": await meetings_by_business(session, fiscal_year),
        "programmes": await programs_by_business(session, fiscal_year),
        "activities": await activities_by_business(session, fiscal_year),
    }


async def caseload_from_cases(session: AsyncSession, fiscal_year: int) -> dict[tuple[str, str], int]:
    """Caseload per (事業, 分野) of the 年度, counted from the case records (the cases domain's definition)."""
    from core.cases.search import caseload_by_business_field

    return await caseload_by_business_field(session, fiscal_year)
