"""audit_event: one row per read of a personal record and per change.

The application role may only INSERT. A trigger (running as the owner) numbers each tenant's rows and chains
them: ``hash = sha256(prev_hash || canonical fields)``. ``kyosei audit verify`` recomputes the chain.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, FetchedValue, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"

    tenant_id: Mapped[str] = mapped_column(String(6), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # numbered by the trigger
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_sub: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), server_default=FetchedValue())
    hash: Mapped[str] = mapped_column(String(64), server_default=FetchedValue())
