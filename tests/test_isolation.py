"""Isolation suite: over every route of the app, a session of tenant A asks for, changes and deletes objects of
tenant B. Answers are 403/404 (never B's data) and B's rows are unchanged. Routes come from the app's own route
table, so a route added tomorrow is covered tomorrow.
"""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from tests.isolation import OBJECT_MAKERS, is_tenantless
from tests.sessions import login, open_session

TENANT_A, TENANT_B = "394017", "392049"
ALL_ROLES = ("staff", "coordinator", "tenant-admin", "auditor")
PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}")


def tenant_routes(app) -> list[tuple[str, str]]:
    routes = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", ())):
            if method in ("HEAD", "OPTIONS") or is_tenantless(route.path):
                continue
            routes.append((method, route.path))
    return routes


async def snapshot_tenant(superuser_url: str, tenant_id: str) -> dict[str, str]:
    """A digest of every row of every tenant table for one tenant (the superuser sees through RLS)."""
    from infra.database.provision import DATABASE, connect, with_user

    conn = await connect(with_user(superuser_url, "postgres", database=DATABASE))
    try:
        tables = [
            r["table_name"]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND column_name = 'tenant_id' AND table_name NOT IN ('tenant', 'web_session')"
            )
        ]
        digests = {}
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS r FROM "{table}" t WHERE tenant_id = $1 ORDER BY 1', tenant_id)
            digests[table] = hashlib.sha256("\n".join(r["r"] for r in rows).encode()).hexdigest()
        return digests
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def b_objects(database_urls):
    return {name: make(database_urls, TENANT_B) for name, make in OBJECT_MAKERS.items()}


def test_every_tenant_route_parameter_has_a_cross_tenant_object(app):
    missing = sorted(
        {f"{path} {{{name}}}" for _, path in tenant_routes(app) for name in PARAM.findall(path) if name not in OBJECT_MAKERS}
    )
    assert missing == [], "register these in tests/isolation.py so the isolation suite can cover them"


def test_tenant_a_cannot_read_change_or_delete_tenant_b(app, client, database_urls, pg_server, b_objects):
    before = asyncio.run(snapshot_tenant(pg_server.superuser_url, TENANT_B))
    session = login(client, open_session(database_urls, TENANT_A, ALL_ROLES))
    # Scan bodies only for B's object ids (UUIDs); short public identifiers such as a year or a municipality
    # code may legitimately appear anywhere and would match by chance.
    b_ids = {str(v) for v in b_objects.values() if len(str(v)) >= 32}
    leaks = []
    for method, path in tenant_routes(app):
        params = PARAM.findall(path)
        concrete = PARAM.sub(lambda m: str(b_objects[m.group(1)]), path)
        kwargs = {"headers": {"X-CSRF-Token": session.csrf}, "follow_redirects": False}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = {}
        response = client.request(method, concrete, **kwargs)
        if params:
            if response.status_code not in (400, 403, 404, 405, 422):
                leaks.append(f"{method} {path} answered {response.status_code} for tenant B's object")
        body = response.text
        for b_id in b_ids:
            if b_id in body:
                leaks.append(f"{method} {path} shows tenant B's id {b_id}")
        assert response.status_code < 500, f"{method} {concrete} -> {response.status_code}"
    after = asyncio.run(snapshot_tenant(pg_server.superuser_url, TENANT_B))
    assert leaks == []
    assert after == before, "tenant B's rows changed"


def test_a_pooled_connection_carries_no_tenant_after_a_request(app, client, database_urls):
    """set_config(..., true) is transaction-local: once a tenant's transaction ends, the connection forgets it."""
    from sqlalchemy import text

    from core.tenancy.context import tenant_scope

    login(client, open_session(database_urls, TENANT_A))
    assert client.get("/").status_code == 200

    async def use_then_inspect_the_pool():
        with tenant_scope(TENANT_A):
            async with app.state.sessions() as session, session.begin():
                inside = (await session.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
        # Check out every connection the pool holds at once (plain connections: no tenant hook runs).
        engine = app.state.engine
        connections = [await engine.connect() for _ in range(engine.pool.checkedin() or 1)]
        try:
            return inside, [
                (await c.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar() for c in connections
            ]
        finally:
            for c in connections:
                await c.close()

    inside, pooled = client.blocking_portal.call(use_then_inspect_the_pool)
    assert inside == TENANT_A
    assert pooled and all(value in (None, "") for value in pooled)
