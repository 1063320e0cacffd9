"""What waits for a tenant admin (shown on the home page through ``admin/_home_todo.html``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.principal import Principal, Role
from core.cases.break_glass import open_review_count
from core.cases.workflow import may_decide_support
from core.meetings.service import awaiting_support_decision
from tenants.staff import setup_needed


@dataclass(frozen=True)
class TodoItem:
    message: str
    href: str
    link_text: str


async def admin_todo(session: AsyncSession, principal: Principal | None) -> list[TodoItem]:
    """Open break-glass reviews, plans waiting for the municipality's 支援決定, and — for a municipality whose
    admin is still alone — inviting staff."""
    if principal is None or principal.is_prefecture or not principal.has_role(Role.TENANT_ADMIN):
        return []
    items = []
    if await setup_needed(session):
        items.append(TodoItem("まだ職員が登録されていません。最初に職員を招待し、役割を設定しましょう。",
                              "/admin/staff", "職員を招待する"))
    waiting = await open_review_count(session)
    if waiting:
        items.append(TodoItem(f"確認を待っている緊急閲覧が{waiting}件あります。", "/admin/break-glass", "緊急閲覧を確認する"))
    if may_decide_support(principal):
        count, meeting_id = await awaiting_support_decision(session)
        if count:
            items.append(TodoItem(f"重層的支援会議でプランに合意し、市町村の支援決定を待っているケースが{count}件あります。",
                                  f"/meetings/{meeting_id}", "会議の画面で支援決定する"))
    return items
