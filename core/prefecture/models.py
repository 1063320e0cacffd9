"""Tables of the prefecture console. Roadmap, schedule and questionnaires are global (the prefecture writes, no
personal data); a survey's delivery and answers are tenant rows behind the wall (see migration 0009)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, TenantOwned, new_id


class Phase(StrEnum):
    NOT_STARTED = "not_started"
    CONSIDERING = "considering"
    PREPARATION = "preparation"
    IMPLEMENTATION = "implementation"


PHASE_LABELS = {
    Phase.NOT_STARTED: "未着手",
    Phase.CONSIDERING: "検討中",
    Phase.PREPARATION: "移行準備事業",
    Phase.IMPLEMENTATION: "重層的支援体制整備事業",
}


class RoadmapPhase(Base):
    """A municipality's phase towards the 重層的支援体制整備事業 in one 年度."""

    __tablename__ = "roadmap_phase"

    municipality_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    phase: Mapped[str] = mapped_column(String(20))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RoadmapPlan(Base):
    """The 年度 in which a municipality revises its 地域福祉計画 (community welfare plan)."""

    __tablename__ = "roadmap_plan"

    municipality_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    revision_fiscal_year: Mapped[int | None] = mapped_column(SmallInteger)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EventKind(StrEnum):
    BLOCK_MEETING = "block_meeting"
    SURVEY = "survey"
    FOUR_PARTY = "four_party"
    INFO_EXCHANGE = "info_exchange"
    SEMINAR = "seminar"
    GUIDE = "guide"
    VISIT = "visit"
    OTHER = "other"


EVENT_KIND_LABELS = {
    EventKind.BLOCK_MEETING: "ブロック会議",
    EventKind.SURVEY: "実態調査",
    EventKind.FOUR_PARTY: "四者協議",
    EventKind.INFO_EXCHANGE: "情報交換会",
    EventKind.SEMINAR: "セミナー",
    EventKind.GUIDE: "手引書",
    EventKind.VISIT: "訪問支援",
    EventKind.OTHER: "その他",
}


class BackofficeEvent(Base):
    """One event of the prefecture's 後方支援事業 (back-office support programme)."""

    __tablename__ = "backoffice_event"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    participants: Mapped[str] = mapped_column(Text, default="")
    materials: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QuestionKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"


QUESTION_KIND_LABELS = {QuestionKind.TEXT: "文章", QuestionKind.NUMBER: "数値", QuestionKind.CHOICE: "単一選択"}
SURVEY_STATUS_LABELS = {"draft": "下書き", "sent": "送付済み", "closed": "締切"}


class PrefectureSurvey(Base):
    """実態調査: a questionnaire the prefecture sends to municipalities. Must not ask for personal data."""

    __tablename__ = "prefecture_survey"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SurveyQuestion(Base):
    __tablename__ = "prefecture_survey_question"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prefecture_survey.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(300))
    choices: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    prefill: Mapped[str | None] = mapped_column(String(40))  # core.prefecture.survey_items.PREFILLS key


class SurveyRecipient(TenantOwned, Base):
    """A survey delivered to a municipality (tenant row): the tenant marks it submitted."""

    __tablename__ = "survey_recipient"

    survey_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[str | None] = mapped_column(String(64))


class SurveyAnswer(TenantOwned, Base):
    """One municipality's answer to one question (tenant row). Counts and facts about the system, never people."""

    __tablename__ = "survey_answer"

    survey_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    question_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SurveyInvitation(TenantOwned, Base):
    """A one-time link to a survey for a municipality that is not a tenant (the prefecture's own row, 390003).
    Only the hash of the link's secret is kept; the municipality's answers are stored here once it sends them."""

    __tablename__ = "survey_invitation"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prefecture_survey.id", ondelete="CASCADE"))
    municipality_code: Mapped[str] = mapped_column(String(6))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    answers: Mapped[dict] = mapped_column(JSONB, default=dict)
    responder: Mapped[str] = mapped_column(String(100), default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# kind of a 後方支援 log entry → its name (the CHECK constraint of migration 0015c lists the same keys)
SUPPORT_KIND_LABELS = {"visit": "訪問支援", "advice": "助言", "info_exchange": "情報交換会", "four_party": "四者協議"}


class SupportLogEntry(TenantOwned, Base):
    """One piece of the prefecture's 後方支援 to a municipality (the prefecture's own row, 390003)."""

    __tablename__ = "support_log_entry"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    municipality_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(20))
    held_on: Mapped[dt.date] = mapped_column(Date)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    topic: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[str] = mapped_column(Text, default="")
    follow_up_due: Mapped[dt.date | None] = mapped_column(Date)
    follow_up_done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    phase_after: Mapped[str | None] = mapped_column(String(20))  # the municipality's phase after this support
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def follow_up_open(self) -> bool:
        return bool(self.follow_up) and self.follow_up_done_at is None
