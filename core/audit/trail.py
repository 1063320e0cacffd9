"""Writing to the audit trail from inside a unit of work (same transaction as what it records).

``record`` does not insert at once: the events wait in the session and are inserted together (one multi-row
statement) right before the transaction commits, on the app's connections in COMMIT's own message. The insert
trigger takes the tenant's chain lock (``pg_advisory_xact_lock``) until the commit, and every audited read of a
municipality needs it; inserted at the moment of reading, the lock was held through the rest of the handler and the
page's rendering, so one tenant's pages ran one at a time. A savepoint that rolls back takes its events with it, as
the insert would have.
"""

from __future__ import annotations

from contextvars import ContextVar
from enum import StrEnum

import structlog
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from core.audit.models import AuditEvent
from core.database import TenantBindingConnection, string_constant
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
    sync = session.sync_session
    if not sync.in_transaction():
        sync.begin()  # as an insert would have (autobegin): the event belongs to this transaction
    # Remembered with the innermost transaction (a savepoint, if one is open), to be forgotten if that rolls back.
    within = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(_PENDING, []).append((within, {
        "tenant_id": tenant_id,
        "seq": None,  # the trigger numbers, chains and timestamps the row
        "actor_sub": actor,
        "action": str(action),
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "reason": reason,
        "request_id": request_id,
    }))


_PENDING = "kyosei_audit_pending"


@event.listens_for(Session, "before_commit")
def _insert_pending(session: Session) -> None:
    """The transaction (or savepoint) is about to commit: its events go in now, in the order they happened.

    When the whole transaction commits on one of the app's connections, the rows travel in COMMIT's own message
    (``core.database.TenantBindingConnection.send_with_commit``): one round trip fewer on every audited page, and
    the tenant's chain lock is taken at the very end. A savepoint's go in as it is released, as a statement."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    rows = [values for _, values in pending]
    if session.get_nested_transaction() is None and _sent_with_commit(session, rows):
        return
    # No RETURNING: the app role may insert into the trail but not read it back.
    session.execute(insert(AuditEvent.__table__), rows)


def _sent_with_commit(session: Session, rows: list[dict]) -> bool:
    """Hand ``rows`` to the connection to insert with its COMMIT; False when it cannot carry them, for the caller to
    insert them now: another kind of connection, a value that must go as a parameter, or a transaction that sent
    no statement yet (SQLAlchemy begins it on PostgreSQL with its first statement and sends no COMMIT without one:
    the rows would be lost)."""
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, TenantBindingConnection) or not driver.is_in_transaction():
        return False
    columns = tuple(rows[0])  # the columns ``record`` fills, the same for every row
    try:
        values = ",\n".join("(" + ", ".join(string_constant(row[c]) for c in columns) + ")" for row in rows)
    except ValueError:
        return False
    driver.send_with_commit(f"INSERT INTO audit_event ({', '.join(columns)}) VALUES\n{values};")
    return True


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Events recorded inside a transaction or savepoint that rolled back never happened."""
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [(within, values) for within, values in pending if not inside(within)]
