"""Tables of the programs domain (事業・拠点, migration 0007). Every table is a tenant table: ``(tenant_id, id)``.

- ``program_hub``: 拠点・会場 (あったかふれあいセンター, an activity hub, a 居場所, a hall).
- ``program``: a participation (参加支援) or community-building (地域づくり) programme at a hub: purpose, target
  group, optional age range, ``drop_in`` for places counted by anonymous headcount (みんなの居場所).
- ``program_slot``: a weekly recurring slot (weekdays, start–end, grade/age band label).
- ``program_session``: one dated occurrence generated from a slot (holidays skipped); may be cancelled with a
  reason; carries the anonymous headcount of the day.
- ``program_enrolment``: a resident enrolled in a programme (name and kana entered at enrolment; ``case_id`` may
  name a 相談ケース but has *no* foreign key, so this domain does not depend on the cases domain), with the facts
  the eligibility rules saw.
- ``program_attendance``: who of the enrolled came to a session.
- ``program_partner``: volunteers (ボランティア), cooperating businesses (協力事業者) and agencies (連携団体).
- ``community_activity`` and ``community_activity_note``: resident activities and their growth log (who started
  it, which hub/programme/activity it grew from, what it became).
- ``community_resource``: the 地域資源 directory, searchable by field and area (地区).

Catalog rows a plugin installed carry ``source`` (the plugin's name) and ``code`` (its stable code), so
installing again updates them instead of adding duplicates.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, TenantOwned, Timestamps, new_id


def _fk(column: str, table: str, name: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], name=name)


class Hub(TenantOwned, Timestamps, Base):
    """拠点・会場."""

    __tablename__ = "program_hub"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(60), default="")  # 地区
    address: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(1000), default="")
    source: Mapped[str] = mapped_column(String(40), default="")  # plugin that installed it, "" = entered by hand
    code: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("tenant_id", "source", "code"),)


class Program(TenantOwned, Timestamps, Base):
    """事業・プログラム."""

    __tablename__ = "program"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # participation (参加支援) | community (地域づくり)
    field: Mapped[str] = mapped_column(String(20), default="other")
    purpose: Mapped[str] = mapped_column(String(1000), default="")
    target_group: Mapped[str] = mapped_column(String(1000), default="")
    content: Mapped[str] = mapped_column(String(1000), default="")
    drop_in: Mapped[bool] = mapped_column(Boolean, default=False)
    min_age: Mapped[int | None] = mapped_column(SmallInteger)
    max_age: Mapped[int | None] = mapped_column(SmallInteger)
    capacity: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(40), default="")
    code: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("tenant_id", "source", "code"), _fk("hub_id", "program_hub", "fk_program_hub"))


class Slot(TenantOwned, Timestamps, Base):
    """毎週の枠: weekdays 0=Mon … 6=Sun."""

    __tablename__ = "program_slot"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    program_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    band_label: Mapped[str] = mapped_column(String(100), default="")  # 小学3～4年生, 65歳以上 …
    note: Mapped[str] = mapped_column(String(200), default="")  # 国語・算数 …
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    code: Mapped[str | None] = mapped_column(String(60))  # catalog slot key, for idempotent installs

    __table_args__ = (_fk("program_id", "program", "fk_program_slot_program"),)


class ProgramSession(TenantOwned, Timestamps, Base):
    """開催回."""

    __tablename__ = "program_session"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    program_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    slot_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    held_on: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    band_label: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default="scheduled")  # scheduled | cancelled
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    anonymous_headcount: Mapped[int] = mapped_column(Integer, default=0)
    attendance_recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attendance_recorded_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("tenant_id", "slot_id", "held_on"),
        _fk("program_id", "program", "fk_program_session_program"),
        _fk("slot_id", "program_slot", "fk_program_session_slot"),
    )


class Enrolment(TenantOwned, Timestamps, Base):
    """参加登録."""

    __tablename__ = "program_enrolment"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    program_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_name: Mapped[str] = mapped_column(String(100))
    person_kana: Mapped[str] = mapped_column(String(100), default="")
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # 相談ケース; deliberately no foreign key (see module)
    applicant: Mapped[dict] = mapped_column(JSONB, default=dict)
    eligibility_rules: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    enrolled_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (_fk("program_id", "program", "fk_program_enrolment_program"),)


class Attendance(TenantOwned, Base):
    """出席."""

    __tablename__ = "program_attendance"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC))

    __table_args__ = (
        UniqueConstraint("tenant_id", "session_id", "enrolment_id"),
        _fk("session_id", "program_session", "fk_program_attendance_session"),
        _fk("enrolment_id", "program_enrolment", "fk_program_attendance_enrolment"),
    )


class Partner(TenantOwned, Timestamps, Base):
    """ボランティア・協力事業者・連携団体."""

    __tablename__ = "program_partner"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # volunteer | business | agency
    pillar: Mapped[str] = mapped_column(String(20))  # participation | community
    name: Mapped[str] = mapped_column(String(100))
    kana: Mapped[str] = mapped_column(String(100), default="")
    field: Mapped[str] = mapped_column(String(20), default="other")
    area: Mapped[str] = mapped_column(String(60), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(1000), default="")
    hub_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    program_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    since: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        _fk("hub_id", "program_hub", "fk_program_partner_hub"),
        _fk("program_id", "program", "fk_program_partner_program"),
    )


class CommunityActivity(TenantOwned, Timestamps, Base):
    """地域の活動 (住民主体の居場所、子ども食堂 …) and where it grew from."""

    __tablename__ = "community_activity"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(20), default="other")
    area: Mapped[str] = mapped_column(String(60), default="")
    started_by: Mapped[str] = mapped_column(String(200), default="")  # a volunteer or group, in words
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    origin_hub_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    origin_program_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    grew_from_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the activity this one grew out of
    description: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | ended

    __table_args__ = (
        _fk("origin_hub_id", "program_hub", "fk_community_activity_hub"),
        _fk("origin_program_id", "program", "fk_community_activity_program"),
        _fk("grew_from_id", "community_activity", "fk_community_activity_grew_from"),
    )


class ActivityNote(TenantOwned, Base):
    """活動の経過 (a dated line of the growth log)."""

    __tablename__ = "community_activity_note"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    activity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    noted_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(2000))
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC))

    __table_args__ = (_fk("activity_id", "community_activity", "fk_community_activity_note_activity"),)


class Resource(TenantOwned, Timestamps, Base):
    """地域資源."""

    __tablename__ = "community_resource"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    kana: Mapped[str] = mapped_column(String(100), default="")
    field: Mapped[str] = mapped_column(String(20))
    area: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(2000), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # search keys (core.text_rules.search_key), kept by core.database on every write; trigram-indexed (0016)
    name_key: Mapped[str] = mapped_column(Text, default="")
    kana_key: Mapped[str] = mapped_column(Text, default="")
    description_key: Mapped[str] = mapped_column(Text, default="")
    __search_keys__ = {"name_key": "name", "kana_key": "kana", "description_key": "description"}
