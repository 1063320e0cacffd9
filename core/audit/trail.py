"""Writing to the audit trail from inside a unit of work (same transaction as what it records)."""

from __future__ import annotations

from contextvars import ContextVar
from enum import StrEnum

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit.models import AuditEvent
from core.tenancy.context import current_tenant_id

_actor: ContextVar[str | None] = ContextVar("kyosei_actor_sub", default=None)


class AuditAction(StrEnum):
    READ = "read"  # 閲覧 of a personal record
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    BREAK_GLASS = "break_glass"  # 緊急閲覧: opened a case outside one's team, with a stated reason
    DENIED = "denied"  # an attempt that was refused (e.g. minutes of a meeting one is not a member of)


def bind_actor(sub: str | None) -> None:
    _actor.set(sub)


def current_actor() -> str | None:
    return _actor.get()


class AuditContextMissing(RuntimeError):
    """An audited action without a tenant or an actor: a programming error, never silently skipped."""


async def record(
    session: AsyncSession,
    action: AuditAction | str,
    object_type: str,
    object_id: object | None = None,
    *,
    reason: str | None = None,
    actor_sub: str | None = None,
) -> None:
    """Append one event; the chain fields are filled in by the database trigger."""
    tenant_id = current_tenant_id()
    actor = actor_sub or current_actor()
    if not tenant_id or not actor:
        raise AuditContextMissing(f"audit {action} {object_type} needs a tenant and an actor")
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    # No RETURNING: the app role may insert into the trail but not read it back.
    await session.execute(
        insert(AuditEvent.__table__).values(
            tenant_id=tenant_id,
            seq=None,  # the trigger numbers, chains and timestamps the row
            actor_sub=actor,
            action=str(action),
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            reason=reason,
            request_id=request_id,
        )
    )
