"""The implementation-plan counts (規則 34-10) that grant reports print: the one seam to the other domains.

``implementation_counts`` is the only place the grant domain asks about cases and programmes. Cases and
programmes are built in their own domains; the lead connects each count to its source here (a query on the case
and programme tables for the same fiscal year, April–March). Until then every count is 0, so reports show the
headings with zeros rather than failing. Callers must not query other domains' tables themselves.
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

    Returns every key of ``COUNT_LABELS`` with an ``int``; the sources (case intake for 相談受付件数, programme
    enrolment and partners for 参加支援, hubs, attendance and partner agencies for 地域づくり) are wired by the
    lead when those domains land. Runs in the caller's transaction, so row-level security scopes it to the tenant.
    """
    return {key: 0 for key in COUNT_LABELS}
