"""Tables of the meetings domain (会議): a meeting, its members, its agenda of cases with a decision each.

Every table is a tenant table (``tenant_id`` leads the key and every foreign key); migration 0006 puts each behind
the row-level-security wall.

- ``meeting``: kind (a code of ``core.meetings.kinds``: support_meeting, multilayer_meeting, or a plugin's), when,
  where (place and/or online), the minutes text.
- ``meeting_member``: staff (Keycloak ``sub`` + name) or external participants (name + organisation), the role in
  this meeting (leader/deputy/required/by_topic), an optional municipal role code (``kyosei_roles``), and for a
  confidential meeting (支援会議) the time the member acknowledged the duty of confidentiality.
- ``meeting_agenda_item``: a case on the agenda, the issues listed, the consent decision at the moment it was put
  on, the decision taken, the municipality's 支援決定 after a plan agreement, the item it was carried from.
- ``meeting_seat``: who holds each plugin role (推進員 A–E); migration 0013.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, DateTime, ForeignKeyConstraint, SmallInteger, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, TenantOwned, Timestamps, new_id, utc_now


def _fk(column: str, table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"])


class _Row(TenantOwned):
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


class Meeting(_Row, Timestamps, Base):
    __tablename__ = "meeting"
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    place: Mapped[str | None] = mapped_column(String(200))
    online_url: Mapped[str | None] = mapped_column(String(500))
    minutes: Mapped[str | None] = mapped_column(Text)
    minutes_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    minutes_updated_by: Mapped[str | None] = mapped_column(String(64))
    minutes_finalised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # 確定: no more changes
    minutes_finalised_by: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    businesses: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list, server_default="{}")  # the five 事業


class MeetingMember(_Row, Base):
    __tablename__ = "meeting_member"
    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_sub: Mapped[str | None] = mapped_column(String(64))  # staff; None for an external participant
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str | None] = mapped_column(String(100))
    member_role: Mapped[str] = mapped_column(String(20), default="by_topic")
    duty_role: Mapped[str | None] = mapped_column(String(40))  # e.g. nakatosa's coordinator_a
    confidentiality_ack_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # when recorded
    confidentiality_ack_method: Mapped[str | None] = mapped_column(String(10))  # self | written | oral
    confidentiality_ack_on: Mapped[dt.date | None] = mapped_column(Date)  # the day the member acknowledged
    confidentiality_ack_by: Mapped[str | None] = mapped_column(String(64))  # the member, or the chair for externals
    __table_args__ = (_fk("meeting_id", "meeting"),)


class AgendaItem(_Row, Base):
    __tablename__ = "meeting_agenda_item"
    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(SmallInteger, default=1)
    issues: Mapped[str | None] = mapped_column(Text)
    sharing_basis: Mapped[str] = mapped_column(String(500))  # check_sharing's reason at the moment it was put on
    decision: Mapped[str | None] = mapped_column(String(30))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # 支援決定: the municipality's decision after the plan was agreed here (who and when)
    support_decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    support_decided_by: Mapped[str | None] = mapped_column(String(64))
    support_decided_by_name: Mapped[str | None] = mapped_column(String(255))
    carried_from_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the previous meeting's item that referred it
    __table_args__ = (_fk("meeting_id", "meeting"), _fk("case_id", "support_case"),
                      _fk("carried_from_id", "meeting_agenda_item"))


class MeetingSeat(TenantOwned, Base):
    """Who holds a plugin role's seat (e.g. 中土佐町's 包括化推進員A): meetings of a kind are seated from here."""

    __tablename__ = "meeting_seat"
    duty_role: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_sub: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    assigned_by: Mapped[str] = mapped_column(String(64))
