"""職員名簿 (staff directory): the people who sign in for a tenant, so others can pick them by name.

Meeting members used to be typed as Keycloak ``sub`` values; nobody knows those. Instead, each sign-in for a
municipality upserts one row (tenant, sub, name, reading, user name) into ``staff_directory``, a tenant table behind
the row-level-security wall. The write runs inside the tenant wall: its transaction first binds ``app.tenant_id``,
so PostgreSQL refuses a row of any other tenant.

- ``record_sign_in``: called by the login callback and the tenant choice (core/auth/routes.py), one short
  transaction; a failure is logged and never blocks the login (the directory is a convenience, the session is not).
- ``ensure_listed``: inside a unit of work, for a signed-in user the directory does not know yet (e.g. a session
  that began before this table existed), so scheduling a meeting never depends on it.
- ``find`` / ``search``: the member picker (by 漢字, かな in hiragana or katakana, or user name; partial match).

The reading (かな) comes from the OpenID Connect language-tagged claims when the identity provider sends them
(``family_name#ja-Kana-JP`` …, see ``core.auth.oidc.kana_name_of``); otherwise a known reading is kept.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy import DateTime, String, Text, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.auth.principal import Principal
from core.database import Base, TenantOwned
from core.text_rules import like_pattern, search_key

log = structlog.get_logger("kyosei.auth")

SEARCH_LIMIT = 20
QUERY_MAX = 50


class StaffEntry(TenantOwned, Base):
    """One person who signed in for this tenant (migration 0012)."""

    __tablename__ = "staff_directory"

    user_sub: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255))
    kana: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(String(255))
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # None: seeded, never signed in
    # search keys (core.text_rules.search_key); the upserts below are Core statements, so they pass them themselves
    display_name_key: Mapped[str] = mapped_column(Text, default="")
    kana_key: Mapped[str] = mapped_column(Text, default="")
    __search_keys__ = {"display_name_key": "display_name", "kana_key": "kana"}


def _values(tenant_id: str, sub: str, username: str, display_name: str, kana: str | None = None) -> dict:
    display_name = (display_name or username or sub)[:255]
    kana = kana[:255] if kana else None
    return {"tenant_id": tenant_id, "user_sub": sub[:64], "username": (username or sub)[:255],
            "display_name": display_name, "display_name_key": search_key(display_name), "kana": kana,
            "kana_key": search_key(kana), "last_seen_at": func.now()}


async def record_sign_in(engine: AsyncEngine, tenant_id: str, *, sub: str, username: str, display_name: str,
                         kana: str | None = None) -> bool:
    """Upsert the signed-in user into ``tenant_id``'s directory, bound to that tenant. False if it failed."""
    from tenants.registry import PREFECTURE_CODE

    if tenant_id == PREFECTURE_CODE:
        return False  # prefecture staff never sit in a municipality's meetings
    stmt = insert(StaffEntry).values(**_values(tenant_id, sub, username, display_name, kana))
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "user_sub"],
        set_={"username": stmt.excluded.username, "display_name": stmt.excluded.display_name,
              "display_name_key": stmt.excluded.display_name_key,
              # an identity provider that sends no reading must not erase one we know
              "kana": func.coalesce(stmt.excluded.kana, StaffEntry.kana),
              "kana_key": func.coalesce(func.nullif(stmt.excluded.kana_key, ""), StaffEntry.kana_key),
              "last_seen_at": stmt.excluded.last_seen_at},
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})
            await conn.execute(stmt)
    except SQLAlchemyError as exc:  # e.g. a read-only database during maintenance: the login itself goes on
        log.warning("staff directory not updated at sign-in", tenant=tenant_id, error=type(exc).__name__)
        return False
    return True


async def ensure_listed(session: AsyncSession, principal: Principal) -> None:
    """List a signed-in user of the bound tenant if missing (an existing row stays as the sign-in wrote it)."""
    values = _values(principal.tenant_id or "", principal.sub, principal.username, principal.display_name)
    await session.execute(insert(StaffEntry).values(**values)
                          .on_conflict_do_nothing(index_elements=["tenant_id", "user_sub"]))


async def find(session: AsyncSession, user_sub: str) -> StaffEntry | None:
    return await session.scalar(select(StaffEntry).where(StaffEntry.user_sub == user_sub))


async def search(session: AsyncSession, query: str, *, limit: int = SEARCH_LIMIT) -> list[StaffEntry]:
    """Entries whose name, reading or user name contains ``query``, compared by search key (core.text_rules):
    spaces, width, かな script and 異体字 do not matter."""
    key = search_key((query or "")[:QUERY_MAX])
    if not key:
        return []
    pattern = like_pattern(key)
    stmt = (select(StaffEntry)
            .where(or_(StaffEntry.display_name_key.like(pattern, escape="\\"),
                       StaffEntry.kana_key.like(pattern, escape="\\"),
                       StaffEntry.username.ilike(like_pattern(query.strip()), escape="\\")))
            .order_by(StaffEntry.kana.nulls_last(), StaffEntry.display_name, StaffEntry.user_sub)
            .limit(limit))
    return list(await session.scalars(stmt))
