"""Rules and transactions of the case domain (相談支援). Controllers parse and render; everything else is here.

What other domains call (meetings especially):

- ``check_sharing(session, case_id, agency_id=None, meeting_kind=None, item=None) -> ConsentDecision`` at the moment
  of sharing; ``share_with_agency`` and referrals call it themselves.
- ``transition(session, case_id, to_status, reason=None, principal=None)`` — the only way a status changes (table
  in workflow.py); 支援決定 needs the principal's deciding role (``workflow.SUPPORT_DECISION_ROLES``).
- ``agree_plan(session, case_id, agreed_on=None, note=None, principal=None, decide=False, at_meeting=False)`` — the
  current plan was agreed (a 多機関協働事業 case's only ``at_meeting``); ``decide`` adds the municipality's 支援決定.
- ``get_case`` / ``can_view`` / ``open_case`` for reading with the team rule and the audit.

Who sees a case (``can_view``): its assigned staff (担当者), staff of agencies the case is shared with, users with
role ``coordinator`` (包括化推進員: they run the core meeting that reviews every open case of the municipality, so
they see all cases of their tenant), and anyone who opened it by stating a reason (break-the-glass, 8 hours).
Users of the prefecture (390003) never see a case. Row-level security keeps every query inside the tenant.

Every read of a personal record is audited (READ), every change too (CREATE/UPDATE), break-the-glass as
BREAK_GLASS with the reason. Functions take the validated DTOs of ``schemas`` or a raw mapping (parsed here).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from core.audit.trail import AuditAction, current_actor, record
from core.auth import staff_directory
from core.auth.principal import Principal, Role
from core.cases import consent_purposes, extensions, schemas, workflow
from core.cases.access import (  # noqa: F401 (the read rule's home; callers keep using service.visible_clause)
    ALL_ITEMS,
    CONSULTATION_COLUMNS,
    REFERRAL_REASON_ITEM,
    STATUS_REASON_ITEM,
    access_basis,
    case_and_basis,
    consent_valid_on,
    first_basis,
    readable_items,
    row_as_read,
    visible_clause,
)
from core.cases.models import (
    Agency,
    AgencyStaff,
    Assessment,
    AssessmentItem,
    CaseAccessGrant,
    CaseAgency,
    CaseAssignee,
    CaseStatusChange,
    CaseWorkflowStep,
    Consent,
    Evaluation,
    Household,
    HouseholdMembership,
    Person,
    PlanRole,
    ProgressRecord,
    Referral,
    SupportCase,
    SupportPlan,
)
from core.cases.file_query import CaseFileRows, read_case_file_rows, read_case_opening
from core.cases.schemas import ConsentDecision, ValidationFailed
from core.database import utc_now
from core.plugins.unit_of_work import emit_after_commit
from core.wareki import fiscal_year_of, jdate, today

BREAK_GLASS_HOURS = 8
# 支援会議 (art. 106-6): members are bound to secrecy by law, so sharing needs no consent there.
LAWFUL_WITHOUT_CONSENT = frozenset({"support_meeting"})
EDIT_ROLES = (Role.STAFF, Role.COORDINATOR)
AGENCY_ADMIN_ROLES = (Role.COORDINATOR, Role.TENANT_ADMIN)


# -- errors -----------------------------------------------------------------------------------------------------


class CaseError(Exception):
    status = 409
    title = "この操作はできません"

    def __init__(self, message: str, *, title: str | None = None, status: int | None = None,
                 errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.title = title or self.title
        self.status = status or self.status
        self.errors = errors


class NotFound(CaseError):
    status = 404
    title = "見つかりません"


class Forbidden(CaseError):
    status = 403
    title = "この操作を行う権限がありません"


class BreakGlassRequired(Forbidden):
    """Outside the team: the case opens only after stating a reason (緊急閲覧)."""

    title = "このケースの担当ではありません"


class TransitionRefused(CaseError):
    title = "状態を変更できません"


class SharingRefused(CaseError):
    title = "情報共有の同意がありません"


def _actor() -> str:
    return current_actor() or "system"


def _uuid(value: uuid.UUID | str, what: str = "ケース") -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what}が見つかりません。") from None


# -- reading with the team rule ---------------------------------------------------------------------------------


async def get_case(session: AsyncSession, case_id: uuid.UUID | str, *, for_update: bool = False) -> SupportCase:
    if for_update:
        case = await session.scalar(select(SupportCase).where(SupportCase.id == _uuid(case_id)).with_for_update())
    else:
        # By primary key: a case this request already loaded (the page opened it, then its rules ask again) comes
        # from the session instead of another round trip; RLS still decides any load that does reach the database.
        case = await session.get(SupportCase, (_current_tenant(), _uuid(case_id)))
    if case is None:
        raise NotFound("ケースが見つかりません。")
    return case


async def can_view(session: AsyncSession, principal: Principal, case_id: uuid.UUID | str) -> bool:
    return await access_basis(session, principal, _uuid(case_id)) is not None


async def open_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID | str, *,
                    for_update: bool = False, audit: bool = True) -> SupportCase:
    """The case, if ``principal`` may see it (audited READ); ``BreakGlassRequired`` when only a reason would do."""
    return (await open_case_with_basis(session, principal, case_id, for_update=for_update, audit=audit))[0]


async def open_case_with_basis(session: AsyncSession, principal: Principal, case_id: uuid.UUID | str, *,
                               for_update: bool = False, audit: bool = True) -> tuple[SupportCase, str]:
    """``open_case``, with the basis it was opened on (``access_basis``), for a caller that goes on to read the
    case file in the same request: it saves asking PostgreSQL the same question again (``case_file(basis=…)``)."""
    if principal.is_prefecture:
        raise Forbidden(PREFECTURE_REFUSAL)
    if for_update:
        case = await get_case(session, case_id, for_update=True)
        basis = await access_basis(session, principal, case.id)
    else:
        found, basis = await case_and_basis(session, principal, _uuid(case_id))
        if found is None:
            raise NotFound("ケースが見つかりません。")
        case = found
    if basis is None:
        raise BreakGlassRequired(BREAK_GLASS_NEEDED)
    if audit:
        await record(session, AuditAction.READ, "case", case.id, reason=f"basis={basis}")
    return case, basis


PREFECTURE_REFUSAL = "県の職員は個別のケースを閲覧できません（市町村の集計のみ閲覧できます）。"
BREAK_GLASS_NEEDED = "このケースを閲覧するには、閲覧の理由を入力してください（緊急閲覧として記録され、団体管理者が確認します）。"


async def open_case_and_file(session: AsyncSession, principal: Principal,
                             case_id: uuid.UUID | str) -> tuple[SupportCase, str, CaseFile]:
    """``open_case_with_basis`` and then ``case_file``, as the case page needs them: the same refusals, the same
    audited READ, the same file. A reader who may read all of the file (a coordinator, the case's team, a
    break-glass grant) gets all three in one round trip (``core.cases.file_query.read_case_opening``); agency staff
    get the rest of theirs once their consents are known, as before."""
    if principal.is_prefecture:
        raise Forbidden(PREFECTURE_REFUSAL)
    coordinator = principal.has_role(Role.COORDINATOR)
    opening = await read_case_opening(session, _uuid(case_id), principal.sub, coordinator=coordinator, day=today())
    if opening.case is None:
        raise NotFound("ケースが見つかりません。")
    case = _in_session(session, opening.case)
    basis = "coordinator" if coordinator else first_basis(opening.held)
    if basis is None:
        raise BreakGlassRequired(BREAK_GLASS_NEEDED)
    await record(session, AuditAction.READ, "case", case.id, reason=f"basis={basis}")
    if opening.rows is None:
        return case, basis, await case_file(session, case, principal, basis=basis)
    return case, basis, await _file_of(session, case, ALL_ITEMS, opening.rows)


def _in_session(session: AsyncSession, case: SupportCase) -> SupportCase:
    """``case`` (read on the driver) as the session's own, as if the ORM had loaded it: later reads by its key in
    this unit of work (``get_case``) find it without asking again, and a change to it would be written."""
    key = session.sync_session.identity_key(SupportCase, (case.tenant_id, case.id))
    known = session.sync_session.identity_map.get(key)
    if known is not None:
        return known
    make_transient_to_detached(case)
    session.add(case)
    return case


async def open_case_for_change(session: AsyncSession, principal: Principal, case_id: uuid.UUID | str) -> SupportCase:
    case = await open_case(session, principal, case_id, for_update=True, audit=False)
    if not principal.has_role(*EDIT_ROLES):
        raise Forbidden("ケースを記録・変更できるのは職員またはコーディネーターです。")
    return case


async def break_glass(session: AsyncSession, principal: Principal, case_id: uuid.UUID | str,
                      reason: Mapping[str, Any] | str | None) -> CaseAccessGrant:
    """緊急閲覧: open a case outside one's team by stating why. Audited (BREAK_GLASS) and listed for the admin."""
    if principal.is_prefecture:
        raise Forbidden("県の職員は個別のケースを閲覧できません。")
    case = await get_case(session, case_id)  # an unknown case is 404 whatever the reason says
    if not isinstance(reason, Mapping):
        reason = {"reason": reason}
    text_reason = schemas.parse_reason(reason, "閲覧の理由")
    grant = CaseAccessGrant(
        case_id=case.id, user_sub=principal.sub, display_name=principal.display_name[:100] or None,
        reason=text_reason, expires_at=utc_now() + dt.timedelta(hours=BREAK_GLASS_HOURS),
    )
    session.add(grant)
    await session.flush()
    await record(session, AuditAction.BREAK_GLASS, "case", case.id, reason=text_reason)
    return grant


async def list_access_grants(session: AsyncSession, principal: Principal, limit: int = 200) -> list[tuple[CaseAccessGrant, str]]:
    """Break-the-glass openings of the tenant, newest first, with the case number (for the tenant admin)."""
    if not principal.has_role(Role.TENANT_ADMIN) or principal.is_prefecture:
        raise Forbidden("緊急閲覧の記録を確認できるのは団体管理者です。")
    rows = await session.execute(
        select(CaseAccessGrant, SupportCase.case_number)
        .join(SupportCase, and_(SupportCase.tenant_id == CaseAccessGrant.tenant_id,
                                SupportCase.id == CaseAccessGrant.case_id))
        .order_by(CaseAccessGrant.granted_at.desc()).limit(limit)
    )
    await record(session, AuditAction.READ, "case_access_grant", None, reason="list")
    return [(g, n) for g, n in rows.all()]


# -- households and people --------------------------------------------------------------------------------------


async def _add_person(session: AsyncSession, household_id: uuid.UUID, data: schemas.PersonIn,
                      valid_from: dt.date) -> Person:
    person = Person(name=data.name, kana=data.kana, birth_date=data.birth_date, sex=data.sex, address=data.address,
                    phone=data.phone, contact_note=data.contact_note)
    session.add(person)
    await session.flush()
    session.add(HouseholdMembership(household_id=household_id, person_id=person.id,
                                    relationship=data.relationship, valid_from=valid_from))
    await session.flush()
    await record(session, AuditAction.CREATE, "person", person.id)
    return person


async def get_household(session: AsyncSession, household_id: uuid.UUID | str) -> Household:
    household = await session.get(Household, (_current_tenant(), _uuid(household_id, "世帯")))
    if household is None:
        raise NotFound("世帯が見つかりません。")
    return household


def _current_tenant() -> str:
    from core.tenancy.context import current_tenant_id

    return current_tenant_id() or ""


async def open_household(session: AsyncSession, principal: Principal, household_id: uuid.UUID | str) -> Household:
    """A household is seen by whoever may see one of its cases (audited READ)."""
    if principal.is_prefecture:
        raise Forbidden("県の職員は世帯の情報を閲覧できません。")
    household = await get_household(session, household_id)
    visible = await session.scalar(
        select(SupportCase.id).where(SupportCase.household_id == household.id, visible_clause(principal)).limit(1)
    )
    if visible is None:
        raise Forbidden("この世帯のケースを担当していません。ケースの画面から緊急閲覧の理由を入力してください。")
    await record(session, AuditAction.READ, "household", household.id)
    return household


@dataclass
class Member:
    person: Person
    membership: HouseholdMembership

    @property
    def current(self) -> bool:
        return self.membership.valid_to is None


async def household_members(session: AsyncSession, household_id: uuid.UUID, *, include_past: bool = False) -> list[Member]:
    stmt = (
        select(Person, HouseholdMembership)
        .join(HouseholdMembership, and_(HouseholdMembership.tenant_id == Person.tenant_id,
                                        HouseholdMembership.person_id == Person.id))
        .where(HouseholdMembership.household_id == household_id)
        .order_by(HouseholdMembership.valid_to.is_not(None), HouseholdMembership.valid_from, Person.id)
    )
    if not include_past:
        stmt = stmt.where(HouseholdMembership.valid_to.is_(None))
    return [Member(p, m) for p, m in (await session.execute(stmt)).all()]


async def add_member(session: AsyncSession, household_id: uuid.UUID | str, data: Mapping[str, Any] | schemas.PersonIn,
                     *, valid_from: dt.date | None = None) -> Person:
    """A new person joins the household (続柄 required)."""
    person_in = data if isinstance(data, schemas.PersonIn) else schemas.parse_person(data)
    household = await get_household(session, household_id)
    person = await _add_person(session, household.id, person_in, valid_from or today())
    await record(session, AuditAction.UPDATE, "household", household.id, reason="member added")
    return person


async def move_person(session: AsyncSession, person_id: uuid.UUID | str, household_id: uuid.UUID | str,
                      relationship: str, *, on: dt.date | None = None) -> HouseholdMembership:
    """A person moves to another household: the open membership ends the day before, a new one starts ``on``."""
    on = on or today()
    household = await get_household(session, household_id)
    pid = _uuid(person_id, "世帯員")
    if await session.get(Person, (_current_tenant(), pid)) is None:
        raise NotFound("世帯員が見つかりません。")
    await end_membership(session, pid, valid_to=on - dt.timedelta(days=1), quiet=True)
    membership = HouseholdMembership(household_id=household.id, person_id=pid, relationship=relationship, valid_from=on)
    session.add(membership)
    await session.flush()
    await record(session, AuditAction.UPDATE, "person", pid, reason="moved household")
    return membership


async def end_membership(session: AsyncSession, person_id: uuid.UUID | str, *, valid_to: dt.date | None = None,
                         household_id: uuid.UUID | None = None, quiet: bool = False) -> HouseholdMembership | None:
    """The person leaves their current household (転出・死亡・世帯分離); the row stays as history."""
    pid = _uuid(person_id, "世帯員")
    stmt = select(HouseholdMembership).where(HouseholdMembership.person_id == pid,
                                             HouseholdMembership.valid_to.is_(None))
    if household_id is not None:
        stmt = stmt.where(HouseholdMembership.household_id == household_id)
    membership = await session.scalar(stmt.with_for_update())
    if membership is None:
        if quiet:
            return None
        raise NotFound("この世帯の現在の世帯員ではありません。")
    end = valid_to or today()
    if end < membership.valid_from:
        end = membership.valid_from
    membership.valid_to = end
    await session.flush()
    await record(session, AuditAction.UPDATE, "household", membership.household_id, reason="member left")
    return membership


# -- intake -----------------------------------------------------------------------------------------------------


async def _next_case_number(session: AsyncSession, received_on: dt.date) -> str:
    tenant = _current_tenant()
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"case_number:{tenant}"})
    prefix = f"{fiscal_year_of(received_on)}-"
    count = await session.scalar(select(func.count()).where(SupportCase.case_number.startswith(prefix)))
    return f"{prefix}{(count or 0) + 1:04d}"


async def create_intake(session: AsyncSession, data: Mapping[str, Any] | schemas.IntakeIn,
                        principal: Principal | None = None) -> SupportCase:
    """相談受付: household (new or existing), people, the case; the receiver becomes 主担当."""
    extra_fields = await extensions.intake_fields(session)
    extras, extra_errors = extensions.read_extras(extra_fields, data.get("extras") if isinstance(data, Mapping) else None)
    try:
        intake = data if isinstance(data, schemas.IntakeIn) else schemas.parse_intake(data)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.errors + extra_errors) from None
    if extra_errors:
        raise ValidationFailed(extra_errors)
    if principal is not None and (principal.is_prefecture or not principal.has_role(*EDIT_ROLES)):
        raise Forbidden("相談を受け付けられるのは職員またはコーディネーターです。")
    if intake.receiving_agency_id is not None and await session.get(
            Agency, (_current_tenant(), intake.receiving_agency_id)) is None:
        raise ValidationFailed([{"field": "receiving_agency_id", "message": "受付機関が見つかりません。"}])
    if intake.household_id is not None:
        household = await get_household(session, intake.household_id)
    else:
        first = intake.members[0] if intake.members else None
        label = intake.household_label or (f"{first.name.split()[0]}さん世帯" if first else "世帯")
        household = Household(label=label[:100], address=intake.household_address or (first.address if first else None))
        session.add(household)
        await session.flush()
        await record(session, AuditAction.CREATE, "household", household.id)
    people = [await _add_person(session, household.id, m, intake.received_on) for m in intake.members]
    if intake.person_id is not None:
        person = await session.get(Person, (_current_tenant(), intake.person_id))
        if person is None:
            raise ValidationFailed([{"field": "person_id", "message": "本人が見つかりません。"}])
    else:
        person = people[0]
    case = SupportCase(
        case_number=await _next_case_number(session, intake.received_on),
        household_id=household.id, person_id=person.id, status="intake", received_on=intake.received_on,
        receiving_agency_id=intake.receiving_agency_id, receiving_staff=intake.receiving_staff, route=intake.route,
        visitor_name=intake.visitor_name, visitor_relation=intake.visitor_relation, problems=intake.problems,
        problem_other=intake.problem_other, fields=intake.fields, tags=intake.tags, summary=intake.summary,
        consent_at_intake=intake.consent_given, created_by=_actor(), extras=extras,
        lead_business=intake.lead_business, businesses=list(dict.fromkeys([intake.lead_business, *intake.businesses])),
    )
    session.add(case)
    await session.flush()
    session.add(CaseStatusChange(case_id=case.id, from_status=None, to_status="intake", reason="相談受付",
                                 changed_by=_actor()))
    if principal is not None:
        session.add(CaseAssignee(case_id=case.id, user_sub=principal.sub,
                                 display_name=(principal.display_name or principal.username)[:100], role="main"))
    await session.flush()
    await record(session, AuditAction.CREATE, "case", case.id)
    return case


async def update_case_labels(session: AsyncSession, case: SupportCase, data: Mapping[str, Any]) -> SupportCase:
    """Change the fields (分野) and tags of a case, and the 事業 involved when given."""
    r = schemas.Reader(data)
    fields = r.choices("fields", "分野", schemas.FIELD_LABELS)
    tags = r.tags()
    businesses = r.choices("businesses", "関わる事業", schemas.BUSINESS_LABELS) if "businesses" in data else None
    r.done()
    case.fields, case.tags = fields, tags
    if businesses is not None:  # the 事業 that took the case up stays involved
        case.businesses = list(dict.fromkeys([case.lead_business, *businesses]))
    await session.flush()
    await record(session, AuditAction.UPDATE, "case", case.id, reason="fields/tags")
    return case


async def assign(session: AsyncSession, case: SupportCase, data: Mapping[str, Any]) -> CaseAssignee:
    """担当者: picked from the municipality's staff directory (職員名簿); the name shown is the directory's, so a
    typed name cannot disagree with who actually gets access. A retired member cannot be picked."""
    r = schemas.Reader(data)
    sub = r.text("user_sub", "担当者", 64, required=True)
    role = r.choice("role", "担当の種類", schemas.ASSIGNEE_ROLE_LABELS) or "sub"
    r.done()
    member = await staff_directory.find(session, sub or "")
    if member is None:
        raise ValidationFailed([{"field": "user_sub", "message": "職員名簿から担当者を選んでください"
                                                              "（退職した職員や他の団体の職員は選べません）。"}])
    current = await session.scalar(select(CaseAssignee.id).where(CaseAssignee.case_id == case.id,
                                                                CaseAssignee.user_sub == member.user_sub,
                                                                CaseAssignee.ended_at.is_(None)))
    if current is not None:
        raise ValidationFailed([{"field": "user_sub", "message": f"{member.display_name}さんはすでに担当者です。"}])
    assignee = CaseAssignee(case_id=case.id, user_sub=member.user_sub, display_name=member.display_name[:100],
                            role=role)
    session.add(assignee)
    await session.flush()
    await record(session, AuditAction.UPDATE, "case", case.id, reason="assignee added")
    return assignee


# -- workflow ---------------------------------------------------------------------------------------------------


async def _guard_refusal(session: AsyncSession, guard: str | None, case: SupportCase) -> str | None:
    """Why the guard does not hold (the message naming what is missing), or None."""
    if guard is None:
        return None
    if guard == "plan_agreed":
        plan = await current_plan(session, case.id)
        if plan is None:
            return workflow.GUARD_MESSAGES["has_plan"]
        return None if plan.agreed_on is not None else workflow.GUARD_MESSAGES["plan_agreed"]
    found = await session.scalar(select(Assessment.id).where(Assessment.case_id == case.id).limit(1))
    return None if found is not None else workflow.GUARD_MESSAGES[guard]


async def transition(session: AsyncSession, case_id: uuid.UUID | str | SupportCase, to_status: str,
                     reason: str | None = None, *, on: dt.date | None = None,
                     principal: Principal | None = None) -> SupportCase:
    """Move the case to ``to_status`` if the workflow table allows it and its guard holds; audited.

    Raises ``TransitionRefused`` (409) with a Japanese message naming what is missing. 支援決定 (→ ``decided``) is
    the municipality's act: only a ``principal`` with ``workflow.SUPPORT_DECISION_ROLES`` (else ``Forbidden``, 403,
    audited as DENIED), only on an agreed plan; who and when stay in the status history.
    """
    case = case_id if isinstance(case_id, SupportCase) else await get_case(session, case_id, for_update=True)
    old = case.status
    if to_status not in schemas.STATUS_LABELS:
        raise ValidationFailed([{"field": "to_status", "message": "変更先の状態が正しくありません。"}])
    step = workflow.find(old, to_status)
    if step is None:
        raise TransitionRefused(
            f"「{schemas.STATUS_LABELS[old]}」から「{schemas.STATUS_LABELS[to_status]}」へは変更できません。")
    reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
    if reason is not None:
        r = schemas.Reader({"reason": reason})
        reason = r.text("reason", "理由", schemas.MAX_REASON, free=True)
        r.done()
    if step.needs_reason and not reason:
        what = {"closed": "終結", "suspended": "中断"}.get(to_status, "再開" if old in workflow.TERMINAL_STATUSES
                                                          else "変更")
        raise ValidationFailed([{"field": "reason", "message": f"{what}の理由を入力してください。"}])
    if to_status == "decided" and not workflow.may_decide_support(principal):
        await record(session, AuditAction.DENIED, "case", case.id, reason="support decision: role")
        raise Forbidden(workflow.SUPPORT_DECISION_FORBIDDEN)
    if (refused := await _guard_refusal(session, step.guard, case)) is not None:
        raise TransitionRefused(refused)
    if to_status not in workflow.TERMINAL_STATUSES:
        missing = [s.step.label for s in await step_states(session, case) if s.step.required and not s.done]
        if missing:
            raise TransitionRefused(
                f"「{'」「'.join(missing)}」が完了していないため、「{schemas.STATUS_LABELS[to_status]}」へ進めません。")
    case.status = to_status
    if to_status in workflow.TERMINAL_STATUSES:
        case.status_reason = reason
        case.closed_on = on or today()
    elif old in workflow.TERMINAL_STATUSES:
        case.status_reason = reason
        case.closed_on = None
    session.add(CaseStatusChange(case_id=case.id, from_status=old, to_status=to_status, reason=reason,
                                 changed_by=principal.sub if principal is not None else _actor()))
    await session.flush()
    await record(session, AuditAction.UPDATE, "case", case.id, reason=f"status {old}->{to_status}")
    emit_after_commit(session, "kyosei_case_status_changed", case_id=str(case.id), old=old, new=to_status)
    return case


async def step_states(session: AsyncSession, case: SupportCase) -> list[extensions.StepState]:
    """The tenant's plugin steps at the case's current status, each done or not since the case entered it."""
    steps = [s for s in await extensions.workflow_steps(session) if s.after_status == case.status]
    if not steps:
        return []
    entered = await session.scalar(select(func.max(CaseStatusChange.changed_at)).where(
        CaseStatusChange.case_id == case.id, CaseStatusChange.to_status == case.status))
    done = await session.scalars(select(CaseWorkflowStep).where(
        CaseWorkflowStep.case_id == case.id, CaseWorkflowStep.at_status == case.status,
        *([CaseWorkflowStep.completed_at >= entered] if entered is not None else []),
    ).order_by(CaseWorkflowStep.completed_at))
    by_code = {row.step_code: row for row in done}
    return [extensions.StepState(s, by_code[s.code].completed_by_name, by_code[s.code].completed_at)
            if s.code in by_code else extensions.StepState(s) for s in steps]


async def complete_step(session: AsyncSession, case_id: uuid.UUID | str | SupportCase, step_code: str,
                        principal: Principal) -> CaseWorkflowStep:
    """Record that a plugin's step (e.g. 課長決裁) was done at the case's current status."""
    case = case_id if isinstance(case_id, SupportCase) else await get_case(session, case_id, for_update=True)
    state = next((s for s in await step_states(session, case) if s.step.code == step_code), None)
    if state is None:
        raise TransitionRefused(f"この手順は「{schemas.STATUS_LABELS[case.status]}」の段階では行えません。")
    if state.step.roles and not principal.has_role(*state.step.roles):
        raise Forbidden(f"「{state.step.label}」を完了できるのは、担当の役割を持つ職員だけです。")
    if state.done:
        raise TransitionRefused(f"「{state.step.label}」はすでに完了しています。")
    row = CaseWorkflowStep(case_id=case.id, step_code=step_code, at_status=case.status, completed_by=_actor(),
                           completed_by_name=(principal.display_name or principal.username)[:100])
    session.add(row)
    await session.flush()
    await record(session, AuditAction.UPDATE, "case", case.id, reason=f"step {step_code}")
    return row


# -- assessment, plan, records, evaluation ----------------------------------------------------------------------


async def _current_person_ids(session: AsyncSession, case: SupportCase) -> set[uuid.UUID]:
    members = await household_members(session, case.household_id, include_past=True)
    return {m.person.id for m in members}


async def add_assessment(session: AsyncSession, case: SupportCase,
                         data: Mapping[str, Any] | schemas.AssessmentIn) -> Assessment:
    """アセスメント with problems per household member. Moves 受付 → アセスメント."""
    parsed = data if isinstance(data, schemas.AssessmentIn) else schemas.parse_assessment(data)
    if case.status in workflow.TERMINAL_STATUSES:
        raise TransitionRefused("終結・中断したケースには記録できません。先に再開してください。")
    members = await _current_person_ids(session, case)
    bad = [i for i, item in enumerate(parsed.items) if item.person_id not in members]
    if bad:
        raise ValidationFailed([{"field": f"items[{i}].person_id", "message": "この世帯の世帯員ではありません。"}
                                for i in bad])
    assessment = Assessment(case_id=case.id, assessed_on=parsed.assessed_on, summary=parsed.summary,
                            sections=dict(parsed.sections), recorded_by=_actor())
    session.add(assessment)
    await session.flush()
    for item in parsed.items:
        session.add(AssessmentItem(assessment_id=assessment.id, person_id=item.person_id, field=item.field,
                                   problem=item.problem))
    new_fields = [f for f in (i.field for i in parsed.items) if f and f not in case.fields]
    if new_fields:
        case.fields = [*case.fields, *dict.fromkeys(new_fields)]
    await session.flush()
    await record(session, AuditAction.CREATE, "assessment", assessment.id)
    if case.status == "intake":
        await transition(session, case, "assessment")
    return assessment


async def assessments(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[Assessment, list[AssessmentItem]]]:
    rows = list(await session.scalars(select(Assessment).where(Assessment.case_id == case_id)
                                      .order_by(Assessment.assessed_on, Assessment.id)))
    items = list(await session.scalars(select(AssessmentItem).where(
        AssessmentItem.assessment_id.in_([a.id for a in rows])).order_by(AssessmentItem.id))) if rows else []
    return [(a, [i for i in items if i.assessment_id == a.id]) for a in rows]


async def _check_agencies(session: AsyncSession, ids: list[uuid.UUID | None], field_of) -> None:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return
    found = set(await session.scalars(select(Agency.id).where(Agency.id.in_(wanted))))
    errors = [{"field": field_of(n), "message": "機関が見つかりません。"} for n, i in enumerate(ids)
              if i is not None and i not in found]
    if errors:
        raise ValidationFailed(errors)


async def create_plan(session: AsyncSession, case: SupportCase, data: Mapping[str, Any] | schemas.PlanIn) -> SupportPlan:
    """プラン: needs an assessment first. Moves アセスメント → プラン作成."""
    parsed = data if isinstance(data, schemas.PlanIn) else schemas.parse_plan(data)
    if await _guard_refusal(session, "has_assessment", case) is not None:
        raise TransitionRefused(workflow.GUARD_MESSAGES["has_assessment"])
    if case.status in workflow.TERMINAL_STATUSES or case.status == "intake":
        raise TransitionRefused("受付・終結・中断の状態ではプランを作成できません。")
    await _check_agencies(session, [r.agency_id for r in parsed.roles], lambda n: f"roles[{n}].agency_id")
    if parsed.issue_ids:
        known = {i.id for _a, items in await assessments(session, case.id) for i in items}
        if not set(parsed.issue_ids) <= known:
            raise ValidationFailed([{"field": "issue_ids", "message": "このケースのアセスメントにない課題が含まれています。"}])
    version = (await session.scalar(select(func.max(SupportPlan.version)).where(SupportPlan.case_id == case.id)) or 0) + 1
    plan = SupportPlan(case_id=case.id, version=version, goals=parsed.goals, review_on=parsed.review_on,
                       addressed_item_ids=list(parsed.issue_ids), recorded_by=_actor())
    session.add(plan)
    await session.flush()
    for role in parsed.roles:
        session.add(PlanRole(plan_id=plan.id, agency_id=role.agency_id, role=role.role, actions=role.actions))
    case.review_on = parsed.review_on
    await session.flush()
    await record(session, AuditAction.CREATE, "support_plan", plan.id)
    if case.status == "assessment":
        await transition(session, case, "planning")
    return plan


async def current_plan(session: AsyncSession, case_id: uuid.UUID) -> SupportPlan | None:
    return await session.scalar(select(SupportPlan).where(SupportPlan.case_id == case_id)
                                .order_by(SupportPlan.version.desc()).limit(1))


async def agree_plan(session: AsyncSession, case_id: uuid.UUID | str | SupportCase, *, agreed_on: dt.date | None = None,
                     note: str | None = None, principal: Principal | None = None, decide: bool = False,
                     at_meeting: bool = False) -> SupportPlan:
    """The current plan was agreed: record it once, in プラン作成. With ``decide`` the municipality also decides
    support (プラン作成 → 支援決定, through ``transition``: the deciding role is checked before anything is written).

    A 多機関協働事業 case's plan is agreed only at a 重層的支援会議 (``at_meeting``: core.meetings, whose
    ``decide_support`` is then the municipality's own act)."""
    case = case_id if isinstance(case_id, SupportCase) else await get_case(session, case_id, for_update=True)
    if decide and not workflow.may_decide_support(principal):
        await record(session, AuditAction.DENIED, "case", case.id, reason="support decision: role")
        raise Forbidden(workflow.SUPPORT_DECISION_FORBIDDEN)
    if workflow.is_multilayer(case) and not at_meeting:
        raise TransitionRefused(workflow.PLAN_AGREED_AT_MEETING)
    plan = await current_plan(session, case.id)
    if plan is None:
        raise TransitionRefused(workflow.GUARD_MESSAGES["has_plan"])
    if plan.agreed_on is not None:
        raise TransitionRefused(f"このプラン（第{plan.version}版）は{jdate(plan.agreed_on)}にすでに合意されています。"
                                "見直すときは新しい版のプランを作成してください。")
    if case.status != "planning":
        raise TransitionRefused(f"プランの合意は「プラン作成」の段階のケースに限ります"
                                f"（現在: {schemas.STATUS_LABELS.get(case.status, case.status)}）。")
    if note is not None:
        r = schemas.Reader({"note": note})
        note = r.text("note", "合意の記録", 500, free=True)
        r.done()
    plan.agreed_on = agreed_on or today()
    plan.agreed_note = note
    await session.flush()
    await record(session, AuditAction.UPDATE, "support_plan", plan.id, reason="agreed")
    emit_after_commit(session, "kyosei_plan_agreed", case_id=str(case.id))
    if decide:
        await transition(session, case, "decided", principal=principal)
    return plan


async def add_record(session: AsyncSession, case: SupportCase, data: Mapping[str, Any] | schemas.RecordIn) -> ProgressRecord:
    """支援経過記録."""
    parsed = data if isinstance(data, schemas.RecordIn) else schemas.parse_record(data)
    await _check_agencies(session, [parsed.agency_id], lambda n: "agency_id")
    entry = ProgressRecord(case_id=case.id, recorded_on=parsed.recorded_on, kind=parsed.kind, body=parsed.body,
                           agency_id=parsed.agency_id, recorded_by=_actor())
    session.add(entry)
    await session.flush()
    await record(session, AuditAction.CREATE, "progress_record", entry.id)
    return entry


async def add_evaluation(session: AsyncSession, case: SupportCase,
                         data: Mapping[str, Any] | schemas.EvaluationIn) -> Evaluation:
    """評価: allowed once support has started. Moves 支援中 → 評価."""
    parsed = data if isinstance(data, schemas.EvaluationIn) else schemas.parse_evaluation(data)
    if case.status not in ("supporting", "evaluation"):
        raise TransitionRefused("評価は「支援中」または「評価」の状態のケースに記録できます。")
    evaluation = Evaluation(case_id=case.id, evaluated_on=parsed.evaluated_on, achievement=parsed.achievement,
                            summary=parsed.summary, next_step=parsed.next_step, recorded_by=_actor())
    session.add(evaluation)
    await session.flush()
    await record(session, AuditAction.CREATE, "evaluation", evaluation.id)
    if case.status == "supporting":
        await transition(session, case, "evaluation")
    return evaluation


# -- consent ----------------------------------------------------------------------------------------------------


_valid_on = consent_valid_on


async def record_consent(session: AsyncSession, case: SupportCase, data: Mapping[str, Any] | schemas.ConsentIn) -> Consent:
    parsed = data if isinstance(data, schemas.ConsentIn) else schemas.parse_consent(data)
    await _check_agencies(session, list(parsed.agency_ids), lambda n: "agency_ids")
    if parsed.person_id is not None and parsed.person_id not in await _current_person_ids(session, case):
        raise ValidationFailed([{"field": "person_id", "message": "この世帯の世帯員ではありません。"}])
    offered = await consent_purposes.purpose_labels(session)
    unknown = [p for p in parsed.purposes if p not in offered]
    if unknown:
        allowed = "、".join(f"{code}（{label}）" for code, label in offered.items())
        raise ValidationFailed([{"field": "purposes", "message": f"選べない利用目的があります。次から選んでください: {allowed}"}])
    consent = Consent(case_id=case.id, person_id=parsed.person_id, given_on=parsed.given_on,
                      expires_on=parsed.expires_on, purposes=list(parsed.purposes), purpose=parsed.purpose,
                      agency_ids=list(parsed.agency_ids),
                      meeting_kinds=list(parsed.meeting_kinds), items=list(parsed.items), method=parsed.method,
                      recorded_by=_actor())
    session.add(consent)
    await session.flush()
    await record(session, AuditAction.CREATE, "consent", consent.id)
    return consent


async def get_consent(session: AsyncSession, consent_id: uuid.UUID | str) -> Consent:
    consent = await session.get(Consent, (_current_tenant(), _uuid(consent_id, "同意")))
    if consent is None:
        raise NotFound("同意の記録が見つかりません。")
    return consent


async def revoke_consent(session: AsyncSession, consent: Consent, data: Mapping[str, Any]) -> Consent:
    """撤回: no further sharing under this consent; shares no other valid consent covers end now."""
    r = schemas.Reader(data)
    reason = r.text("reason", "撤回の理由", 500, free=True)
    on = r.date("revoked_on", "撤回日", not_future=True) or today()
    r.done()
    if consent.revoked_on is not None:
        raise CaseError("この同意はすでに撤回されています。")
    consent.revoked_on = max(on, consent.given_on)
    consent.revoked_reason = reason
    await session.flush()
    await record(session, AuditAction.UPDATE, "consent", consent.id, reason="revoked")
    # Agencies shared with under consent lose access unless another valid consent still names them.
    remaining = [c for c in await consents(session, consent.case_id) if _valid_on(c, today())]
    covered = {a for c in remaining for a in c.agency_ids}
    shares = list(await session.scalars(select(CaseAgency).where(CaseAgency.case_id == consent.case_id,
                                                                 CaseAgency.ended_at.is_(None),
                                                                 CaseAgency.consent_id.is_not(None))))
    for share in shares:
        if share.agency_id not in covered:
            share.ended_at = utc_now()
            share.ended_reason = "同意の撤回"
    await session.flush()
    return consent


async def consents(session: AsyncSession, case_id: uuid.UUID) -> list[Consent]:
    return list(await session.scalars(select(Consent).where(Consent.case_id == case_id)
                                      .order_by(Consent.given_on.desc(), Consent.id.desc())))


async def check_sharing(session: AsyncSession, case_id: uuid.UUID | str, agency_id: uuid.UUID | str | None = None,
                        meeting_kind: str | None = None, *, item: str | None = None,
                        purpose: str | None = None, on: dt.date | None = None) -> ConsentDecision:
    """May the case be shared now with ``agency_id`` / in a meeting of ``meeting_kind`` (and ``item`` of it)?

    Call it at the moment of sharing. A 支援会議 (art. 106-6) needs no consent; everything else needs a consent
    that is given, not expired, not revoked and whose scope names the agency, the meeting kind and the item.
    """
    day = on or today()
    try:
        case = await get_case(session, case_id)
    except NotFound:
        return ConsentDecision(False, "ケースが見つかりません。")
    if meeting_kind in LAWFUL_WITHOUT_CONSENT and agency_id is None:
        return ConsentDecision(True, "支援会議（社会福祉法第106条の6）では、本人の同意がなくても情報を共有できます。"
                                     "参加者には守秘義務があります。")
    agency_name = None
    if agency_id is not None:
        agency = await session.get(Agency, (_current_tenant(), _uuid(agency_id, "機関")))
        if agency is None:
            return ConsentDecision(False, "共有先の機関が見つかりません。")
        agency_name = agency.name
    return _sharing_decision(await consents(session, case.id), day, agency_id, agency_name, meeting_kind, item, purpose,
                             await consent_purposes.purpose_labels(session))


async def check_sharing_in_meetings(session: AsyncSession, case_ids: list[uuid.UUID],
                                    meeting_kind: str) -> dict[uuid.UUID, ConsentDecision]:
    """``check_sharing(session, case_id, meeting_kind=meeting_kind)`` for each case, with the consents of all of
    them read in one statement (a meeting page lists the cases waiting to be carried onto its agenda, each with
    whether its consent allows this kind of meeting: one statement per case before)."""
    if not case_ids:
        return {}
    day = today()
    if meeting_kind in LAWFUL_WITHOUT_CONSENT:
        return {case_id: await check_sharing(session, case_id, meeting_kind=meeting_kind) for case_id in case_ids}
    by_case: dict[uuid.UUID, list[Consent]] = {case_id: [] for case_id in case_ids}
    for consent in await session.scalars(select(Consent).where(Consent.case_id.in_(case_ids))
                                         .order_by(Consent.given_on.desc(), Consent.id.desc())):
        by_case[consent.case_id].append(consent)  # per case in the order consents() gives
    labels = await consent_purposes.purpose_labels(session)
    return {case_id: _sharing_decision(found, day, None, None, meeting_kind, None, None, labels)
            for case_id, found in by_case.items()}


def _sharing_decision(all_consents: list[Consent], day: dt.date, agency_id: uuid.UUID | str | None,
                      agency_name: str | None, meeting_kind: str | None, item: str | None, purpose: str | None,
                      labels: dict[str, str]) -> ConsentDecision:
    """The rule of ``check_sharing`` over the case's consents (newest first)."""
    valid = [c for c in all_consents if _valid_on(c, day)]
    if not valid:
        revoked = [c for c in all_consents if c.revoked_on is not None and c.revoked_on <= day]
        expired = [c for c in all_consents if c.expires_on is not None and c.expires_on < day]
        if revoked:
            return ConsentDecision(False, f"本人の同意は{revoked[0].revoked_on.isoformat()}に撤回されています。"
                                          "これ以上の情報共有はできません。")
        if expired:
            return ConsentDecision(False, f"本人の同意の有効期限（{expired[0].expires_on.isoformat()}）が過ぎています。"
                                          "改めて同意を得てください。")
        return ConsentDecision(False, "本人の情報共有への同意が記録されていません。同意を得て記録してから共有してください。")
    candidates = valid
    if agency_id is not None:
        aid = _uuid(agency_id, "機関")
        candidates = [c for c in candidates if aid in c.agency_ids]
        if not candidates:
            return ConsentDecision(False, f"同意の範囲に「{agency_name}」が含まれていません。"
                                          "この機関と共有するには、範囲を広げた同意を得てください。")
    if meeting_kind is not None:
        label = schemas.MEETING_KIND_LABELS.get(meeting_kind, meeting_kind)
        candidates = [c for c in candidates if meeting_kind in c.meeting_kinds]
        if not candidates:
            return ConsentDecision(False, f"同意の範囲に「{label}」での共有が含まれていません。")
    if item is not None:
        label = schemas.INFO_ITEM_LABELS.get(item, item)
        candidates = [c for c in candidates if item in c.items]
        if not candidates:
            return ConsentDecision(False, f"同意の範囲に「{label}」の共有が含まれていません。")
    if purpose is not None:
        candidates = [c for c in candidates if purpose in c.purposes]
        if not candidates:
            return ConsentDecision(False, f"同意の利用目的に「{consent_purposes.label_of(purpose, labels)}」が含まれていません。")
    chosen = candidates[0]
    named = "・".join(consent_purposes.label_of(p, labels) for p in chosen.purposes)
    return ConsentDecision(True, f"{chosen.given_on.isoformat()}に得た同意（目的: {named[:60]}）の範囲内です。",
                           chosen.id)


# -- agencies, sharing, referrals -------------------------------------------------------------------------------


async def create_agency(session: AsyncSession, data: Mapping[str, Any] | schemas.AgencyIn) -> Agency:
    parsed = data if isinstance(data, schemas.AgencyIn) else schemas.parse_agency(data)
    agency = Agency(name=parsed.name, kind=parsed.kind, field=parsed.field, contact=parsed.contact)
    session.add(agency)
    await session.flush()
    await record(session, AuditAction.CREATE, "agency", agency.id)
    return agency


async def list_agencies(session: AsyncSession, *, active_only: bool = True) -> list[Agency]:
    stmt = select(Agency).order_by(Agency.name, Agency.id)
    if active_only:
        stmt = stmt.where(Agency.active.is_(True))
    return list(await session.scalars(stmt))


async def get_agency(session: AsyncSession, agency_id: uuid.UUID | str) -> Agency:
    agency = await session.get(Agency, (_current_tenant(), _uuid(agency_id, "機関")))
    if agency is None:
        raise NotFound("機関が見つかりません。")
    return agency


async def agency_staff(session: AsyncSession, agency_id: uuid.UUID) -> list[AgencyStaff]:
    return list(await session.scalars(select(AgencyStaff).where(AgencyStaff.agency_id == agency_id)
                                      .order_by(AgencyStaff.id)))


async def add_agency_staff(session: AsyncSession, agency: Agency, data: Mapping[str, Any]) -> AgencyStaff:
    r = schemas.Reader(data)
    sub = r.text("user_sub", "職員", 64)
    if not sub:
        r.fail("user_sub", "登録する職員を、氏名やふりがなで探して選んでください。")
    name = r.text("display_name", "職員の氏名", schemas.MAX_NAME)
    r.done()
    staff = AgencyStaff(agency_id=agency.id, user_sub=sub, display_name=name)
    session.add(staff)
    await session.flush()
    await record(session, AuditAction.UPDATE, "agency", agency.id, reason="staff added")
    return staff


async def share_with_agency(session: AsyncSession, case: SupportCase, agency_id: uuid.UUID | str,
                            role: str | None = None, *, meeting_kind: str | None = None) -> CaseAgency:
    """Share the case with an agency (it joins the case's team). Refused unless ``check_sharing`` allows it."""
    agency = await get_agency(session, agency_id)
    decision = await check_sharing(session, case.id, agency.id, meeting_kind)
    if not decision.allowed:
        raise SharingRefused(decision.reason_ja)
    existing = await session.scalar(select(CaseAgency).where(CaseAgency.case_id == case.id,
                                                             CaseAgency.agency_id == agency.id,
                                                             CaseAgency.ended_at.is_(None)))
    if existing is not None:
        return existing
    share = CaseAgency(case_id=case.id, agency_id=agency.id, role=role, consent_id=decision.consent_id,
                       shared_by=_actor())
    session.add(share)
    await session.flush()
    await record(session, AuditAction.UPDATE, "case", case.id, reason=f"shared with agency {agency.id}")
    return share


async def refer(session: AsyncSession, case: SupportCase, data: Mapping[str, Any] | schemas.ReferralIn) -> Referral:
    """紹介（つなぎ）to another agency: passing the case on is sharing, so consent is checked now."""
    parsed = data if isinstance(data, schemas.ReferralIn) else schemas.parse_referral(data)
    await _check_agencies(session, [parsed.to_agency_id], lambda n: "to_agency_id")
    await _check_agencies(session, [parsed.from_agency_id], lambda n: "from_agency_id")
    decision = await check_sharing(session, case.id, parsed.to_agency_id)
    if not decision.allowed:
        raise SharingRefused(decision.reason_ja)
    referral = Referral(case_id=case.id, from_agency_id=parsed.from_agency_id, to_agency_id=parsed.to_agency_id,
                        reason=parsed.reason, referred_by=_actor())
    session.add(referral)
    await session.flush()
    await record(session, AuditAction.CREATE, "referral", referral.id)
    return referral


async def get_referral(session: AsyncSession, referral_id: uuid.UUID | str) -> Referral:
    referral = await session.get(Referral, (_current_tenant(), _uuid(referral_id, "紹介")))
    if referral is None:
        raise NotFound("紹介が見つかりません。")
    return referral


async def may_respond(session: AsyncSession, principal: Principal, referral: Referral) -> bool:
    if principal.is_prefecture:
        return False
    if principal.has_role(Role.COORDINATOR):
        return True
    return await session.scalar(select(AgencyStaff.id).where(AgencyStaff.agency_id == referral.to_agency_id,
                                                             AgencyStaff.user_sub == principal.sub).limit(1)) is not None


async def respond_referral(session: AsyncSession, principal: Principal, referral: Referral, accept: bool,
                           data: Mapping[str, Any]) -> Referral:
    """受諾 (the case is shared with the receiving agency, consent checked again) or 辞退 (reason required)."""
    if not await may_respond(session, principal, referral):
        raise Forbidden("紹介に回答できるのは、紹介先の機関の職員かコーディネーターです。")
    reason = schemas.parse_reason(data, "辞退の理由" if not accept else "回答のコメント", required=not accept)
    if referral.status != "pending":
        raise CaseError("この紹介にはすでに回答済みです。")
    if accept:
        case = await get_case(session, referral.case_id, for_update=True)
        await share_with_agency(session, case, referral.to_agency_id, "紹介を受諾")
    referral.status = "accepted" if accept else "declined"
    referral.response_reason = reason
    referral.responded_by = _actor()
    referral.responded_at = utc_now()
    await session.flush()
    await record(session, AuditAction.UPDATE, "referral", referral.id, reason=referral.status)
    return referral


# -- the whole case, for a page or a JSON document ----------------------------------------------------------------


@dataclass
class CaseFile:
    """Everything about one case that its page shows."""

    case: SupportCase
    household: Household
    members: list[Member]
    person: Person | None
    assignees: list[CaseAssignee]
    consents: list[Consent]
    assessments: list[tuple[Assessment, list[AssessmentItem]]]
    plans: list[tuple[SupportPlan, list[PlanRole]]]
    records: list[ProgressRecord]
    evaluations: list[Evaluation]
    agencies: list[tuple[CaseAgency, Agency]]
    referrals: list[Any]  # Referral rows as read (``row_as_read``): reasons only within REFERRAL_REASON_ITEM
    history: list[Any]  # CaseStatusChange rows as read: reasons only within STATUS_REASON_ITEM
    all_agencies: list[Any] = field(default_factory=list)  # (id, name) of every agency: names and choices
    steps: list[extensions.StepState] = field(default_factory=list)  # plugin steps at the current status
    extras: list[tuple[str, str]] = field(default_factory=list)  # (label, answer) of the plugin intake fields
    items: frozenset[str] = ALL_ITEMS  # what the reader may see (core.cases.access.readable_items)
    purpose_labels: dict[str, str] = field(default_factory=dict)
    stage_facts: Any = None  # core.cases.file_query.StageFacts, read with the file for the page's stage

    def shows(self, item: str) -> bool:
        """Is ``item`` (基本情報, 相談内容, アセスメント, プラン, 支援経過記録) inside the reader's consent scope?"""
        return item in self.items

    @property
    def hidden_items(self) -> list[str]:
        return [label for code, label in schemas.INFO_ITEM_LABELS.items() if code not in self.items]

    @property
    def next_steps(self) -> list[workflow.Transition]:
        return workflow.allowed_from(self.case.status)

    def consent_valid(self, consent: Consent) -> bool:
        return _valid_on(consent, today())

    def person_name(self, person_id: uuid.UUID | None) -> str:
        return next((m.person.name for m in self.members if m.person.id == person_id), "—")

    def agency_name(self, agency_id: uuid.UUID | None) -> str:
        return self._agency_names.get(agency_id, "—")

    @functools.cached_property
    def _agency_names(self) -> dict[uuid.UUID, str]:
        return {a.id: a.name for a in self.all_agencies}

    @functools.cached_property
    def agency_choices(self) -> dict[str, str]:
        """id → name of every agency, in the order read (by name): the choices of the page's agency fields."""
        return {str(a.id): a.name for a in self.all_agencies}

    @functools.cached_property
    def member_choices(self) -> dict[str, str]:
        """id → 「name（relationship）」 of the household's current members: who may have given a consent."""
        return {str(m.person.id): f"{m.person.name}（{m.membership.relationship}）" for m in self.members if m.current}


def referral_as_read(referral: Referral, items: frozenset[str]) -> Any:
    """A referral as a reader with ``items`` may read it: its reason and the answer are free text about the person
    (``REFERRAL_REASON_ITEM``), left empty outside it — in a copy (``row_as_read``), the row stays as it is."""
    return row_as_read(referral, () if REFERRAL_REASON_ITEM in items else ("reason", "response_reason"))


def status_change_as_read(change: CaseStatusChange, items: frozenset[str]) -> Any:
    """A status change as a reader with ``items`` may read it: the reason (終結・中断の理由, a meeting's decision
    note) only within ``STATUS_REASON_ITEM``."""
    return row_as_read(change, () if STATUS_REASON_ITEM in items else ("reason",))


async def case_file(session: AsyncSession, case: SupportCase, principal: Principal | None, *,
                    basis: str | None = None) -> CaseFile:
    """Everything about the case that ``principal`` may read: items outside their consent scope are left out here
    (not just hidden by a template), so the page, the JSON document, the printed forms and any later reader get the
    same cut. The reader is a required argument: ``None`` (every item) is for internal use with no person reading
    (exports of the whole tenant), and must be said, never fallen into by leaving the reader out. ``basis`` is the
    reader's ``access_basis`` when the caller has just established it (``open_case_with_basis``)."""
    items = ALL_ITEMS if principal is None else await readable_items(session, principal, case.id, basis)
    # one round trip for the household, the people and every list below (core/cases/file_query.py); the parts
    # outside the reader's items are not even read
    rows = await read_case_file_rows(session, case.id, case.household_id, assessments="assessment" in items,
                                     plans="plan" in items, records="records" in items)
    return await _file_of(session, case, items, rows)


async def _file_of(session: AsyncSession, case: SupportCase, items: frozenset[str], rows: CaseFileRows) -> CaseFile:
    """The case file of ``rows``, read with the parts ``items`` lets the reader see."""
    if rows.household is None:
        raise NotFound("世帯が見つかりません。")
    members = [Member(p, m) for p, m in rows.members]
    consultation = "consultation" in items
    return CaseFile(
        case=case, household=rows.household, members=members,
        person=next((m.person for m in members if m.person.id == case.person_id), None),
        assignees=rows.assignees, consents=rows.consents, assessments=rows.assessments, plans=rows.plans,
        records=rows.records, evaluations=rows.evaluations, agencies=rows.agencies,
        referrals=[referral_as_read(r, items) for r in rows.referrals],
        history=[status_change_as_read(h, items) for h in rows.history],
        all_agencies=rows.all_agencies,
        steps=await step_states(session, case),
        extras=[(f.label, extensions.display_value(f, case.extras[f.name]))
                for f in await extensions.intake_fields(session) if f.name in (case.extras or {})] if consultation else [],
        items=items, purpose_labels=await consent_purposes.purpose_labels(session), stage_facts=rows.stage_facts,
    )


async def household_cases(session: AsyncSession, household_id: uuid.UUID, principal: Principal) -> list[SupportCase]:
    return list(await session.scalars(select(SupportCase).where(SupportCase.household_id == household_id,
                                                                visible_clause(principal))
                                      .order_by(SupportCase.received_on.desc())))


async def readable_cases(session: AsyncSession, principal: Principal,
                         found: list[SupportCase]) -> list[tuple[SupportCase, frozenset[str]]]:
    """Each case with the items ``principal`` may read of it (``readable_items``), for a document that carries
    whole case rows besides the case's own (the household document): audited as a READ of each case, like
    opening it, and to be shown through the item filter (``CONSULTATION_COLUMNS``)."""
    rows = []
    for case in found:
        basis = await access_basis(session, principal, case.id)
        await record(session, AuditAction.READ, "case", case.id, reason=f"household basis={basis}")
        rows.append((case, await readable_items(session, principal, case.id, basis)))
    return rows


async def list_households(session: AsyncSession, principal: Principal, limit: int = 200) -> list[Household]:
    """The households of the cases ``principal`` may see (label and address: personal data), audited as a READ of
    the list like the case list (``core.cases.search.search_cases``)."""
    visible = select(SupportCase.household_id).where(visible_clause(principal))
    households = list(await session.scalars(select(Household).where(Household.id.in_(visible))
                                            .order_by(Household.id.desc()).limit(limit)))
    await record(session, AuditAction.READ, "household_list", None, reason=f"rows={len(households)}")
    return households


def touch(case: SupportCase) -> None:
    """Mark the case changed (``updated_at``) when only its children changed."""
    case.updated_at = utc_now()

