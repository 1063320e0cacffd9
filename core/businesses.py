"""The five 事業 of 重層的支援体制整備事業 (社会福祉法第106条の4第2項): the one list every domain classifies by.

Cases, meetings, programmes, community activities and grant ledger rows all name their 事業 by these codes, so a
count per 事業 and 年度 means the same thing everywhere. It sits beside ``core.wareki`` rather than in a domain
because the domains may not import each other (docs: ARCHITECTURE.md, "Which way imports run").
"""

from __future__ import annotations

from enum import StrEnum


class Business(StrEnum):
    """構成事業, in the order of the Act (and of every document that lists them)."""

    CONSULTATION = "consultation"  # 包括的相談支援事業 (第1号)
    PARTICIPATION = "participation"  # 参加支援事業 (第2号)
    COMMUNITY = "community"  # 地域づくり事業 (第3号)
    OUTREACH = "outreach"  # アウトリーチ等を通じた継続的支援事業 (第4号)
    MULTI_AGENCY = "multi_agency"  # 多機関協働事業 (第5号・第6号: 支援プランの作成を含む)


# The names the Act and the national forms use.
BUSINESS_NAMES: dict[str, str] = {
    Business.CONSULTATION: "包括的相談支援事業",
    Business.PARTICIPATION: "参加支援事業",
    Business.COMMUNITY: "地域づくり事業",
    Business.OUTREACH: "アウトリーチ等を通じた継続的支援事業",
    Business.MULTI_AGENCY: "多機関協働事業",
}


def business_name(code: str | None) -> str:
    return BUSINESS_NAMES.get(code or "", code or "—")
