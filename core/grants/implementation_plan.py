"""実施計画 (社会福祉法第106条の5, a duty to endeavour): written in the app per 年度, versioned, printable, sent to
the prefecture.

The text follows the items the national guidance asks a 実施計画 to cover (厚生労働省「重層的支援体制整備事業実施計画
策定ガイドライン」): 基本方針, 体制 (支援会議・重層的支援会議 and who coordinates), 各事業の実施方法 for each of the five
事業, 目標, and the previous year's 実績 and 評価. The figures are not typed: each version freezes the system's counts
of the 年度 at the save, from the same functions the grant reports and the prefecture use
(``core.grants.counts.implementation_counts`` and ``business_counts``) — one definition per count.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit.trail import AuditAction, current_actor, record
from core.businesses import BUSINESS_NAMES
from core.field_input import FieldReader
from core.grants.counts import BUSINESS_COUNT_LABELS, COUNT_LABELS, business_counts, implementation_counts
from core.grants.models import ImplementationPlan
from core.grants.schemas import ValidationFailed
from core.wareki import fiscal_year_label

SECTION_MAX = 4000
# key → heading, in the order the printed plan lists them
SECTIONS: dict[str, str] = {
    "policy": "1 基本方針（地域の課題と目指す姿）",
    "structure": "2 実施体制（庁内連携・支援会議・重層的支援会議・包括化推進員の配置）",
    **{f"method_{code}": f"3-{n} {name}の実施方法" for n, (code, name) in enumerate(BUSINESS_NAMES.items(), start=1)},
    "targets": "4 目標（成果指標と目標値）",
    "results": "5 前年度の実績と評価",
    "review": "6 計画の評価・見直しの方法",
}


class PlanNotFound(Exception):
    def __init__(self, message: str = "指定された実施計画は見つかりません。"):
        super().__init__(message)
        self.message = message


class _Reader(FieldReader):
    invalid = ValidationFailed


def parse_sections(data: Mapping[str, Any]) -> dict[str, str]:
    r = _Reader(data)
    values = {key: r.text(key, label, SECTION_MAX, multiline=True, allow_emoji=True) for key, label in SECTIONS.items()
              if r.raw(key) is not None}
    sections = {k: v for k, v in values.items() if v}
    if not sections and not r.errors:
        r.fail("policy", "少なくとも1つの項目を記入してください。")
    r.done()
    return sections


async def figures_of(session: AsyncSession, fiscal_year: int) -> dict[str, Any]:
    """The counts a plan of ``fiscal_year`` carries, as the system has them now."""
    return {"implementation": await implementation_counts(session, fiscal_year),
            "businesses": await business_counts(session, fiscal_year),
            "counted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


async def versions(session: AsyncSession, fiscal_year: int) -> list[ImplementationPlan]:
    return list(await session.scalars(select(ImplementationPlan).where(ImplementationPlan.fiscal_year == fiscal_year)
                                       .order_by(ImplementationPlan.version.desc())))


async def years(session: AsyncSession) -> list[tuple[int, int, dt.datetime | None]]:
    """(年度, latest version, last sent) of every 年度 with a plan, newest first."""
    rows = await session.execute(select(ImplementationPlan.fiscal_year, func.max(ImplementationPlan.version),
                                        func.max(ImplementationPlan.sent_at))
                                 .group_by(ImplementationPlan.fiscal_year).order_by(ImplementationPlan.fiscal_year.desc()))
    return [(int(y), int(v), sent) for y, v, sent in rows]


async def save(session: AsyncSession, fiscal_year: int, data: Mapping[str, Any],
               author_name: str | None = None) -> ImplementationPlan:
    """A new version of the 年度's plan with the text given and the 年度's figures as of now."""
    if not 2000 <= fiscal_year <= 2100:
        raise ValidationFailed([{"field": "fiscal_year", "message": "年度は2000～2100年度で指定してください。"}])
    sections = parse_sections(data)
    # one writer at a time per tenant and 年度, so two saves cannot take the same version number
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('implementation_plan:' "
                                "|| current_setting('app.tenant_id') || ':' || :fy))"), {"fy": str(fiscal_year)})
    latest = await session.scalar(select(func.max(ImplementationPlan.version))
                                  .where(ImplementationPlan.fiscal_year == fiscal_year)) or 0
    plan = ImplementationPlan(fiscal_year=fiscal_year, version=latest + 1, sections=sections,
                              figures=await figures_of(session, fiscal_year), created_by=current_actor() or "system",
                              created_by_name=(author_name or "")[:100] or None)
    session.add(plan)
    await session.flush()
    await record(session, AuditAction.CREATE, "implementation_plan", plan.id, reason=f"{fiscal_year} v{plan.version}")
    return plan


async def get_plan(session: AsyncSession, plan_id: object) -> ImplementationPlan:
    """One version by its id (RLS keeps it to the tenant: another tenant's id is simply not found)."""
    try:
        key = uuid.UUID(str(plan_id))
    except ValueError:
        raise PlanNotFound() from None
    plan = await session.scalar(select(ImplementationPlan).where(ImplementationPlan.id == key))
    if plan is None:
        raise PlanNotFound()
    return plan


async def send(session: AsyncSession, plan: ImplementationPlan) -> ImplementationPlan:
    """Send a version to the prefecture's console (the latest sent version is the one it reads)."""
    fiscal_year, version = plan.fiscal_year, plan.version
    plan.sent_at = dt.datetime.now(dt.UTC)
    plan.sent_by = current_actor()
    await session.flush()
    await record(session, AuditAction.UPDATE, "implementation_plan", plan.id, reason=f"sent {fiscal_year} v{version}")
    return plan


@dataclass
class SentPlan:
    tenant_id: str
    fiscal_year: int
    version: int
    sections: dict[str, str]
    figures: dict[str, Any]
    sent_at: dt.datetime


async def sent_to_prefecture(session: AsyncSession, fiscal_year: int) -> list[SentPlan]:
    """Every municipality's latest sent plan of the 年度; rows only while the prefecture's tenant is bound."""
    rows = await session.execute(text("SELECT tenant_id, fiscal_year, version, sections, figures, sent_at "
                                      "FROM implementation_plans_sent(:fy)"), {"fy": fiscal_year})
    return [SentPlan(t, int(y), int(v), s or {}, f or {}, at) for t, y, v, s, f, at in rows]


async def published_to_prefecture(session: AsyncSession, fiscal_year: int, codes: list[str]) -> list[SentPlan]:
    """The plans of ``sent_to_prefecture`` as the prefecture's console shows them: their figures are the counts the
    aggregates publish for the same 年度, so they pass the same disclosure control
    (``core.prefecture.aggregates.reported_figures`` over ``codes``, the municipalities the console lists) — a
    count of people hidden (``None``) from 1 to 4 or where the aggregates hide that municipality's 年度計. Counts of
    cases per 事業 are counts of people too (hidden from 1 to 4); meetings, programmes, activities and hubs are not."""
    from core.prefecture.aggregates import reported_figures

    sent = await sent_to_prefecture(session, fiscal_year)
    shown = [SentPlan(p.tenant_id, p.fiscal_year, p.version, p.sections,
                      {"implementation": dict(p.figures.get("implementation") or {}),
                       "businesses": {k: dict(v or {}) for k, v in (p.figures.get("businesses") or {}).items()}},
                      p.sent_at) for p in sent]

    for key in COUNT_LABELS:  # each key is the count definition (core.counts) the figure was made by
        counts = {p.tenant_id: p.figures["implementation"] for p in shown}
        reported = {t: int(c[key]) for t, c in counts.items() if c.get(key) is not None}
        for t, value in (await reported_figures(session, fiscal_year, key, codes, reported)).items():
            counts[t][key] = value
    for code in BUSINESS_NAMES:
        cases = {p.tenant_id: p.figures["businesses"].setdefault("cases", {}) for p in shown}
        reported = {t: int(c[code]) for t, c in cases.items() if c.get(code) is not None}
        for t, value in (await reported_figures(session, fiscal_year, None, codes, reported)).items():
            cases[t][code] = value
    return shown


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def figure_rows(figures: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """(label, count) of the plan's implementation counts, in report order (``None``: hidden for the prefecture)."""
    counts = figures.get("implementation") or {}
    return [(label, _count(counts.get(key, 0))) for key, label in COUNT_LABELS.items()]


def business_rows(figures: Mapping[str, Any]) -> list[tuple[str, list[int | None]]]:
    """(事業 name, [count per record kind]) of the plan's counts per 事業 (``None``: hidden for the prefecture)."""
    counts = figures.get("businesses") or {}
    return [(name, [_count((counts.get(kind) or {}).get(code, 0)) for kind in BUSINESS_COUNT_LABELS])
            for code, name in BUSINESS_NAMES.items()]


def title(fiscal_year: int) -> str:
    return f"{fiscal_year_label(fiscal_year)} 重層的支援体制整備事業実施計画"
