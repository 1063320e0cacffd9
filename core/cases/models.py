"""Tables of the case domain (相談支援): households and people, cases and everything written about them.

Every table is a tenant table: ``tenant_id`` leads the composite primary key ``(tenant_id, id)`` and every index
and foreign key, and migration 0004 puts each behind the row-level-security wall.

- ``person`` (個人) and ``household`` (世帯), joined by ``household_membership`` with 続柄 and a validity span
  (``valid_from``/``valid_to``); a person has at most one open membership (partial unique index), history stays.
- ``support_case`` (相談ケース): the intake (相談受付・申込票) plus the current status of the workflow.
- ``case_status_change``: every status change with its reason (the case's own history, beside the audit trail).
- ``consent`` (同意): a record with scope (agencies, meeting kinds, information items), purpose, dates, revocation.
- ``assessment`` / ``assessment_item`` (problems per member), ``support_plan`` / ``plan_role`` (each agency's role),
  ``progress_record`` (支援経過記録), ``evaluation`` (評価).
- ``agency`` (支援関係機関) with ``agency_staff`` (which Keycloak users act for it), ``case_agency`` (agencies the
  case is shared with), ``referral`` (紹介・つなぎ between agencies), ``case_assignee`` (担当者).
- ``case_access_grant``: break-the-glass openings (緊急閲覧) the tenant admin reviews (``break_glass_review``:
  妥当 / 要確認 with a note); the audit trail has the same event.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Date, DateTime, ForeignKeyConstraint, Index, SmallInteger, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, TenantOwned, Timestamps, new_id, utc_now


def _fk(columns: list[str], table: str, refs: list[str] | None = None, name: str | None = None) -> ForeignKeyConstraint:
    """``(tenant_id, x_id) → table (tenant_id, id)``: a reference never crosses the tenant wall."""
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{table}.tenant_id", *(f"{table}.{r}" for r in refs or ["id"])],
                                name=name)


class _Row(TenantOwned):
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


class Agency(_Row, Timestamps, Base):
    """支援関係機関: 地域包括支援センター, 基幹相談支援センター, 社協, 自立相談支援機関, the town office's sections …"""

    __tablename__ = "agency"
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(100))  # free words: 地域包括支援センター, 社会福祉協議会 …
    field: Mapped[str | None] = mapped_column(String(20))  # elderly / disability / child / poverty, or none
    contact: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AgencyStaff(_Row, Base):
    """A Keycloak user (``sub``) acting for an agency: sees the cases shared with that agency."""

    __tablename__ = "agency_staff"
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_sub: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (_fk(["agency_id"], "agency"),)


class Household(_Row, Timestamps, Base):
    """世帯."""

    __tablename__ = "household"
    label: Mapped[str] = mapped_column(String(100))  # what staff call it: 「山田さん世帯」
    address: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class Person(_Row, Timestamps, Base):
    """個人: a household member (the resident who consults, or anyone of the household)."""

    __tablename__ = "person"
    name: Mapped[str] = mapped_column(String(100))  # 氏名 (漢字), family and given name separated by a space
    kana: Mapped[str] = mapped_column(String(100))  # ふりがな (ひらがな/カタカナ)
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    contact_note: Mapped[str | None] = mapped_column(String(200))  # other contacts (email, relatives …)
    # search keys (core.text_rules.search_key), kept by core.database on every write; trigram-indexed (0016)
    name_key: Mapped[str] = mapped_column(Text, default="")
    kana_key: Mapped[str] = mapped_column(Text, default="")
    __search_keys__ = {"name_key": "name", "kana_key": "kana"}


class HouseholdMembership(_Row, Base):
    """A person in a household from ``valid_from`` until ``valid_to`` (None: still a member)."""

    __tablename__ = "household_membership"
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    relationship: Mapped[str] = mapped_column(String(40))  # 続柄: 本人, 母, 長男 …
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        _fk(["household_id"], "household"),
        _fk(["person_id"], "person"),
        Index("ix_household_membership_tenant_id_household_id", "tenant_id", "household_id"),
        Index("uq_household_membership_current", "tenant_id", "person_id", unique=True,
              postgresql_where=text("valid_to IS NULL")),
    )


class HouseholdMemberKeys(TenantOwned, Base):
    """Every member's (past or present) ``name_key`` and ``kana_key`` of one household, joined by U+001F.

    Derived data, kept by the database's triggers on ``household_membership`` and ``person`` (migration 0024), never
    written by the app: the name search of a staff member reads one row per case here instead of walking each
    household's members (core.cases.search).
    """

    __tablename__ = "household_member_keys"
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    keys: Mapped[str] = mapped_column(Text, server_default="")
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "household_id"], ["household.tenant_id", "household.id"],
                             name="fk_household_member_keys_household", ondelete="CASCADE"),
    )


class SupportCase(_Row, Timestamps, Base):
    """相談ケース: the intake form and the state of the case."""

    __tablename__ = "support_case"
    case_number: Mapped[str] = mapped_column(String(20))  # 2025-0001: fiscal year and a running number
    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # 本人: the resident the consultation is about
    status: Mapped[str] = mapped_column(String(20), default="intake")
    received_on: Mapped[dt.date] = mapped_column(Date)
    receiving_agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    receiving_staff: Mapped[str] = mapped_column(String(100))
    route: Mapped[str] = mapped_column(String(20))
    visitor_name: Mapped[str | None] = mapped_column(String(100))  # 来談者 when not the resident
    visitor_relation: Mapped[str | None] = mapped_column(String(40))
    problems: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    problem_other: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    summary: Mapped[str | None] = mapped_column(Text)  # 相談内容 (free text, ≤ 4000)
    consent_at_intake: Mapped[bool] = mapped_column(Boolean, default=False)  # 同意あり/なし on the form
    review_on: Mapped[dt.date | None] = mapped_column(Date)  # next review of the current plan
    status_reason: Mapped[str | None] = mapped_column(String(1000))  # why it was closed/suspended/reopened
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    # answers to the intake fields the tenant's plugins add (kyosei_extra_intake_fields), by field name
    extras: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # the five 事業 (core.grants.reference.Business): the one that took the case up, and all those involved
    lead_business: Mapped[str] = mapped_column(String(20), default="consultation", server_default="consultation")
    businesses: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list, server_default="{}")
    __table_args__ = (
        _fk(["household_id"], "household"),
        _fk(["person_id"], "person"),
        _fk(["receiving_agency_id"], "agency"),
        Index("uq_support_case_tenant_id_case_number", "tenant_id", "case_number", unique=True),
        Index("ix_support_case_tenant_id_household_id", "tenant_id", "household_id"),
        Index("ix_support_case_tenant_id_status", "tenant_id", "status"),
        Index("ix_support_case_tenant_id_received_on", "tenant_id", "received_on"),
    )


class CaseStatusChange(_Row, Base):
    __tablename__ = "case_status_change"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(1000))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    __table_args__ = (_fk(["case_id"], "support_case"),
                      Index("ix_case_status_change_tenant_id_case_id", "tenant_id", "case_id"))


class CaseWorkflowStep(_Row, Base):
    """A plugin's extra step (kyosei_extra_workflow_steps, e.g. 課長決裁) completed on a case while at ``at_status``."""

    __tablename__ = "case_workflow_step"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    step_code: Mapped[str] = mapped_column(String(60))
    at_status: Mapped[str] = mapped_column(String(20))
    completed_by: Mapped[str] = mapped_column(String(64))
    completed_by_name: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    __table_args__ = (_fk(["case_id"], "support_case"),
                      Index("ix_case_workflow_step_tenant_id_case_id", "tenant_id", "case_id"))


class CaseAssignee(_Row, Base):
    """担当者: a Keycloak user assigned to the case (主担当 or 副担当)."""

    __tablename__ = "case_assignee"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_sub: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10), default="main")  # main 主担当 / sub 副担当
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (_fk(["case_id"], "support_case"),
                      Index("ix_case_assignee_tenant_id_user_sub", "tenant_id", "user_sub"),
                      Index("ix_case_assignee_tenant_id_case_id", "tenant_id", "case_id"))


class CaseAgency(_Row, Base):
    """The case shared with an agency (関係機関として関与), under a consent or in a 支援会議."""

    __tablename__ = "case_agency"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[str | None] = mapped_column(String(200))
    consent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    shared_by: Mapped[str] = mapped_column(String(64))
    shared_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (_fk(["case_id"], "support_case"), _fk(["agency_id"], "agency"),
                      Index("ix_case_agency_tenant_id_case_id", "tenant_id", "case_id"),
                      Index("ix_case_agency_tenant_id_agency_id", "tenant_id", "agency_id"))


class Consent(_Row, Timestamps, Base):
    """同意: who may see what, for which purpose, from when until when; revocable."""

    __tablename__ = "consent"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # who consented (本人 or 代理)
    given_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    purposes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)  # core.cases.consent_purposes codes
    purpose: Mapped[str] = mapped_column(String(500), default="")  # the purpose in the resident's words (note)
    agency_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    meeting_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    items: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)  # what may be shared
    method: Mapped[str | None] = mapped_column(String(20))  # written 書面 / oral 口頭
    recorded_by: Mapped[str] = mapped_column(String(64))
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (_fk(["case_id"], "support_case"), _fk(["person_id"], "person"),
                      Index("ix_consent_tenant_id_case_id", "tenant_id", "case_id"))


class Assessment(_Row, Base):
    __tablename__ = "assessment"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    summary: Mapped[str | None] = mapped_column(Text)
    # the national sheet's items by code (core.cases.assessment_sheet.SECTIONS): 生活歴, 健康, 就労 …
    sections: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    __table_args__ = (_fk(["case_id"], "support_case"), Index("ix_assessment_tenant_id_case_id", "tenant_id", "case_id"))


class AssessmentItem(_Row, Base):
    """One problem of one member (世帯員ごとの課題)."""

    __tablename__ = "assessment_item"
    assessment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    field: Mapped[str | None] = mapped_column(String(20))
    problem: Mapped[str] = mapped_column(String(1000))
    __table_args__ = (_fk(["assessment_id"], "assessment"), _fk(["person_id"], "person"),
                      Index("ix_assessment_item_tenant_id_assessment_id", "tenant_id", "assessment_id"))


class SupportPlan(_Row, Base):
    """プラン: goals, review date, agreement (at a 重層的支援会議)."""

    __tablename__ = "support_plan"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(SmallInteger)
    goals: Mapped[str] = mapped_column(Text)
    review_on: Mapped[dt.date | None] = mapped_column(Date)
    agreed_on: Mapped[dt.date | None] = mapped_column(Date)
    agreed_note: Mapped[str | None] = mapped_column(String(500))  # where: e.g. the meeting that agreed it
    addressed_item_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default="{}")  # 課題
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    __table_args__ = (_fk(["case_id"], "support_case"),
                      Index("uq_support_plan_tenant_id_case_id_version", "tenant_id", "case_id", "version", unique=True))


class PlanRole(_Row, Base):
    """What one agency does under a plan (役割分担)."""

    __tablename__ = "plan_role"
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    role: Mapped[str] = mapped_column(String(200))
    actions: Mapped[str | None] = mapped_column(String(2000))
    __table_args__ = (_fk(["plan_id"], "support_plan"), _fk(["agency_id"], "agency"),
                      Index("ix_plan_role_tenant_id_plan_id", "tenant_id", "plan_id"))


class ProgressRecord(_Row, Base):
    """支援経過記録: one dated entry of the timeline."""

    __tablename__ = "progress_record"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    body: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    __table_args__ = (_fk(["case_id"], "support_case"), _fk(["agency_id"], "agency"),
                      Index("ix_progress_record_tenant_id_case_id", "tenant_id", "case_id", "recorded_on"))


class Evaluation(_Row, Base):
    """評価."""

    __tablename__ = "evaluation"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    evaluated_on: Mapped[dt.date] = mapped_column(Date)
    achievement: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    __table_args__ = (_fk(["case_id"], "support_case"), Index("ix_evaluation_tenant_id_case_id", "tenant_id", "case_id"))


class Referral(_Row, Base):
    """紹介（つなぎ）from one agency to another, accepted or declined with a reason."""

    __tablename__ = "referral"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    to_agency_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending / accepted / declined
    response_reason: Mapped[str | None] = mapped_column(String(1000))
    referred_by: Mapped[str] = mapped_column(String(64))
    referred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    responded_by: Mapped[str | None] = mapped_column(String(64))
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (_fk(["case_id"], "support_case"), _fk(["from_agency_id"], "agency"), _fk(["to_agency_id"], "agency"),
                      Index("ix_referral_tenant_id_case_id", "tenant_id", "case_id"),
                      Index("ix_referral_tenant_id_to_agency_id", "tenant_id", "to_agency_id", "status"))


class CaseAccessGrant(_Row, Base):
    """緊急閲覧 (break the glass): someone outside the team opened the case and said why."""

    __tablename__ = "case_access_grant"
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_sub: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(1000))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (_fk(["case_id"], "support_case"),
                      Index("ix_case_access_grant_tenant_id_user_sub", "tenant_id", "user_sub", "case_id"),
                      Index("ix_case_access_grant_tenant_id_granted_at", "tenant_id", "granted_at"))


class BreakGlassReview(_Row, Base):
    """The tenant admin's review of one 緊急閲覧: 妥当 (appropriate) or 要確認 (needs_check), with a note.

    Append-only like the grant itself; the newest review of a grant is its state (a 要確認 can be settled later).
    """

    __tablename__ = "break_glass_review"
    grant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    verdict: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(1000))
    reviewed_by: Mapped[str] = mapped_column(String(64))
    reviewed_by_name: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    __table_args__ = (_fk(["grant_id"], "case_access_grant", name="fk_break_glass_review_grant"),
                      Index("ix_break_glass_review_tenant_id_grant_id", "tenant_id", "grant_id"))
