"""Server-side login state. Both tables are global: they are read before any tenant is known.

The browser only ever holds an opaque random id; the table stores its SHA-256, so a copy of the table cannot be
replayed as a cookie.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base


class WebSession(Base):
    """ログインセッション: one browser login."""

    __tablename__ = "web_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_sub: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    organizations: Mapped[list[str]] = mapped_column(ARRAY(String(6)))
    tenant_id: Mapped[str | None] = mapped_column(String(6))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    keycloak_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    id_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    csrf_token: Mapped[str] = mapped_column(String(64))
    flashes: Mapped[list] = mapped_column(JSONB, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LoginAttempt(Base):
    """An authorization request in flight: state, nonce and PKCE verifier until the callback (10 minutes)."""

    __tablename__ = "oidc_login"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    return_to: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EndedKeycloakSession(Base):
    """A Keycloak session (``sid``) that was logged out: bearer tokens issued for it are refused (migration 0014)."""

    __tablename__ = "ended_keycloak_session"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
