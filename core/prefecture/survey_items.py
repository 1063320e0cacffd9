"""The standard items of the yearly 実態調査 (包括的支援体制の整備状況), and what pre-fills each for a tenant.

A tenant's answer page fills a pre-fillable item from the municipality's own records of the survey's 年度 (the
count definitions of ``core.counts``, the same as its grant reports) so that staff review a figure instead of
counting it again; nothing is sent until they submit. A municipality answering by one-time link has no records
here and answers every item itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core import counts
from core.prefecture.models import PHASE_LABELS, QuestionKind, RoadmapPhase


@dataclass(frozen=True)
class StandardItem:
    label: str
    kind: str
    choices: tuple[str, ...] = ()
    prefill: str | None = None


async def _phase(session: AsyncSession, fiscal_year: int, code: str) -> str:
    row = await session.get(RoadmapPhase, (code, fiscal_year))
    return PHASE_LABELS.get(row.phase, "") if row else ""


# key → a count of the tenant's own records over the 年度 (first, last)
COUNTS: dict[str, Callable[[AsyncSession, dt.date, dt.date], Awaitable[int]]] = {
    "consultations_received": counts.consultations_received,
    "support_plans": counts.support_plans,
    "support_meetings": counts.support_meetings_held,
    "multilayer_meetings": counts.multilayer_meetings_held,
    "participation_participants": counts.participation_participants,
    "community_hubs": counts.community_hubs,
    "community_participants": counts.community_participants,
}
PREFILLS = (*COUNTS, "phase")

STANDARD_ITEMS: tuple[StandardItem, ...] = (
    StandardItem("体制の整備状況（重層的支援体制整備事業への移行段階）", QuestionKind.CHOICE,
                 tuple(PHASE_LABELS.values()), "phase"),
    StandardItem("相談支援：相談受付件数（件）", QuestionKind.NUMBER, prefill="consultations_received"),
    StandardItem("相談支援：支援プラン作成件数（件）", QuestionKind.NUMBER, prefill="support_plans"),
    StandardItem("会議開催状況：支援会議の開催回数（回）", QuestionKind.NUMBER, prefill="support_meetings"),
    StandardItem("会議開催状況：重層的支援会議の開催回数（回）", QuestionKind.NUMBER, prefill="multilayer_meetings"),
    StandardItem("参加支援：参加者数（実人数）", QuestionKind.NUMBER, prefill="participation_participants"),
    StandardItem("地域づくり：拠点数（か所）", QuestionKind.NUMBER, prefill="community_hubs"),
    StandardItem("地域づくり：参加者数（延べ人数）", QuestionKind.NUMBER, prefill="community_participants"),
    StandardItem("体制整備の課題と、県の後方支援への要望", QuestionKind.TEXT),
)


async def prefilled(session: AsyncSession, questions, fiscal_year: int, code: str) -> dict:
    """question id → the value from the tenant's own records (run in the tenant's transaction)."""
    period = counts.fiscal_year_period(fiscal_year)
    values = {}
    for question in questions:
        if question.prefill == "phase":
            values[question.id] = await _phase(session, fiscal_year, code)
        elif question.prefill in COUNTS:
            values[question.id] = str(await COUNTS[question.prefill](session, *period))
    return values
