"""Server-side sessions in PostgreSQL, so any app instance can serve any logged-in browser."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sqlalchemy.dialects.postgresql import insert

from core.auth.models import EndedKeycloakSession, LoginAttempt, WebSession
from core.database import utc_now

LOGIN_ATTEMPT_TTL = dt.timedelta(minutes=10)
ENDED_SID_KEPT = dt.timedelta(days=1)  # far beyond any access token's life (realm: 5 minutes)
TOUCH_AFTER = dt.timedelta(seconds=30)  # the idle clock is written at most this often, not on every request

# What a request needs of its session, in one statement on the driver (asyncpg, no SQLAlchemy: this runs before
# every page, and SQLAlchemy's statement machinery was half its CPU, docs/benchmarks.md, issue 23). Besides the row:
# its tenant's status, whether messages wait for the next page, and whether it has timed out.
_STORED = ("user_sub", "username", "display_name", "organizations", "tenant_id", "roles", "keycloak_sid", "id_token",
           "refresh_token", "access_expires_at", "id_hash", "csrf_token", "created_at", "last_seen_at")
_FOUND = f"""
  SELECT {", ".join(f"s.{c}" for c in _STORED)},
         (SELECT t.status FROM tenant t WHERE t.tenant_id = s.tenant_id) AS tenant_status,
         s.flashes <> '[]'::jsonb AS flashes_pending,
         ($2::timestamptz - s.last_seen_at > $3::interval OR $2::timestamptz - s.created_at > $4::interval) AS expired
  FROM web_session s WHERE s.id_hash = $1"""
_LOAD = f"""
WITH found AS ({_FOUND}),
ended AS (
  DELETE FROM web_session w USING found f WHERE w.id_hash = f.id_hash AND f.expired RETURNING 1
),
touched AS (
  UPDATE web_session w SET last_seen_at = $2::timestamptz FROM found f
  WHERE w.id_hash = f.id_hash AND NOT f.expired AND $2::timestamptz - f.last_seen_at > $5::interval RETURNING 1
)
SELECT * FROM found"""
_LOAD_READ_ONLY = _FOUND  # nothing written
READ_ONLY_TRANSACTION = "25006"


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


@dataclass
class LoadedSession(NewSession):
    """A live web session as ``SessionStore.load`` finds it: what was stored, and what the request needs to know."""

    id_hash: str
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    tenant_status: str | None  # its municipality's, read in the same statement
    flashes_pending: bool  # messages wait for the next page
    expired: bool


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

    async def load(self, raw: str) -> LoadedSession | None:
        """The live session for a cookie value (touching its idle clock), or None if absent or timed out.

        One statement in one round trip, outside any transaction: the row, its tenant's status (the middleware
        needs both for every request), the removal of a timed-out session and, at most every 30 seconds, the
        touch of the idle clock.
        """
        params = (hash_id(raw), utc_now(), self.timeouts.idle, self.timeouts.absolute, TOUCH_AFTER)
        pooled = await self.engine.raw_connection()  # never one already closed (core.database, checkout)
        try:
            driver = pooled.driver_connection  # no transaction: the statement commits on its own
            try:
                row = await driver.fetchrow(_LOAD, *params)
            except asyncpg.PostgresError as exc:
                if exc.sqlstate != READ_ONLY_TRANSACTION:
                    raise
                # A read-only database (maintenance, failover) must not lock readers out: read without the
                # touch (the idle clock waits) and without removing anything.
                row = await driver.fetchrow(_LOAD_READ_ONLY, *params[:4])
        except BaseException:
            # SQLAlchemy is not there to tell a lost connection from a refused statement: the pool opens a new one.
            pooled.invalidate()
            raise
        finally:
            pooled.close()
        if row is None or row["expired"]:
            return None
        return LoadedSession(**row)

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
        """Messages queued for the next page, removed as they are read: one statement, and no row written when
        there are none (callers only ask when the session said some were waiting)."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            taken = (
                await conn.execute(
                    text("UPDATE web_session SET flashes = '[]'::jsonb WHERE id_hash = :key "
                         "AND flashes <> '[]'::jsonb RETURNING old.flashes"),
                    {"key": hash_id(raw)},
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
