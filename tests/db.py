"""Plain SQL from tests, through asyncpg, as whichever role the URL names."""

from __future__ import annotations

from infra.database.provision import connect


def fetch(url: str, sql: str, *args):
    from tests.conftest import run

    async def go():
        conn = await connect(url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return run(go())
