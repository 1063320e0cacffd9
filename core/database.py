"""SQLAlchemy: one declarative Base for the whole schema, the app-role engine, and one transaction per unit of work.

Every transaction the service opens states its tenant to PostgreSQL (``set_config('app.tenant_id', …, true)``,
transaction-local) from ``core.tenancy.context``; row-level security does the rest. On the app's connections
(``TenantBindingConnection``) that statement travels with the transaction's ``BEGIN``, in the same round trip.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import time
import uuid

import asyncpg

import uuid_utils
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import DateTime, MetaData, Pool, String, event, func, inspect, text
from sqlalchemy.exc import InvalidatePoolError
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
    keys = getattr(target, "__search_keys__", None)
    if not keys:
        return
    unloaded = inspect(target).unloaded  # an expired source was not changed; loading it here would block (async)
    for key_column, source in keys.items():
        if source not in unloaded:
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


# A pooled connection that sat unused longer than this is checked (one ping) before it is handed out.
IDLE_BEFORE_PING = 1.0


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """``max_overflow`` (default: as many as ``pool_size``) are extra connections opened when all are busy and
    closed again as soon as they are returned: under steady load above ``pool_size`` that means a new connection
    (and every statement prepared anew) for nearly every request. The app's pools use none (``core/app.py``)."""
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        # The most recently returned connection is handed out first: under load the same few stay busy and are
        # never pinged; the rest go idle and are checked when they are needed again.
        pool_use_lifo=True,
        pool_recycle=1800,
        hide_parameters=True,  # SQL parameters (names, addresses) must never reach an error message or a log
        connect_args={"timeout": 5, "command_timeout": 30, "server_settings": {"application_name": "kyosei"},
                      "connection_class": TenantBindingConnection},
    )
    _ping_idle_connections(engine.sync_engine.pool)
    return engine


def _ping_idle_connections(pool: Pool) -> None:
    """A restarted PostgreSQL costs one failed check, not a failed request, as SQLAlchemy's ``pool_pre_ping`` does,
    but only for connections that sat idle: ``pool_pre_ping`` pings on every checkout, which with asyncpg is three
    round trips (BEGIN, an empty query, ROLLBACK), twice per page (request and session pools), for nothing under
    load. A connection the driver already knows to be closed is replaced whenever it is checked out. A connection
    broken while busy fails its statement instead, which invalidates the whole pool anyway."""

    @event.listens_for(pool, "checkin")
    def _idle_from(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if dbapi_connection.driver_connection.is_closed():
            # The driver already knows (PostgreSQL said goodbye on a restart): no round trip needed to find out,
            # and a statement sent on the driver itself (core.auth.sessions) must not be the one to fail.
            raise InvalidatePoolError("pooled connection was closed by the server")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return  # new, or just used
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # Every connection older than now is replaced: after a restart they are all dead.
            raise InvalidatePoolError(f"pooled connection failed its check: {type(exc).__name__}") from None


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# A tenant id written into the BEGIN message as a literal: municipal codes are six digits; anything else (never
# expected) is bound as a parameter in a statement of its own instead of being quoted here.
_LITERAL_TENANT = re.compile(r"[0-9]{6}")


def string_constant(value: object) -> str:
    """``value`` (as text) as a PostgreSQL string constant of the escape form, ``E'…'``, or ``NULL`` for None.

    Backslashes and single quotes are doubled, so nothing in the value can end the constant or escape from it,
    whatever ``standard_conforming_strings`` says (the escape form reads backslashes the same either way); the
    connection's encoding is always UTF-8 (asyncpg), where no character's bytes hold a quote or a backslash.
    ``ValueError`` for a NUL character, which cannot travel in a simple-protocol message (it would end it): send
    such a value as a parameter instead."""
    if value is None:
        return "NULL"
    text_value = str(value)
    if "\x00" in text_value:
        raise ValueError("a NUL character cannot be written into a statement")
    return "E'" + text_value.replace("\\", "\\\\").replace("'", "''") + "'"


class TenantBindingConnection(asyncpg.Connection):
    """An asyncpg connection whose every transaction starts bound to the tenant of the current unit of work, and
    whose ``COMMIT`` can carry the transaction's last statements.

    asyncpg starts a transaction with one simple-protocol message (``BEGIN …;``); the binding is appended to that
    message, so a request's transaction costs no extra round trip for it (one round trip and one prepared statement
    fewer per request than a ``set_config`` of its own: docs/benchmarks.md, issue 23). The tenant is read when the
    transaction begins, which SQLAlchemy does right before the transaction's first statement.

    Likewise ``send_with_commit`` puts statements in front of the ``COMMIT`` of the transaction under way, in the
    same message (the audit trail's rows, ``core.audit.trail``: one round trip fewer on every audited page). They
    run in the transaction, as if sent just before it: when one fails, nothing of the transaction is kept.
    """

    bound_tenant: str | None = None  # what the current transaction's BEGIN bound
    _with_commit: str = ""  # statements for the COMMIT of the transaction under way

    def send_with_commit(self, statements: str) -> None:
        """Run ``statements`` (complete SQL, each ending in ``;``, no parameters) right before this transaction
        commits, in COMMIT's message; forgotten when the transaction rolls back instead."""
        self._with_commit += statements

    async def execute(self, query: str, *args, timeout: float | None = None) -> str:
        if args:
            return await super().execute(query, *args, timeout=timeout)
        if query == "COMMIT;" and self._with_commit:  # asyncpg's own COMMIT of the outermost transaction
            carried, self._with_commit = self._with_commit, ""
            try:
                return await super().execute(f"{carried}\nCOMMIT;", timeout=timeout)
            except asyncpg.PostgresError:
                # A carried statement failed, so PostgreSQL skipped the COMMIT after it and the transaction stays
                # open in error; end it, as a failed COMMIT would have (the error is the caller's to see).
                with contextlib.suppress(Exception):
                    await super().execute("ROLLBACK;", timeout=timeout)
                raise
        if query.startswith("ROLLBACK") and not query.startswith("ROLLBACK TO"):
            self._with_commit = ""
        if not query.startswith("BEGIN"):  # a savepoint, COMMIT or any statement: as asyncpg sends it
            return await super().execute(query, timeout=timeout)
        self._with_commit = ""  # a new transaction carries nothing of an earlier one
        tenant = current_tenant_id() or ""
        self.bound_tenant = tenant
        if tenant == "" or _LITERAL_TENANT.fullmatch(tenant):
            begin = query.rstrip().rstrip(";")  # asyncpg's ends with ";", a hand-written one may not
            return await super().execute(f"{begin}; SELECT set_config('app.tenant_id', '{tenant}', true);",
                                         timeout=timeout)
        status = await super().execute(query, timeout=timeout)
        await super().execute("SELECT set_config('app.tenant_id', $1, true)", tenant, timeout=timeout)
        return status


@event.listens_for(Session, "after_begin")
def _state_tenant(session: Session, transaction, connection) -> None:
    """Tell PostgreSQL whose rows this transaction may see; no tenant bound means the empty string: no rows.

    A ``TenantBindingConnection`` does it with its ``BEGIN`` (still to come here, or already done for this very
    tenant); any other connection, or one whose transaction began bound to another tenant, gets the statement.
    """
    tenant = current_tenant_id() or ""
    driver = connection.connection.driver_connection
    if isinstance(driver, TenantBindingConnection) and (
            not driver.is_in_transaction() or driver.bound_tenant == tenant):
        return
    connection.execute(text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": tenant})


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


# -- rows read on the request's driver connection ----------------------------------------------------------------
# A page that needs several tables' rows reads them in one statement of ``ARRAY(SELECT row …)`` columns on the
# request's own connection (the case file, core.cases.file_query; a hub's timetable, core.programs.service) and
# turns each record into the model class the ORM would have given.


@functools.cache
def _model_columns(model: type, dialect: Any) -> tuple[tuple[str, str, Any], ...]:
    """(column name, attribute, result processor) of ``model``: what the ORM would do with each value."""
    out = []
    for prop in inspect(model).column_attrs:
        column = prop.columns[0]
        out.append((column.name, prop.key, column.type.result_processor(dialect, None)))
    return tuple(out)


def detached_instance(model: type, record: Any, dialect: Any) -> Any:
    """A detached ``model`` holding ``record``'s values, built the way the ORM fills a loaded row (the instance's
    state dictionary), without a session: nothing about it is flushed, unless a caller makes it a session's own
    (the case page's case, ``core.cases.service.open_case_and_file``)."""
    obj = inspect(model).class_manager.new_instance()
    values = obj.__dict__
    for name, key, process in _model_columns(model, dialect):
        value = record[name]
        values[key] = process(value) if process is not None and value is not None else value
    return obj


async def request_driver(session: AsyncSession) -> tuple[Any, Any]:
    """The request's own driver connection (its transaction, its tenant, its RLS) and the dialect.

    What this unit of work added or changed goes to the database first, as before any ORM query (autoflush): the
    driver is asked directly, and a page re-rendered after an action must show what the action wrote."""
    await session.flush()
    connection = await session.connection()
    pooled = await connection.get_raw_connection()
    driver = pooled.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy begins the transaction (and binds its tenant) with the first statement it sends; asked before
        # any, the driver would read outside it, as nobody. Its adapter begins it now, as it would for that
        # statement (BEGIN with the binding, no statement of its own; SQLAlchemy is pinned, and
        # tests/test_tenant_binding.py holds this to it); an adapter without that step is sent a statement.
        start = getattr(pooled.dbapi_connection, "_start_transaction", None)
        if start is not None and getattr(pooled.dbapi_connection, "_transaction", False) is None:
            await start()
        else:
            await connection.exec_driver_sql("SELECT 1")
    return driver, connection.dialect
