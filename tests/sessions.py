"""Open a real server-side session for a test user, the way the login callback does after Keycloak.

Tests that are about something other than login use this instead of a browser round trip; the login itself is
tested against the real Keycloak in tests/test_keycloak_*.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from core.auth.oidc import scoped_roles
from core.auth.sessions import NewSession, SessionStore, SessionTimeouts
from core.database import create_engine, utc_now
from infra.database.provision import DatabaseUrls


@dataclass
class TestSession:
    raw: str
    csrf: str
    sub: str
    tenant_id: str | None


def open_session(
    urls: DatabaseUrls,
    tenant_id: str | None = "394017",
    roles: tuple[str, ...] = ("staff",),
    organizations: tuple[str, ...] | None = None,
    display_name: str = "山本 花子",
    sub: str | None = None,
) -> TestSession:
    sub = sub or str(uuid.uuid4())

    async def create():
        engine = create_engine(urls.app, pool_size=1)
        try:
            store = SessionStore(engine, SessionTimeouts(dt.timedelta(minutes=30), dt.timedelta(hours=10)))
            return await store.create(
                NewSession(
                    user_sub=sub,
                    username=f"user-{sub[:8]}",
                    display_name=display_name,
                    organizations=list(organizations if organizations is not None else ((tenant_id,) if tenant_id else ())),
                    tenant_id=tenant_id,
                    roles=scoped_roles(tenant_id, roles),  # per municipality, as the login stores them
                    keycloak_sid=None,
                    id_token="not-a-real-id-token",
                    refresh_token=None,
                    access_expires_at=utc_now() + dt.timedelta(hours=1),
                )
            )
        finally:
            await engine.dispose()

    from tests.conftest import run

    raw, csrf = run(create())
    return TestSession(raw=raw, csrf=csrf, sub=sub, tenant_id=tenant_id)


def login(client, session: TestSession) -> TestSession:
    client.cookies.set("kyosei_session", session.raw)
    return session


def as_user(client, session: TestSession) -> TestSession:
    """Log ``client`` in as ``session`` for unsafe requests too (its CSRF token in the header)."""
    login(client, session)
    client.headers["X-CSRF-Token"] = session.csrf
    return session


def list_in_directory(urls: DatabaseUrls, session: TestSession, display_name: str, kana: str | None = None,
                      username: str | None = None) -> None:
    """Put the test user in their tenant's staff directory, as their first sign-in would."""
    from core.auth.staff_directory import record_sign_in
    from tests.conftest import run

    async def go():
        engine = create_engine(urls.app, pool_size=1)
        try:
            await record_sign_in(engine, session.tenant_id or "", sub=session.sub,
                                 username=username or f"user-{session.sub[:8]}", display_name=display_name, kana=kana)
        finally:
            await engine.dispose()

    run(go())
