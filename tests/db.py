"""Plain SQL from tests, through asyncpg, as whichever role the URL names."""

from __future__ import annotations

from infra.database.provision import connect


def fetch(url: str, sql: str, *args, tenant: str | None = None):
    """Rows of ``sql``; with ``tenant``, inside a transaction bound to it (every role meets the wall, the owner too)."""
    from tests.conftest import run

    async def go():
        conn = await connect(url)
        try:
            async with conn.transaction():
                if tenant is not None:
                    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
                return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return run(go())
