"""The case's lists read one table at a time, as core.cases.service read them before the case file became one
statement (core/cases/file_query.py): the reference the one-statement reader is compared with, and a plain way for
tests to look at what was stored."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.cases.models import (
    Agency,
    CaseAgency,
    CaseAssignee,
    CaseStatusChange,
    Evaluation,
    PlanRole,
    ProgressRecord,
    Referral,
    SupportPlan,
)


async def status_history(session: AsyncSession, case_id: uuid.UUID) -> list[CaseStatusChange]:
    return list(await session.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id == case_id)
                                      .order_by(CaseStatusChange.changed_at, CaseStatusChange.id)))


async def plans(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[SupportPlan, list[PlanRole]]]:
    rows = list(await session.scalars(select(SupportPlan).where(SupportPlan.case_id == case_id)
                                      .order_by(SupportPlan.version.desc())))
    roles = list(await session.scalars(select(PlanRole).where(PlanRole.plan_id.in_([p.id for p in rows]))
                                       .order_by(PlanRole.id))) if rows else []
    return [(p, [r for r in roles if r.plan_id == p.id]) for p in rows]


async def records(session: AsyncSession, case_id: uuid.UUID) -> list[ProgressRecord]:
    return list(await session.scalars(select(ProgressRecord).where(ProgressRecord.case_id == case_id)
                                      .order_by(ProgressRecord.recorded_on.desc(), ProgressRecord.id.desc())))


async def evaluations(session: AsyncSession, case_id: uuid.UUID) -> list[Evaluation]:
    return list(await session.scalars(select(Evaluation).where(Evaluation.case_id == case_id)
                                      .order_by(Evaluation.evaluated_on.desc(), Evaluation.id.desc())))


async def agency_names(session: AsyncSession) -> list[Any]:
    """``(id, name)`` of every agency, past ones too (old records name them): all a case page needs of them."""
    return list((await session.execute(select(Agency.id, Agency.name).order_by(Agency.name, Agency.id))).all())


async def case_agencies(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[CaseAgency, Agency]]:
    rows = await session.execute(
        select(CaseAgency, Agency).join(Agency, and_(Agency.tenant_id == CaseAgency.tenant_id,
                                                     Agency.id == CaseAgency.agency_id))
        .where(CaseAgency.case_id == case_id).order_by(CaseAgency.shared_at))
    return [(s, a) for s, a in rows.all()]


async def referrals(session: AsyncSession, case_id: uuid.UUID) -> list[Referral]:
    return list(await session.scalars(select(Referral).where(Referral.case_id == case_id)
                                      .order_by(Referral.referred_at.desc())))


async def assignees(session: AsyncSession, case_id: uuid.UUID) -> list[CaseAssignee]:
    return list(await session.scalars(select(CaseAssignee).where(CaseAssignee.case_id == case_id,
                                                                 CaseAssignee.ended_at.is_(None))
                                      .order_by(CaseAssignee.role, CaseAssignee.assigned_at)))
