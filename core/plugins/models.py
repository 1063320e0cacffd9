"""Tables of the plugin platform (migration 0005).

Global (no tenant data, on the allow-list in tests/test_tenant_wall.py):

- ``plugin_version``: the catalog of plugin versions the prefecture has seen, and which it approved. A tenant can
  enable a plugin only while the *installed* version is approved.
- ``plugin_vendor_user``: which login (Keycloak user name) speaks for which vendor id in the vendor seat.
- ``plugin_generation``: one row, a counter bumped by a trigger whenever any enablement or approval changes, so
  every instance of the service notices changes made by another one.

Tenant tables (behind row-level security):

- ``tenant_plugin``: one row per plugin a tenant has ever enabled: on/off and the tenant's settings (JSONB).
- ``plugin_error``: containment reports, one row per distinct failure (plugin, version, hook, kind, type, place)
  with a count, for the tenant admin's badge and the vendor seat. No messages, no personal data.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, TenantOwned, new_id


class PluginVersion(Base):
    __tablename__ = "plugin_version"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(80))
    api_versions: Mapped[list[str]] = mapped_column(ARRAY(String(10)))
    description_ja: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | approved | revoked
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PluginVendorUser(Base):
    __tablename__ = "plugin_vendor_user"

    username: Mapped[str] = mapped_column(String(120), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(80), primary_key=True)


class PluginGeneration(Base):
    __tablename__ = "plugin_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class TenantPlugin(TenantOwned, Base):
    __tablename__ = "tenant_plugin"

    plugin_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(64))


class PluginError(TenantOwned, Base):
    __tablename__ = "plugin_error"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    plugin_name: Mapped[str] = mapped_column(String(40))
    plugin_version: Mapped[str] = mapped_column(String(40))
    hook: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    exc_type: Mapped[str] = mapped_column(String(120))
    location: Mapped[str] = mapped_column(String(300))
    occurrences: Mapped[int] = mapped_column(BigInteger, default=1)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
