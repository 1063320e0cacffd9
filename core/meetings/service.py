"""Rules and transactions of the meetings domain (会議). Controllers parse and render; everything else is here.

- ``create_meeting`` / ``add_organiser`` / ``add_member`` / ``acknowledge_confidentiality``: a staff member is
  named by the ``sub`` of an entry of the tenant's staff directory (``core.auth.staff_directory``) and takes its
  name from there; an external participant has a typed name and organisation.
- ``add_agenda_item``: puts a case on the agenda *after* ``cases.service.check_sharing`` for the meeting's kind;
  a refusal raises ``SharingRefused`` with the Japanese reason, nothing is stored.
- ``decide``: the decision on an agenda item updates the case through the cases service (``agree_plan``,
  ``transition``).
- ``open_minutes``: the minutes of a confidential meeting (支援会議) are for its members and the tenant's
  coordinators; anyone else gets ``NotFound`` (404) and the attempt is audited as DENIED.
- ``follow_up``: open cases whose review is due; ``progress_check``: every open case and active programme.

Kinds are passed in (``core.meetings.kinds.tenant_kinds``) so the service works without a request. Input comes
from forms (strings) and from JSON (anything): a value of the wrong type is a Japanese field error, never a 500.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Bundle

from core.audit.trail import AuditAction, current_actor, record
from core.auth import staff_directory
from core.auth.principal import Principal, Role
from core.cases import service as cases
from core.text_rules import text_problem
from core.cases import workflow
from core.cases.models import SupportCase
from core.cases.service import CaseError, Forbidden, NotFound, SharingRefused
from core.cases.schemas import ValidationFailed
from core.database import utc_now
from core.meetings.kinds import DECISION_LABELS, MEMBER_ROLE_LABELS, sharing_kind
from core.meetings.models import AgendaItem, Meeting, MeetingMember
from core.plugin_types import MeetingKindDefinition

__all__ = ["CaseError", "Forbidden", "NotFound", "SharingRefused", "ValidationFailed"]

EDIT_ROLES = (Role.STAFF, Role.COORDINATOR)
JST = dt.timezone(dt.timedelta(hours=9))


def _actor() -> str:
    return current_actor() or "system"


def _uuid(value, what="会議") -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what}が見つかりません。") from None


def _text(data: Mapping[str, Any], key: str, label: str, limit: int, errors: list, required=False) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        errors.append({"field": key, "message": text_problem(value, label, limit, multiline=True)})
        return None
    value = value.strip() if value is not None else None
    if not value:
        if required:
            errors.append({"field": key, "message": f"{label}を入力してください。"})
        return None
    if problem := text_problem(value, label, limit, multiline=True):
        errors.append({"field": key, "message": problem})
        return None
    return value


YEARS = range(2000, 2101)  # meetings of this system's lifetime; also keeps year 1 or 9999 away from the driver


def _when(data: Mapping[str, Any], key: str, label: str, errors: list, required=False) -> dt.datetime | None:
    raw = data.get(key)
    if raw is None or raw == "":
        if required:
            errors.append({"field": key, "message": f"{label}を入力してください。"})
        return None
    value = raw if isinstance(raw, dt.datetime) else None
    if isinstance(raw, str) and not text_problem(raw, label, 40, multiline=False):
        try:
            value = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            value = None
    if value is None:
        errors.append({"field": key, "message": f"{label}は「2026-04-01T10:00」の形で入力してください。"})
        return None
    if value.year not in YEARS:
        errors.append({"field": key, "message": f"{label}は2000年から2100年までの日時を入力してください。"})
        return None
    return value if value.tzinfo else value.replace(tzinfo=JST)


def _choice(data: Mapping[str, Any], key: str, allowed: Mapping[str, Any], message: str, errors: list,
            default: str | None = None) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        value = default
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        errors.append({"field": key, "message": message})
        return None
    return value


# -- meetings ---------------------------------------------------------------------------------------------------


async def create_meeting(session: AsyncSession, data: Mapping[str, Any],
                         kinds: Mapping[str, MeetingKindDefinition]) -> Meeting:
    errors: list[dict[str, str]] = []
    kind = _choice(data, "kind", kinds, "会議の種類を選んでください。", errors)
    if kind is None and not errors:
        errors.append({"field": "kind", "message": "会議の種類を選んでください。"})
    starts = _when(data, "starts_at", "開始日時", errors, required=True)
    ends = _when(data, "ends_at", "終了日時", errors)
    place = _text(data, "place", "場所", 200, errors)
    online = _text(data, "online_url", "オンライン会議のURL", 500, errors)
    title = _text(data, "title", "会議名", 200, errors)
    if not place and not online and not errors:
        errors.append({"field": "place", "message": "場所かオンライン会議のURLを入力してください。"})
    if starts and ends and ends < starts:
        errors.append({"field": "ends_at", "message": "終了日時は開始日時より後にしてください。"})
    if errors:
        raise ValidationFailed(errors)
    meeting = Meeting(kind=kind, title=title or kinds[kind].label, starts_at=starts, ends_at=ends, place=place,
                      online_url=online, created_by=_actor())
    session.add(meeting)
    await session.flush()
    await record(session, AuditAction.CREATE, "meeting", meeting.id)
    return meeting


async def get_meeting(session: AsyncSession, meeting_id) -> Meeting:
    meeting = await session.scalar(select(Meeting).where(Meeting.id == _uuid(meeting_id)))
    if meeting is None:
        raise NotFound("会議が見つかりません。")
    return meeting


async def list_meetings(session: AsyncSession, *, start: dt.date | None = None, end: dt.date | None = None,
                        limit: int = 500) -> list[Meeting]:
    stmt = select(Meeting).order_by(Meeting.starts_at, Meeting.id).limit(limit)
    if start:
        stmt = stmt.where(Meeting.starts_at >= dt.datetime.combine(start, dt.time(), JST))
    if end:
        stmt = stmt.where(Meeting.starts_at < dt.datetime.combine(end, dt.time(), JST))
    return list(await session.scalars(stmt))


async def members(session: AsyncSession, meeting_id: uuid.UUID) -> list[MeetingMember]:
    order = {"leader": 0, "deputy": 1, "required": 2, "by_topic": 3}
    rows = list(await session.scalars(select(MeetingMember).where(MeetingMember.meeting_id == meeting_id)
                                      .order_by(MeetingMember.id)))
    return sorted(rows, key=lambda m: order.get(m.member_role, 9))


async def add_member(session: AsyncSession, meeting: Meeting, data: Mapping[str, Any],
                     roles: Mapping[str, Any] | None = None) -> MeetingMember:
    """A member: staff (``user_sub`` of the tenant's staff directory; the name comes from there) or an external
    participant without an account (typed name + organisation). A staff member sits in a meeting once."""
    errors: list[dict[str, str]] = []
    sub = _text(data, "user_sub", "職員", 64, errors)
    staff = await staff_directory.find(session, sub) if sub else None
    if sub and staff is None:
        errors.append({"field": "user_sub", "message": "職員名簿にない職員です。氏名で検索して一覧から選んでください。"})
    elif staff is not None and await is_member(session, meeting, staff.user_sub):
        errors.append({"field": "user_sub", "message": f"{staff.display_name}さんはすでにこの会議の参加者です。"})
    name = staff.display_name[:100] if staff else _text(data, "name", "氏名", 100, errors, required=not sub)
    org = _text(data, "organisation", "所属", 100, errors)
    member_role = _choice(data, "member_role", MEMBER_ROLE_LABELS, "会議での役割を選んでください。", errors,
                          default="by_topic")
    duty = _choice(data, "duty_role", roles or {}, "この団体の役割ではありません。", errors)
    if not sub and not org and not errors:
        errors.append({"field": "organisation", "message": "外部の参加者は所属機関を入力してください。"})
    if errors:
        raise ValidationFailed(errors)
    member = MeetingMember(meeting_id=meeting.id, user_sub=sub, name=name, organisation=org,
                           member_role=member_role, duty_role=duty)
    session.add(member)
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason="member added")
    return member


async def add_organiser(session: AsyncSession, meeting: Meeting, principal: Principal) -> MeetingMember:
    """Whoever schedules a meeting is its first member and leads it; a signed-in user the directory has not seen
    yet (a session older than the directory) is listed first."""
    await staff_directory.ensure_listed(session, principal)
    return await add_member(session, meeting, {"user_sub": principal.sub, "member_role": "leader"})


async def acknowledge_confidentiality(session: AsyncSession, meeting: Meeting, member_id) -> MeetingMember:
    """The member acknowledged the duty of confidentiality of 支援会議 (守秘義務の確認)."""
    member = await session.scalar(select(MeetingMember).where(MeetingMember.id == _uuid(member_id, "参加者"),
                                                              MeetingMember.meeting_id == meeting.id))
    if member is None:
        raise NotFound("参加者が見つかりません。")
    member.confidentiality_ack_at = member.confidentiality_ack_at or utc_now()
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason="confidentiality acknowledged")
    return member


def is_confidential(kind: MeetingKindDefinition | None) -> bool:
    return kind is None or kind.confidential  # an unknown kind (plugin disabled) is treated as confidential


async def is_member(session: AsyncSession, meeting: Meeting, who: Principal | str) -> bool:
    sub = who if isinstance(who, str) else who.sub
    return await session.scalar(select(MeetingMember.id).where(
        MeetingMember.meeting_id == meeting.id, MeetingMember.user_sub == sub).limit(1)) is not None


async def may_see_minutes(session: AsyncSession, meeting: Meeting, kind: MeetingKindDefinition | None,
                          principal: Principal) -> bool:
    if principal.is_prefecture or principal.tenant_id is None:
        return False
    if not is_confidential(kind):
        return principal.has_role(*EDIT_ROLES)
    return principal.has_role(Role.COORDINATOR) or await is_member(session, meeting, principal)


async def open_meeting(session: AsyncSession, meeting_id, principal: Principal,
                       kinds: Mapping[str, MeetingKindDefinition]) -> Meeting:
    """The meeting with its agenda and minutes, for who may see them; otherwise 404 and a DENIED audit event.

    A confidential meeting (支援会議) is as good as absent for a non-member: the same 404 as an unknown id.
    """
    meeting = await get_meeting(session, meeting_id)
    if not await may_see_minutes(session, meeting, kinds.get(meeting.kind), principal):
        await record(session, AuditAction.DENIED, "meeting", meeting.id, reason="not a member")
        raise NotFound("会議が見つかりません。")
    await record(session, AuditAction.READ, "meeting", meeting.id)
    return meeting


async def save_minutes(session: AsyncSession, meeting: Meeting, text_value: str | None) -> Meeting:
    errors: list[dict[str, str]] = []
    value = _text({"minutes": text_value}, "minutes", "議事録", 20000, errors)
    if errors:
        raise ValidationFailed(errors)
    meeting.minutes = value
    meeting.minutes_updated_at = utc_now()
    meeting.minutes_updated_by = _actor()
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason="minutes")
    return meeting


# -- agenda and decisions ---------------------------------------------------------------------------------------


@dataclass
class AgendaRow:
    item: AgendaItem
    case: Any  # AGENDA_CASE: what the meeting shows of the case, not the whole case


AGENDA_CASE = Bundle("case", SupportCase.id, SupportCase.case_number, SupportCase.status)


async def agenda(session: AsyncSession, meeting_id: uuid.UUID) -> list[AgendaRow]:
    rows = await session.execute(
        select(AgendaItem, AGENDA_CASE).join(SupportCase, SupportCase.id == AgendaItem.case_id)
        .where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.position, AgendaItem.id))
    return [AgendaRow(i, c) for i, c in rows.all()]


async def add_agenda_item(session: AsyncSession, meeting: Meeting, kind: MeetingKindDefinition | None,
                          case_id, issues: str | None = None, *, principal: Principal | None = None) -> AgendaItem:
    """Put a case on the agenda: sharing is checked now, for this meeting's kind; a refusal stores nothing.

    ``principal`` (the person adding it) must be able to see the case — a coordinator, its staff or agencies, or
    someone who opened it with a reason — or the agenda would show a case's number and status to anyone.
    """
    if kind is None:
        raise CaseError("この会議の種類は現在使われていません（プラグインが無効です）。")
    if case_id is None or case_id == "":
        raise ValidationFailed([{"field": "case_id", "message": "議題にするケースを指定してください。"}])
    try:
        case_uuid = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(case_id) if isinstance(case_id, str) \
            else None
    except ValueError:
        case_uuid = None
    if case_uuid is None:
        raise ValidationFailed([{"field": "case_id",
                                 "message": "ケースIDの形式が正しくありません（ケースの画面のURLにあるIDです）。"}])
    case = await cases.get_case(session, case_uuid)
    if principal is not None and await cases.access_basis(session, principal, case.id) is None:
        await record(session, AuditAction.DENIED, "case", case.id, reason=f"agenda {meeting.kind}: not on the case")
        raise Forbidden("このケースを議題にできるのは、担当者・関係機関の職員・コーディネーターです。"
                        "担当外のときは、ケースの画面で閲覧の理由を記録してから追加してください。")
    decision = await cases.check_sharing(session, case.id, meeting_kind=sharing_kind(kind))
    if not decision.allowed:
        await record(session, AuditAction.DENIED, "case", case.id, reason=f"agenda {meeting.kind}: no consent")
        raise SharingRefused(f"「{kind.label}」の議題にできません: {decision.reason_ja}")
    errors: list[dict[str, str]] = []
    issues = _text({"issues": issues}, "issues", "課題", 4000, errors)
    if errors:
        raise ValidationFailed(errors)
    position = (await session.scalar(select(func.max(AgendaItem.position))
                                     .where(AgendaItem.meeting_id == meeting.id)) or 0) + 1
    item = AgendaItem(meeting_id=meeting.id, case_id=case.id, position=position, issues=issues,
                      sharing_basis=decision.reason_ja[:500])
    session.add(item)
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason="agenda item added")
    await record(session, AuditAction.READ, "case", case.id, reason=f"shared at meeting {meeting.id}")
    return item


async def decide(session: AsyncSession, meeting: Meeting, item_id, decision: str, note: str | None = None) -> AgendaItem:
    """Record the decision on an agenda item and carry it to the case (cases service: agree_plan / transition)."""
    item = await session.scalar(select(AgendaItem).where(AgendaItem.id == _uuid(item_id, "議題"),
                                                         AgendaItem.meeting_id == meeting.id).with_for_update())
    if item is None:
        raise NotFound("議題が見つかりません。")
    errors: list[dict[str, str]] = []
    decision = _choice({"decision": decision}, "decision", DECISION_LABELS, "決定の内容を選んでください。", errors)
    if errors or decision is None:
        raise ValidationFailed(errors or [{"field": "decision", "message": "決定の内容を選んでください。"}])
    note = _text({"note": note}, "note", "決定の記録", 1000, errors)
    if errors:
        raise ValidationFailed(errors)
    case = await cases.get_case(session, item.case_id, for_update=True)
    label = DECISION_LABELS[decision]
    if decision == "plan_agreed":
        await cases.agree_plan(session, case, note=note or f"{meeting.title}で合意")
    elif decision == "support_decided":
        await cases.transition(session, case, "decided", note)
    elif decision == "start_support":
        await cases.transition(session, case, "supporting", note)
    elif decision in ("closed", "suspended"):
        if not note:
            raise ValidationFailed([{"field": "note", "message": f"{label}の理由を入力してください。"}])
        await cases.transition(session, case, decision, note)
    item.decision, item.decision_note = decision, note
    item.decided_at, item.decided_by = utc_now(), _actor()
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason=f"decision {decision}")
    return item


# -- follow-up and progress -------------------------------------------------------------------------------------


async def follow_up(session: AsyncSession, principal: Principal, *, within_days: int = 14,
                    on: dt.date | None = None) -> list[SupportCase]:
    """Open cases the principal may see whose plan review is due within ``within_days`` (or overdue)."""
    day = (on or dt.date.today()) + dt.timedelta(days=within_days)
    return list(await session.scalars(
        select(SupportCase).where(SupportCase.status.in_(workflow.OPEN_STATUSES), SupportCase.review_on <= day,
                                  cases.visible_clause(principal))
        .order_by(SupportCase.review_on, SupportCase.case_number)))


@dataclass
class Progress:
    cases: list[SupportCase]
    last_decision: dict[uuid.UUID, AgendaItem]
    programs: list[Any]


async def progress_check(session: AsyncSession, principal: Principal) -> Progress:
    """The core meeting's progress check: every open case (coordinators see all) and every active programme."""
    from core.programs.models import Program

    open_cases = list(await session.scalars(
        select(SupportCase).where(SupportCase.status.in_(workflow.OPEN_STATUSES), cases.visible_clause(principal))
        .order_by(SupportCase.review_on.nulls_last(), SupportCase.case_number)))
    last: dict[uuid.UUID, AgendaItem] = {}
    if open_cases:
        items = await session.scalars(select(AgendaItem).where(
            AgendaItem.case_id.in_([c.id for c in open_cases]), AgendaItem.decision.is_not(None))
            .order_by(AgendaItem.decided_at))
        for item in items:
            last[item.case_id] = item
    programs = list(await session.scalars(select(Program).where(Program.active.is_(True)).order_by(Program.name)))
    await record(session, AuditAction.READ, "case", None, reason="meeting progress check")
    return Progress(open_cases, last, programs)
