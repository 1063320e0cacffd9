"""Global tables of the registry: which municipalities exist, and which of them are tenants (onboarded)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base


class TenantStatus(StrEnum):
    ACTIVE = "active"  # 利用中
    SUSPENDED = "suspended"  # 利用停止: logins refused, data kept
    OFFBOARDED = "offboarded"  # 利用終了: data exported and deleted


class MunicipalityRow(Base):
    """市町村 in the registry (global, read-only for the app)."""

    __tablename__ = "municipality"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kana: Mapped[str] = mapped_column(String(80))
    romaji: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{6}$'", name="code_format"),
        CheckConstraint("kind IN ('city','town','village','prefecture')", name="kind"),
    )


class Tenant(Base):
    """A municipality (or the prefecture) that uses Kyosei. ``tenant_id`` everywhere else is this code."""

    __tablename__ = "tenant"

    tenant_id: Mapped[str] = mapped_column(String(6), ForeignKey("municipality.code"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=TenantStatus.ACTIVE)
    onboarded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("status IN ('active','suspended','offboarded')", name="status"),)
