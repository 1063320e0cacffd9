"""SQLAlchemy: one declarative Base for the whole schema, the app-role engine, and one transaction per unit of work.

Every transaction the service opens states its tenant to PostgreSQL (``set_config('app.tenant_id', …, true)``,
transaction-local) from ``core.tenancy.context``; row-level security does the rest.
"""

from __future__ import annotations

import datetime as dt
import uuid

import uuid_utils
from collections.abc import AsyncIterator

from sqlalchemy import DateTime, MetaData, String, event, func, text
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core.tenancy.context import current_tenant_id
from core.text_rules import search_key

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


@event.listens_for(Base, "before_insert", propagate=True)
@event.listens_for(Base, "before_update", propagate=True)
def _refresh_search_keys(mapper, connection, target) -> None:
    """Keep every search-key column equal to ``search_key`` of its source column on each ORM write.

    A model lists its keys as ``__search_keys__ = {"name_key": "name", …}`` (key column: source column); a Core
    ``insert()``/``update()`` bypasses this and must pass the keys itself (see core/auth/staff_directory.py).
    """
    for key_column, source in getattr(target, "__search_keys__", {}).items():
        setattr(target, key_column, search_key(getattr(target, source)))


def new_id() -> uuid.UUID:
    """UUIDv7: time-ordered, so new rows land at the end of the primary-key index."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=utc_now
    )


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://"):]
    return url


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # a restarted PostgreSQL costs one failed check, not a failed request
        pool_recycle=1800,
        hide_parameters=True,  # SQL parameters (names, addresses) must never reach an error message or a log
        connect_args={"timeout": 5, "command_timeout": 30, "server_settings": {"application_name": "kyosei"}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@event.listens_for(Session, "after_begin")
def _state_tenant(session: Session, transaction, connection) -> None:
    """Tell PostgreSQL whose rows this transaction may see; no tenant bound means the empty string: no rows."""
    connection.execute(
        text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": current_tenant_id() or ""}
    )


class TenantOwned:
    """Mixin for tenant tables: ``tenant_id`` comes first and defaults to the bound tenant.

    The migration must also call ``core.tenancy.ddl.tenant_table(name)`` so PostgreSQL enforces the wall; the
    default here only saves callers from passing the tenant they are already bound to.
    """

    tenant_id: Mapped[str] = mapped_column(
        String(6), primary_key=True, default=lambda: current_tenant_id(), sort_order=-100
    )


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """Litestar dependency ``db``: one transaction per request, committed when the handler returns normally and
    rolled back when it raises (Litestar throws the exception into this generator)."""
    from core.plugins.unit_of_work import bind_host, deliver_events

    async with state.sessions() as session:
        # services reach the tenant's plugins through the unit of work (core/plugins/unit_of_work.py)
        bind_host(session, getattr(state, "plugins", None))
        async with session.begin():
            yield session
        await deliver_events(session)  # only reached when the transaction committed
