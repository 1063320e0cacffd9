"""The audit trail: the app can only append; tampering, even by the owner, is found by `kyosei audit verify`."""

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.audit.chain import verify_chain
from core.audit.trail import AuditAction, record
from core.database import create_engine, session_factory
from core.tenancy.context import tenant_scope
from tests.db import owner_fetch
from tests.statements_sent import record_statements
from infra.database.provision import connect

KYOSEI = str(Path(sys.executable).parent / "kyosei")


async def append_events(app_url: str, tenant_id: str, count: int) -> None:
    from core.audit.trail import _actor

    engine = create_engine(app_url, pool_size=1)
    try:
        with tenant_scope(tenant_id):
            token = _actor.set("00000000-test-actor")
            try:
                async with session_factory(engine)() as session, session.begin():
                    for i in range(count):
                        await record(session, AuditAction.READ, "case", f"case-{i}", reason=None)
            finally:
                _actor.reset(token)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def app_sessions(app_url: str, **pool):
    """Sessions of the app role as a test actor (the engine disposed afterwards); tenants are bound by the caller."""
    from core.audit.trail import _actor

    engine = create_engine(app_url, **{"pool_size": 1, **pool})
    token = _actor.set("00000000-test-actor")
    try:
        yield session_factory(engine)
    finally:
        _actor.reset(token)
        await engine.dispose()


def test_events_are_chained_per_tenant(database_urls):
    asyncio.run(append_events(database_urls.app, "392049", 3))
    rows = asyncio.run(owner_fetch(database_urls.owner, "392049", "SELECT * FROM audit_event WHERE tenant_id = '392049' ORDER BY seq"))
    assert [r["seq"] for r in rows][-3:] == [rows[-3]["seq"], rows[-3]["seq"] + 1, rows[-3]["seq"] + 2]
    for previous, current in zip(rows, rows[1:]):
        assert current["prev_hash"] == previous["hash"]
    assert asyncio.run(verify_chain(database_urls.owner)).intact


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM audit_event",
        "UPDATE audit_event SET reason = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
    ],
)
def test_the_app_role_can_only_append(database_urls, sql):
    async def attempt():
        conn = await connect(database_urls.app)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', '392049', true)")
                await conn.execute(sql)
        finally:
            await conn.close()

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        asyncio.run(attempt())


def test_an_event_without_tenant_or_actor_is_a_programming_error(database_urls):
    from core.audit.trail import AuditContextMissing

    async def without_context():
        engine = create_engine(database_urls.app, pool_size=1)
        try:
            async with session_factory(engine)() as session, session.begin():
                await record(session, AuditAction.READ, "case", "x")
        finally:
            await engine.dispose()

    with pytest.raises(AuditContextMissing):
        asyncio.run(without_context())


def test_tampering_by_the_owner_is_reported_with_the_row(database_urls):
    asyncio.run(append_events(database_urls.app, "392014", 4))
    rows = asyncio.run(owner_fetch(database_urls.owner, "392014", "SELECT seq, object_id FROM audit_event WHERE tenant_id = '392014' ORDER BY seq"))
    victim = rows[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYOSEI_", "DATABASE_"))}
    env.update(DATABASE_URL=database_urls.owner, DATABASE_APP_URL=database_urls.app)
    try:
        asyncio.run(owner_fetch(database_urls.owner, "392014",
                                "UPDATE audit_event SET object_id = 'someone-else' WHERE tenant_id = '392014' AND seq = $1",
                                victim["seq"]))
        report = asyncio.run(verify_chain(database_urls.owner))
        assert not report.intact
        [broken] = [b for b in report.breaks if b.tenant_id == "392014"]
        assert broken.seq == victim["seq"]
        result = subprocess.run([KYOSEI, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert f"tenant 392014 row seq={victim['seq']}" in result.stderr
    finally:
        asyncio.run(owner_fetch(database_urls.owner, "392014",
                                "UPDATE audit_event SET object_id = $2 WHERE tenant_id = '392014' AND seq = $1",
                                victim["seq"], victim["object_id"]))
    result = subprocess.run([KYOSEI, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout


def test_deleting_a_row_breaks_the_chain_at_the_next_row(database_urls):
    asyncio.run(append_events(database_urls.app, "390003", 3))
    rows = asyncio.run(owner_fetch(database_urls.owner, "390003", "SELECT * FROM audit_event WHERE tenant_id = '390003' ORDER BY seq"))
    middle = rows[-2]
    asyncio.run(owner_fetch(database_urls.owner, "390003", "DELETE FROM audit_event WHERE tenant_id = '390003' AND seq = $1", middle["seq"]))
    try:
        [broken] = [b for b in asyncio.run(verify_chain(database_urls.owner)).breaks if b.tenant_id == "390003"]
        assert broken.seq == middle["seq"] + 1
    finally:
        cols = list(middle.keys())
        # Restore the deleted row verbatim (the owner bypasses the trigger by disabling it for the restore).
        async def restore():
            conn = await connect(database_urls.owner)
            try:
                async with conn.transaction():
                    await conn.execute("SELECT set_config('app.tenant_id', '390003', true)")
                    await conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_chain")
                    await conn.execute(
                        f"INSERT INTO audit_event ({', '.join(cols)}) VALUES ({', '.join(f'${i+1}' for i in range(len(cols)))})",
                        *[middle[c] for c in cols],
                    )
                    await conn.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_chain")
            finally:
                await conn.close()

        asyncio.run(restore())
    assert asyncio.run(verify_chain(database_urls.owner)).intact


def test_events_of_a_rolled_back_savepoint_or_transaction_are_not_written(database_urls):
    """Events wait for the commit (so the tenant's chain lock is held only at the end); what rolled back never
    happened, what committed is written in the order it was recorded."""
    marker = os.urandom(4).hex()

    async def work():
        async with app_sessions(database_urls.app) as sessions, sessions() as session:
            with tenant_scope("392049"):
                async with session.begin():
                    await record(session, AuditAction.READ, "case", f"{marker}-1")
                    try:
                        async with session.begin_nested():
                            await record(session, AuditAction.UPDATE, "case", f"{marker}-undone")
                            raise RuntimeError("refused half way")
                    except RuntimeError:
                        pass
                    async with session.begin_nested():
                        await record(session, AuditAction.UPDATE, "case", f"{marker}-2")
                    await record(session, AuditAction.READ, "case", f"{marker}-3")
                with pytest.raises(RuntimeError):
                    async with session.begin():
                        await record(session, AuditAction.READ, "case", f"{marker}-rolled-back")
                        raise RuntimeError("handler failed")

    asyncio.run(work())
    rows = asyncio.run(owner_fetch(database_urls.owner, "392049",
                                   "SELECT object_id FROM audit_event WHERE object_id LIKE $1 ORDER BY seq", f"{marker}-%"))
    assert [r["object_id"] for r in rows] == [f"{marker}-1", f"{marker}-2", f"{marker}-3"]


# Reasons as staff may type them (a break-glass reason is free text), with every character that could end or escape
# a string constant in SQL: they travel written into COMMIT's message (core.database.string_constant).
AWKWARD_REASONS = (
    "O'Brien さんの件（緊急）",
    "\\'; DELETE FROM audit_event; --",
    "E'\\\\x41' $$ $q$ ); SELECT pg_sleep(1); --",
    "改行\nとタブ\tと😀と\\",
    "",
)


def test_a_transactions_events_go_in_with_its_commit_in_one_message_and_read_back_exactly_as_recorded(
        database_urls, monkeypatch):
    """On the app's connections the trail's rows are not a statement of their own: they travel in COMMIT's message
    (one round trip fewer for every audited page), and what was recorded is what is kept, character for character,
    with the chain intact."""
    marker = os.urandom(4).hex()
    prepared = record_statements(monkeypatch, ("prepare",))
    messages = record_statements(monkeypatch, ("execute",))

    async def work():
        async with app_sessions(database_urls.app) as sessions, sessions() as session:
            with tenant_scope("392049"):
                async with session.begin():
                    await session.execute(text("SELECT 1"))  # a page reads before it records
                    for n, reason in enumerate(AWKWARD_REASONS):
                        await record(session, AuditAction.BREAK_GLASS, "case", f"{marker}-{n}", reason=reason)

    asyncio.run(work())
    rows = asyncio.run(owner_fetch(database_urls.owner, "392049", "SELECT object_id, reason, actor_sub, action "
                                   "FROM audit_event WHERE object_id LIKE $1 ORDER BY seq", f"{marker}-%"))
    assert [(r["object_id"], r["reason"]) for r in rows] == [(f"{marker}-{n}", reason)
                                                             for n, reason in enumerate(AWKWARD_REASONS)]
    assert {(r["actor_sub"], r["action"]) for r in rows} == {("00000000-test-actor", "break_glass")}
    assert not [q for q in prepared if "audit_event" in q]
    carried = [m for m in messages if "audit_event" in m]
    assert len(carried) == 1 and carried[0].rstrip().endswith("COMMIT;")
    assert asyncio.run(verify_chain(database_urls.owner)).intact


def test_an_event_refused_at_commit_keeps_nothing_of_its_transaction_and_the_connection_serves_the_next(
        database_urls):
    """A row the trail refuses (an object type longer than its column) fails the commit it travels with: nothing
    the transaction wrote is kept, neither its other events nor its data, and the pooled connection is clean for
    the next unit of work, bound to that one's tenant."""
    from core.auth.staff_directory import StaffEntry

    marker = os.urandom(4).hex()

    async def work():
        # one pooled connection: the next unit of work gets the very connection the failed commit used
        async with app_sessions(database_urls.app, max_overflow=0) as sessions:
            with tenant_scope("392049"):
                with pytest.raises(DBAPIError, match="value too long"):
                    async with sessions() as session, session.begin():
                        session.add(StaffEntry(user_sub=f"audit-{marker}", display_name="監査 太郎",
                                               username=f"audit-{marker}"))
                        await session.flush()
                        await record(session, AuditAction.READ, "case", f"{marker}-kept?")
                        await record(session, AuditAction.READ, "x" * 61, f"{marker}-refused")
            with tenant_scope("394017"):
                async with sessions() as session, session.begin():
                    bound = await session.scalar(text("SELECT current_setting('app.tenant_id', true)"))
                    await record(session, AuditAction.READ, "case", f"{marker}-next")
                return bound

    assert asyncio.run(work()) == "394017"
    events = [(tenant, e["object_id"]) for tenant in ("392049", "394017") for e in asyncio.run(owner_fetch(
        database_urls.owner, tenant, "SELECT object_id FROM audit_event WHERE object_id LIKE $1", f"{marker}-%"))]
    assert events == [("394017", f"{marker}-next")]
    staff = asyncio.run(owner_fetch(database_urls.owner, "392049", "SELECT 1 FROM staff_directory WHERE user_sub = $1",
                                    f"audit-{marker}"))
    assert staff == []
