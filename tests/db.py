"""Plain SQL from tests, through asyncpg, as whichever role the URL names."""

from __future__ import annotations

from infra.database.provision import connect


async def owner_fetch(url: str, tenant: str | None, sql: str, *args):
    """Rows of ``sql``; with ``tenant``, inside a transaction bound to it (every role meets the wall, the owner too)."""
    conn = await connect(url)
    try:
        async with conn.transaction():
            if tenant is not None:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args, tenant: str | None = None):
    """``owner_fetch`` from synchronous test code."""
    from tests.conftest import run

    return run(owner_fetch(url, tenant, sql, *args))
