"""緊急閲覧の確認 (break-glass review): every opening of a case outside one's team waits in the tenant admin's queue
until it is marked 妥当 (appropriate) or 要確認 (needs_check) with a note.

Reviews are append-only rows (``break_glass_review``) beside the append-only grants; the newest review of a grant
is its state, so a 要確認 stays in the queue until someone settles it as 妥当 later. An admin never reviews their
own opening (another admin does). Every review is audited; the queue itself is a read of who opened which case.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.audit.trail import AuditAction, record
from core.auth.principal import Principal, Role
from core.cases.models import BreakGlassReview, CaseAccessGrant, SupportCase
from core.cases.schemas import Reader
from core.cases.service import Forbidden, NotFound, _uuid

VERDICT_LABELS: dict[str, str] = {"appropriate": "妥当", "needs_check": "要確認"}


@dataclass
class ReviewItem:
    grant: CaseAccessGrant
    case_number: str
    review: BreakGlassReview | None

    @property
    def open(self) -> bool:
        return self.review is None or self.review.verdict == "needs_check"


def _require_admin(principal: Principal) -> None:
    if principal.is_prefecture or not principal.has_role(Role.TENANT_ADMIN):
        raise Forbidden("緊急閲覧の確認は団体管理者が行います。")


def _latest_reviews():
    """The reviews ranked per grant (``n == 1``: the newest) and the entity over them."""
    ranked = select(BreakGlassReview, func.row_number().over(
        partition_by=BreakGlassReview.grant_id,
        order_by=(BreakGlassReview.reviewed_at.desc(), BreakGlassReview.id.desc())).label("n")).subquery()
    return ranked, aliased(BreakGlassReview, ranked)


async def review_queue(session: AsyncSession, principal: Principal, *, include_settled: bool = False,
                       limit: int = 200) -> list[ReviewItem]:
    """Openings still to review (no review yet, or 要確認), oldest first; with ``include_settled`` every opening,
    newest first."""
    _require_admin(principal)
    latest, newest = _latest_reviews()
    stmt = (select(CaseAccessGrant, SupportCase.case_number, newest)
            .join(SupportCase, and_(SupportCase.tenant_id == CaseAccessGrant.tenant_id,
                                    SupportCase.id == CaseAccessGrant.case_id))
            .outerjoin(newest, and_(newest.grant_id == CaseAccessGrant.id, latest.c.n == 1)))
    if include_settled:
        stmt = stmt.order_by(CaseAccessGrant.granted_at.desc())
    else:
        stmt = stmt.where(or_(newest.id.is_(None), newest.verdict == "needs_check")).order_by(CaseAccessGrant.granted_at)
    rows = (await session.execute(stmt.limit(limit))).all()
    await record(session, AuditAction.READ, "case_access_grant", None, reason="review queue")
    return [ReviewItem(g, n, r) for g, n, r in rows]


async def open_review_count(session: AsyncSession) -> int:
    """How many openings of the bound tenant wait for review (the admin's home page shows it)."""
    latest, newest = _latest_reviews()
    return int(await session.scalar(
        select(func.count()).select_from(CaseAccessGrant)
        .outerjoin(newest, and_(newest.grant_id == CaseAccessGrant.id, latest.c.n == 1))
        .where(or_(newest.id.is_(None), newest.verdict == "needs_check"))) or 0)


async def review(session: AsyncSession, principal: Principal, grant_id: uuid.UUID | str,
                 data: Mapping[str, Any]) -> BreakGlassReview:
    """Mark one opening 妥当 or 要確認; a 要確認 needs a note saying what is to be checked."""
    _require_admin(principal)
    grant = await session.get(CaseAccessGrant, (principal.tenant_id, _uuid(grant_id, "緊急閲覧の記録")))
    if grant is None:
        raise NotFound("緊急閲覧の記録が見つかりません。")
    if grant.user_sub == principal.sub:
        raise Forbidden("自分の緊急閲覧は、ほかの団体管理者が確認します。")
    r = Reader(data)
    verdict = r.choice("verdict", "確認の結果", VERDICT_LABELS)
    note = r.text("note", "確認のメモ", 1000, free=True)
    if verdict is None and not r.errors:
        r.fail("verdict", "「妥当」か「要確認」を選んでください。")
    if verdict == "needs_check" and not note:
        r.fail("note", "要確認とする理由（確認すること）を入力してください。")
    r.done()
    row = BreakGlassReview(grant_id=grant.id, verdict=verdict, note=note, reviewed_by=principal.sub,
                           reviewed_by_name=principal.display_name[:100] or None)
    session.add(row)
    await session.flush()
    await record(session, AuditAction.UPDATE, "case_access_grant", grant.id, reason=f"review {verdict}")
    return row


__all__ = ["VERDICT_LABELS", "ReviewItem", "open_review_count", "review", "review_queue"]
