"""The five 事業 of 重層的支援体制整備事業 (社会福祉法第106条の4第2項): the one list every domain classifies by.

Cases, meetings, programmes, community activities and grant ledger rows all name their 事業 by these codes, so a
count per 事業 and 年度 means the same thing everywhere. It sits beside ``core.wareki`` rather than in a domain
because the domains may not import each other (docs: ARCHITECTURE.md, "Which way imports run").
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import func, select


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


def read_businesses(data, key: str = "businesses") -> tuple[list[str], str | None]:
    """The 事業 codes in ``data[key]`` (a list, or one code as a form sends it), in the Act's order, and an error
    message in Japanese when a value is not one of the five."""
    value = data.get(key) if hasattr(data, "get") else None
    if value is None or value == "":
        return [], None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or any(not isinstance(v, str) or v not in BUSINESS_NAMES for v in values):
        return [], "事業は次から選んでください: " + "、".join(BUSINESS_NAMES.values())
    return [b for b in Business if b.value in values], None


def fiscal_year_bounds(fiscal_year: int) -> tuple[dt.date, dt.date]:
    """First day of the 年度 and first day of the next (April–March), for half-open date ranges."""
    return dt.date(fiscal_year, 4, 1), dt.date(fiscal_year + 1, 4, 1)


async def count_by_business(session, model, *conditions) -> dict[str, int]:
    """Rows of ``model`` (which has a ``businesses`` array) matching ``conditions``, counted under each 事業 they
    name; a row of two 事業 counts once under each. Every 事業 is present (0 when none). Runs in the caller's
    transaction, so row-level security keeps it to the tenant."""
    business = func.unnest(model.businesses).label("business")
    inner = select(business).where(*conditions).subquery()
    rows = (await session.execute(select(inner.c.business, func.count()).group_by(inner.c.business))).all()
    counts = {b.value: 0 for b in Business}
    counts.update({code: int(n) for code, n in rows if code in counts})
    return counts
