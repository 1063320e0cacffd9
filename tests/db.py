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


def empty_database(superuser_url: str, owner_url: str, app_url: str, name: str):
    """A second, empty database ``name`` on the same server, set up as provisioning does; its ``DatabaseUrls``."""
    from infra.database.provision import APP_ROLE, OWNER_ROLE, DatabaseUrls, with_database
    from tests.conftest import run

    async def create():
        conn = await connect(with_database(superuser_url, "postgres"))
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE} TEMPLATE template0 ENCODING 'UTF8' "
                               "LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C.UTF-8'")
            await conn.execute(f"GRANT CONNECT ON DATABASE {name} TO {APP_ROLE}")
        finally:
            await conn.close()
        db = await connect(with_database(superuser_url, name))
        try:
            await db.execute(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
            await db.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        finally:
            await db.close()

    run(create())
    return DatabaseUrls(owner=with_database(owner_url, name), app=with_database(app_url, name))
