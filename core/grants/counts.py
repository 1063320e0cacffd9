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
