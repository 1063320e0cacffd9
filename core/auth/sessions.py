"""Server-side sessions in PostgreSQL, so any app instance can serve any logged-in browser."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from sqlalchemy.dialects.postgresql import insert

from core.auth.models import EndedKeycloakSession, LoginAttempt, WebSession
from core.database import utc_now

LOGIN_ATTEMPT_TTL = dt.timedelta(minutes=10)
ENDED_SID_KEPT = dt.timedelta(days=1)  # far beyond any access token's life (realm: 5 minutes)


def hash_id(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionTimeouts:
    idle: dt.timedelta
    absolute: dt.timedelta


@dataclass
class NewSession:
    user_sub: str
    username: str
    display_name: str
    organizations: list[str]
    tenant_id: str | None
    roles: list[str]
    keycloak_sid: str | None
    id_token: str
    refresh_token: str | None
    access_expires_at: dt.datetime


class SessionStore:
    def __init__(self, engine: AsyncEngine, timeouts: SessionTimeouts):
        self.engine = engine
        self.timeouts = timeouts

    # -- login attempts -----------------------------------------------------------------------------------------
    async def begin_login(self, *, nonce: str, code_verifier: str, return_to: str) -> str:
        state = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(LoginAttempt).where(LoginAttempt.created_at < utc_now() - LOGIN_ATTEMPT_TTL)
            )
            await conn.execute(
                LoginAttempt.__table__.insert().values(
                    state=state, nonce=nonce, code_verifier=code_verifier, return_to=return_to
                )
            )
        return state

    async def take_login(self, state: str) -> LoginAttempt | None:
        """The attempt for ``state``, removed so it can be used once; None when unknown or expired."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    delete(LoginAttempt).where(LoginAttempt.state == state).returning(*LoginAttempt.__table__.c)
                )
            ).first()
        if row is None or row.created_at < utc_now() - LOGIN_ATTEMPT_TTL:
            return None
        return row

    # -- sessions -----------------------------------------------------------------------------------------------
    async def create(self, new: NewSession) -> tuple[str, str]:
        """Store a session; returns (cookie value, csrf token). Only the hash of the cookie value is stored."""
        raw = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await conn.execute(
                WebSession.__table__.insert().values(id_hash=hash_id(raw), csrf_token=csrf, flashes=[], **new.__dict__)
            )
        return raw, csrf

    async def load(self, raw: str) -> WebSession | None:
        """The live session for a cookie value (touching its idle clock), or None if absent or timed out."""
        now = utc_now()
        key = hash_id(raw)
        async with self.engine.begin() as conn:
            # the tenant's status rides along: the middleware needs both for every request, in one round trip
            tenant_status = select(text("status")).select_from(text("tenant")).where(
                text("tenant.tenant_id = web_session.tenant_id")).scalar_subquery().label("tenant_status")
            row = (await conn.execute(select(*WebSession.__table__.c, tenant_status)
                                      .where(WebSession.id_hash == key))).first()
            if row is None:
                return None
            if now - row.last_seen_at > self.timeouts.idle or now - row.created_at > self.timeouts.absolute:
                await conn.execute(delete(WebSession).where(WebSession.id_hash == key))
                return None
        if now - row.last_seen_at > dt.timedelta(seconds=30):  # don't write on every request
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(update(WebSession).where(WebSession.id_hash == key).values(last_seen_at=now))
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != "25006":
                    raise
                # A read-only database (maintenance, failover) must not lock readers out; the idle clock waits.
        return row

    async def update(self, raw: str, **values) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(WebSession).where(WebSession.id_hash == hash_id(raw)).values(**values))

    async def add_flash(self, raw: str, level: str, message: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(WebSession)
                .where(WebSession.id_hash == hash_id(raw))
                .values(flashes=WebSession.flashes.op("||")(func.jsonb_build_array(func.jsonb_build_object("level", level, "message", message))))
            )

    async def pop_flashes(self, raw: str) -> list[dict]:
        """Messages queued for the next page, removed as they are read (no write when there are none)."""
        key = hash_id(raw)
        async with self.engine.connect() as conn:
            pending = (await conn.execute(select(WebSession.flashes).where(WebSession.id_hash == key))).scalar()
        if not pending:
            return []
        async with self.engine.begin() as conn:
            taken = (
                await conn.execute(
                    text("UPDATE web_session SET flashes = '[]'::jsonb WHERE id_hash = :key RETURNING old.flashes"),
                    {"key": key},
                )
            ).scalar()
        return list(taken or [])

    async def delete(self, raw: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(WebSession).where(WebSession.id_hash == hash_id(raw)))

    async def end_keycloak_session(self, sid: str | None) -> None:
        """Remember that Keycloak session ``sid`` ended, so its access tokens (valid a few more minutes by their
        own clock) are refused; entries older than ``ENDED_SID_KEPT`` are pruned, no token outlives them."""
        if not sid:
            return
        async with self.engine.begin() as conn:
            await conn.execute(delete(EndedKeycloakSession)
                               .where(EndedKeycloakSession.ended_at < utc_now() - ENDED_SID_KEPT))
            await conn.execute(insert(EndedKeycloakSession).values(sid=sid[:64]).on_conflict_do_nothing())

    async def keycloak_session_ended(self, sid: str | None) -> bool:
        if not sid:
            return False
        async with self.engine.connect() as conn:
            return (await conn.execute(select(EndedKeycloakSession.sid)
                                       .where(EndedKeycloakSession.sid == sid[:64]))).first() is not None

    async def delete_by_keycloak(self, *, sid: str | None, sub: str | None) -> int:
        """Back-channel logout: end every local session of that Keycloak session (or of that user)."""
        condition = WebSession.keycloak_sid == sid if sid else WebSession.user_sub == sub
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(WebSession).where(condition))
        return result.rowcount
