"""Each transaction is bound to the tenant of its own unit of work, stated with its BEGIN (core/database.py).

The binding is what row-level security reads; a pooled connection carries one request's transaction after another,
so a binding that lingered or came late would show one municipality's rows to another.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import create_engine, session_factory
from core.tenancy.context import tenant_scope
from tests.conftest import run
from tests.statements_sent import record_statements

BOUND = text("SELECT current_setting('app.tenant_id', true)")


def test_one_pooled_connection_serves_each_transaction_bound_to_its_own_tenant_with_no_extra_statement(
        database_urls, monkeypatch):
    prepared = record_statements(monkeypatch, ("prepare",))

    async def scenario():
        engine = create_engine(database_urls.app, pool_size=1, max_overflow=0)  # one connection for all of them
        sessions = session_factory(engine)
        seen = []
        try:
            for tenant in ("394017", None, "392014", "394017"):
                with tenant_scope(tenant):
                    async with sessions() as session, session.begin():
                        seen.append(await session.scalar(BOUND))
            with tenant_scope("392014"):  # a transaction that ends in an error does not bind the next one
                try:
                    async with sessions() as session, session.begin():
                        await session.execute(text("SELECT 1/0"))
                except Exception:
                    pass
            with tenant_scope(None):
                async with sessions() as session, session.begin():
                    seen.append(await session.scalar(BOUND))
        finally:
            await engine.dispose()
        return seen

    assert run(scenario()) == ["394017", "", "392014", "394017", ""]
    # the binding travelled with BEGIN: no statement of its own was prepared for it
    assert not [q for q in prepared if "set_config" in q]


def test_a_tenant_id_of_another_shape_is_bound_as_a_parameter_never_written_into_the_sql(database_urls):
    odd = "x'); SELECT set_config('app.tenant_id', '392014', true); --"

    async def scenario():
        engine = create_engine(database_urls.app, pool_size=1, max_overflow=0)
        try:
            with tenant_scope(odd):
                async with session_factory(engine)() as session, session.begin():
                    return await session.scalar(BOUND)
        finally:
            await engine.dispose()

    assert run(scenario()) == odd


def test_a_session_joining_a_transaction_begun_for_another_tenant_is_bound_to_its_own(database_urls):
    async def scenario():
        engine = create_engine(database_urls.app, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as conn:
                with tenant_scope("392014"):
                    await conn.begin()
                    before = (await conn.execute(BOUND)).scalar()
                with tenant_scope("394017"):
                    session = AsyncSession(bind=conn)
                    async with session.begin():
                        after = await session.scalar(BOUND)
                    await session.close()
                await conn.rollback()
        finally:
            await engine.dispose()
        return before, after

    assert run(scenario()) == ("392014", "394017")


def test_the_driver_asked_first_in_a_unit_of_work_reads_inside_its_transaction_and_tenant(database_urls, monkeypatch):
    """The transaction begins, bound, with no statement of its own: the case page's one question is its first."""
    from core.database import request_driver

    prepared = record_statements(monkeypatch, ("prepare",))

    async def scenario():
        engine = create_engine(database_urls.app, pool_size=1, max_overflow=0)
        try:
            with tenant_scope("394017"):
                async with session_factory(engine)() as session, session.begin():
                    driver, _ = await request_driver(session)  # nothing sent through SQLAlchemy before it
                    return driver.is_in_transaction(), await driver.fetchval(BOUND.text)
        finally:
            await engine.dispose()

    assert run(scenario()) == (True, "394017")
    assert "SELECT 1" not in prepared  # (what a new engine asks once, the server's version and settings, aside)


def test_a_begin_written_by_hand_is_bound_too(database_urls):
    async def scenario():
        engine = create_engine(database_urls.app, pool_size=1, max_overflow=0)
        try:
            raw = await engine.raw_connection()
            try:
                driver = raw.driver_connection
                with tenant_scope("392014"):
                    await driver.execute("BEGIN")
                bound = await driver.fetchval(BOUND.text)
                await driver.execute("ROLLBACK")
                return bound
            finally:
                raw.close()
        finally:
            await engine.dispose()

    assert run(scenario()) == "392014"
