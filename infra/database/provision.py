"""Roles and database: the owner that runs migrations and the application role that owns nothing.

The application role has no SUPERUSER, no BYPASSRLS and owns no table, so PostgreSQL's row-level security applies
to every query the service makes (the tenant wall, see core/tenancy).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

OWNER_ROLE = "kyosei_owner"
APP_ROLE = "kyosei_app"
# Owns only the name-search function (migration 0019x): a role without LOGIN, not a superuser, no BYPASSRLS; the
# owner is a member so its migrations can hand the function over. See docs/text.md, "Name search under RLS".
NAME_SEARCH_ROLE = "kyosei_name_search"
NAME_SEARCH_ATTRIBUTES = "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"
DATABASE = "kyosei"


class DatabaseUnreachable(RuntimeError):
    """No PostgreSQL server answers at the configured address."""


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str  # runs migrations, owns the schema
    app: str  # what the service connects as

    @property
    def app_role(self) -> str:
        return urlsplit(self.app).username or APP_ROLE


def with_user(url: str, user: str, password: str | None = None, database: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = quote(user, safe="")
    if password:
        netloc += ":" + quote(password, safe="")
    netloc += "@" + (f"[{host}]" if ":" in host else host)
    if parts.port:
        netloc += f":{parts.port}"
    path = f"/{database}" if database else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def plain_url(url: str) -> str:
    """asyncpg and libpq want postgresql://, SQLAlchemy spells it postgresql+asyncpg://."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def describe(url: str) -> str:
    """host:port/db without credentials, for messages."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


async def connect(url: str, timeout: float = 5) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(plain_url(url), timeout=timeout)
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as exc:
        raise DatabaseUnreachable(f"データベースに接続できません / database unreachable at {describe(url)}: {exc}") from None


async def provision_embedded(superuser_url: str, app_password: str) -> DatabaseUrls:
    """Create both roles and the database on a fresh embedded cluster; a no-op when they exist."""
    conn = await connect(superuser_url)
    try:
        for role, attributes in (
            (OWNER_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
            (APP_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"),
        ):
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if not exists:
                await conn.execute(f"CREATE ROLE {role} {attributes}")
        await _ensure_name_search_role(conn, OWNER_ROLE)
        await conn.execute(f"ALTER ROLE {APP_ROLE} PASSWORD {quote_literal(app_password)}")
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            # The builtin C.UTF-8 provider classifies kana and kanji as letters, so pg_trgm indexes them.
            await conn.execute(
                f"CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE} TEMPLATE template0 ENCODING 'UTF8' "
                "LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C.UTF-8'"
            )
    finally:
        await conn.close()
    db_conn = await connect(with_user(superuser_url, "postgres", database=DATABASE))
    try:
        await db_conn.execute(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
        await db_conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        await db_conn.execute(f"REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC")
        await db_conn.execute(f"GRANT CONNECT ON DATABASE {DATABASE} TO {APP_ROLE}")
        await db_conn.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    finally:
        await db_conn.close()
    return DatabaseUrls(
        owner=with_user(superuser_url, OWNER_ROLE, database=DATABASE),
        app=with_user(superuser_url, APP_ROLE, app_password, database=DATABASE),
    )


async def ensure_app_role(owner_url: str, app_url: str | None, app_password: str) -> DatabaseUrls:
    """For an external server: derive the app URL and create the app role when the owner may create roles."""
    derived = app_url or with_user(owner_url, APP_ROLE, app_password)
    role = urlsplit(derived).username or APP_ROLE
    conn = await connect(owner_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if not exists:
            can_create = await conn.fetchval("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
            if not can_create:
                raise RuntimeError(
                    f"application role {role!r} does not exist and the owner role may not create it; "
                    "create it (LOGIN NOSUPERUSER NOBYPASSRLS) or set DATABASE_APP_URL"
                )
            await conn.execute(
                f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT PASSWORD {quote_literal(app_password)}"
            )
        owner = await conn.fetchval("SELECT current_user")
        if await conn.fetchval("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"):
            await _ensure_name_search_role(conn, owner)
        db = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{db}" TO {role}')
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    finally:
        await conn.close()
    return DatabaseUrls(owner=owner_url, app=derived)


async def _ensure_name_search_role(conn: asyncpg.Connection, owner: str) -> None:
    """The role that owns the name-search function; the owner may hand functions to it (membership, SET only)."""
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", NAME_SEARCH_ROLE):
        await conn.execute(f"CREATE ROLE {NAME_SEARCH_ROLE} {NAME_SEARCH_ATTRIBUTES}")
    await conn.execute(f'GRANT {NAME_SEARCH_ROLE} TO "{owner}" WITH INHERIT FALSE, SET TRUE')


async def check_app_role_is_walled(app_url: str) -> None:
    """Refuse to serve through a role that RLS would not apply to."""
    conn = await connect(app_url)
    try:
        row = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        owned = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
        )
    finally:
        await conn.close()
    if row["rolsuper"] or row["rolbypassrls"] or owned:
        raise RuntimeError(
            "the application database role must not be a superuser, must not have BYPASSRLS and must own no table"
        )


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
