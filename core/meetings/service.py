"""Rules and transactions of the meetings domain (会議). Controllers parse and render; everything else is here.

- ``create_meeting`` / ``add_organiser`` / ``add_member`` / ``acknowledge_confidentiality``: a staff member is
  named by the ``sub`` of an entry of the tenant's staff directory (``core.auth.staff_directory``) and takes its
  name from there; an external participant has a typed name and organisation.
- ``add_agenda_item``: puts a case on the agenda *after* ``cases.service.check_sharing`` for the meeting's kind;
  a refusal raises ``SharingRefused`` with the Japanese reason, nothing is stored.
- ``decide``: a decision on an agenda item, checked by ``core.meetings.decisions.refusal`` (what the kind may
  decide, the case's state, consent, the meeting's date, membership, finalised minutes), then carried to the case
  through the cases service (``agree_plan`` without 支援決定, ``transition``). ``decide_support``: the
  municipality's 支援決定 after a plan agreement, by a deciding role, recorded with who and when.
- ``meeting_access``: a confidential meeting (支援会議) is ``FULL`` only for members who acknowledged secrecy
  themselves; an unacknowledged member or a coordinator who is not a member gets ``LIMITED`` (facts and members,
  no case and no minutes: 403); anyone else ``NotFound`` (404), audited as DENIED.
- ``agenda_scope`` / ``agenda``: of a meeting the reader may read in full, each agenda case is read whole by its
  members, coordinators and tenant admins, and by anyone else only as ``core.cases.access`` lets them read that
  case (「閲覧権限のないケース」 otherwise): the page, the JSON and the minutes PDF all take it from ``agenda``.
- ``acknowledge_confidentiality``: a staff member acknowledges only for themselves; an external participant's
  acknowledgement is recorded by the chair with the method (書面・口頭) and date.
- ``seat_meeting`` / ``carry_agenda``: a plugin kind's seats (chaired_by / attended_by) are filled from
  ``meeting_seat``; cases the previous kind referred on (次回検討) are carried onto the next meeting's agenda.
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

from sqlalchemy import and_, bindparam, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Bundle, aliased

from core import wareki
from core.audit.trail import AuditAction, current_actor, record
from core.auth import staff_directory
from core.auth.principal import Principal, Role
from core.businesses import Business, count_by_business, fiscal_year_bounds, read_businesses
from core.cases import service as cases
from core.text_rules import text_problem
from core.wareki import DATETIME_FORMS, parse_datetime
from core.cases import workflow
from core.cases.access import MEETING_NOTES_ITEM, row_as_read
from core.cases.models import SupportCase
from core.cases.service import CaseError, Forbidden, NotFound, SharingRefused
from core.cases.schemas import ValidationFailed
from core.database import utc_now
from core.tenancy.context import current_tenant_id
from core.meetings import decisions as rules_table
from core.meetings.decisions import KindRules
from core.meetings.kinds import MEMBER_ROLE_LABELS, merge, sharing_kind
from core.meetings.models import AgendaItem, Meeting, MeetingMember, MeetingSeat
from core.plugin_types import MeetingKindDefinition, RoleDefinition
from core.wareki import TOKYO, jdate, jdatetime

__all__ = ["CaseError", "DecisionRefused", "Forbidden", "NotFound", "SharingRefused", "ValidationFailed"]


class DecisionRefused(CaseError):
    """A decision the meeting may not take now (``core.meetings.decisions.refusal`` says which rule)."""

    status = 409
    title = "この決定は記録できません"


SECRECY_REFUSAL = ("この支援会議のケースと議事録は、守秘義務の確認を記録した参加者だけが見られます（社会福祉法第106条の6）。"
                   "参加者の方は、ご自身で「守秘義務を確認する」を押してください。")
ACK_METHODS = {"self": "本人が確認", "written": "書面", "oral": "口頭"}
CHAIR_ROLES = ("leader", "deputy")
SEAT_ROLES = (Role.COORDINATOR, Role.TENANT_ADMIN)  # who may say who holds a seat (推進員 A–E)

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
            value = parse_datetime(raw)
        except ValueError:
            value = None
    if value is None:
        errors.append({"field": key, "message": f"{label}は {DATETIME_FORMS} の形で入力してください。"})
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
    businesses, business_error = read_businesses(data)
    if business_error:
        errors.append({"field": "businesses", "message": business_error})
    if errors:
        raise ValidationFailed(errors)
    meeting = Meeting(kind=kind, title=title or kinds[kind].label, starts_at=starts, ends_at=ends, place=place,
                      online_url=online, created_by=_actor(),
                      businesses=businesses or [Business.MULTI_AGENCY.value])  # 支援会議・重層的支援会議: 多機関協働
    session.add(meeting)
    await session.flush()
    await record(session, AuditAction.CREATE, "meeting", meeting.id)
    return meeting


@dataclass
class Scheduled:
    meeting: Meeting
    empty_seats: list[str]  # plugin roles the kind seats but nobody holds (meeting_seat)
    waiting: list["Carry"]  # referred cases that could not be carried onto this agenda yet


async def schedule(session: AsyncSession, data: Mapping[str, Any], kinds: Mapping[str, MeetingKindDefinition],
                   roles: Mapping[str, RoleDefinition], principal: Principal) -> Scheduled:
    """Register a meeting, seat it (plugin seats, then the organiser) and carry the referred cases onto it."""
    meeting = await create_meeting(session, data, kinds)
    empty = await seat_meeting(session, meeting, kinds[meeting.kind], roles)
    await add_organiser(session, meeting, principal)
    waiting = await carry_agenda(session, meeting, kinds, principal)
    return Scheduled(meeting, empty, waiting)


async def list_meetings(session: AsyncSession, principal: Principal, kinds: Mapping[str, MeetingKindDefinition], *,
                        start: dt.date | None = None, end: dt.date | None = None, limit: int = 500) -> list[Meeting]:
    """The meetings ``principal`` may see at all (``meeting_access`` not None), in one statement."""
    stmt = (select(Meeting).where(visible_meetings_clause(principal, kinds))
            .order_by(Meeting.starts_at, Meeting.id).limit(limit))
    if start:
        stmt = stmt.where(Meeting.starts_at >= dt.datetime.combine(start, dt.time(), JST))
    if end:
        stmt = stmt.where(Meeting.starts_at < dt.datetime.combine(end, dt.time(), JST))
    return list(await session.scalars(stmt))


_SEATING_ORDER = {"leader": 0, "deputy": 1, "required": 2, "by_topic": 3}


def _seated(rows) -> list[MeetingMember]:
    """Members in the order the page lists them: the chair, the deputy, required, then by topic (each by id)."""
    return sorted(rows, key=lambda m: (_SEATING_ORDER.get(m.member_role, 9), m.id))


def _seat_of(seated: list[MeetingMember], sub: str | None) -> MeetingMember | None:
    """``sub``'s own seat among the members already read (a staff member sits in a meeting once)."""
    return next((m for m in seated if m.user_sub and m.user_sub == sub), None)


async def members(session: AsyncSession, meeting_id: uuid.UUID) -> list[MeetingMember]:
    return _seated(await session.scalars(select(MeetingMember).where(MeetingMember.meeting_id == meeting_id)))


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
    """Whoever schedules a meeting is a member: its leader, unless the seats already gave it one (then by topic).
    A signed-in user the directory has not seen yet (a session older than the directory) is listed first."""
    await staff_directory.ensure_listed(session, principal)
    mine = await _member_of(session, meeting, principal.sub)
    if mine is not None:
        return mine
    has_leader = await session.scalar(select(MeetingMember.id).where(
        MeetingMember.meeting_id == meeting.id, MeetingMember.member_role == "leader").limit(1))
    return await add_member(session, meeting, {"user_sub": principal.sub,
                                               "member_role": "by_topic" if has_leader else "leader"})


async def _member_of(session: AsyncSession, meeting: Meeting, sub: str | None) -> MeetingMember | None:
    if not sub:
        return None
    return await session.scalar(select(MeetingMember).where(
        MeetingMember.meeting_id == meeting.id, MeetingMember.user_sub == sub).limit(1))


async def is_chair(session: AsyncSession, meeting: Meeting, principal: Principal) -> bool:
    """The chair: the member leading the meeting, or its deputy (進行・副)."""
    mine = await _member_of(session, meeting, principal.sub)
    return mine is not None and mine.member_role in CHAIR_ROLES


def chairs(seated: list[MeetingMember], principal: Principal) -> bool:
    """``is_chair`` from the meeting's members already read (``members``), for a page that shows them anyway."""
    mine = _seat_of(seated, principal.sub)
    return mine is not None and mine.member_role in CHAIR_ROLES


def _day(data: Mapping[str, Any], key: str, label: str, errors: list) -> dt.date | None:
    raw = data.get(key)
    if raw is None or raw == "":
        errors.append({"field": key, "message": f"{label}を入力してください。"})
        return None
    value = raw if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime) else None
    if isinstance(raw, str) and len(raw.strip()) == 10:
        try:
            value = dt.date.fromisoformat(raw.strip())
        except ValueError:
            value = None
    if value is None or value.year not in YEARS:
        errors.append({"field": key, "message": f"{label}は「2026-04-01」の形で入力してください。"})
        return None
    if value > wareki.today():
        errors.append({"field": key, "message": f"{label}に未来の日付は入力できません。"})
        return None
    return value


async def acknowledge_confidentiality(session: AsyncSession, meeting: Meeting, member_id, principal: Principal,
                                      data: Mapping[str, Any] | None = None) -> MeetingMember:
    """守秘義務の確認. A staff member acknowledges only for themselves, signed in; an external participant's
    acknowledgement (given on paper or orally) is recorded by the chair with the method and the date."""
    member = await session.scalar(select(MeetingMember).where(MeetingMember.id == _uuid(member_id, "参加者"),
                                                              MeetingMember.meeting_id == meeting.id))
    if member is None:
        raise NotFound("参加者が見つかりません。")
    if member.confidentiality_ack_at is not None:
        raise CaseError(f"{member.name}さんの守秘義務の確認は{jdate(member.confidentiality_ack_on)}に記録済みです。")
    if member.user_sub is not None:
        if member.user_sub != principal.sub:
            await record(session, AuditAction.DENIED, "meeting", meeting.id, reason="acknowledgement for another")
            raise Forbidden("守秘義務の確認は、参加者ご本人がログインして記録します。代わりに記録することはできません。")
        method, on = "self", wareki.today()
    else:
        if not await is_chair(session, meeting, principal):
            raise Forbidden("外部の参加者の守秘義務の確認は、会議の進行役（リーダー・サブリーダー）が記録します。")
        errors: list[dict[str, str]] = []
        method = _choice(data or {}, "method", {"written": 1, "oral": 1}, "確認の方法（書面・口頭）を選んでください。",
                         errors)
        if method is None and not errors:
            errors.append({"field": "method", "message": "確認の方法（書面・口頭）を選んでください。"})
        on = _day(data or {}, "acknowledged_on", "確認した日", errors)
        if errors:
            raise ValidationFailed(errors)
    member.confidentiality_ack_at = utc_now()
    member.confidentiality_ack_method, member.confidentiality_ack_on = method, on
    member.confidentiality_ack_by = principal.sub
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason=f"confidentiality acknowledged ({method})")
    return member


def is_confidential(kind: MeetingKindDefinition | None) -> bool:
    return kind is None or kind.confidential  # an unknown kind (plugin disabled) is treated as confidential


async def is_member(session: AsyncSession, meeting: Meeting, who: Principal | str) -> bool:
    return await _member_of(session, meeting, who if isinstance(who, str) else who.sub) is not None


FULL, LIMITED = "full", "limited"


async def meeting_access(session: AsyncSession, meeting: Meeting, kind: MeetingKindDefinition | None,
                         principal: Principal) -> str | None:
    """``FULL`` (cases, decisions, minutes), ``LIMITED`` (the facts and members only) or None (not even that).

    A 支援会議 is FULL only for a member who acknowledged secrecy; a member who has not, and a coordinator who is
    not a member, see that it exists and who sits in it, and nothing about the cases."""
    mine = await _member_of(session, meeting, principal.sub) if is_confidential(kind) else None
    return _access_of(mine, kind, principal)


def meeting_access_among(seated: list[MeetingMember], kind: MeetingKindDefinition | None,
                         principal: Principal) -> str | None:
    """``meeting_access`` from the meeting's members already read (``members``), for a page that shows them."""
    return _access_of(_seat_of(seated, principal.sub), kind, principal)


def _access_of(mine: MeetingMember | None, kind: MeetingKindDefinition | None, principal: Principal) -> str | None:
    """The rule of ``meeting_access``, given the reader's own seat in the meeting (None: not a member)."""
    if principal.is_prefecture or principal.tenant_id is None:
        return None
    if not is_confidential(kind):
        return FULL if principal.has_role(*EDIT_ROLES) else None
    if mine is not None:
        return FULL if mine.confidentiality_ack_at is not None else LIMITED
    return LIMITED if principal.has_role(Role.COORDINATOR) else None


def visible_meetings_clause(principal: Principal, kinds: Mapping[str, MeetingKindDefinition]):
    """SQL on ``Meeting``: the meetings ``meeting_access`` lets ``principal`` see at all (FULL or LIMITED), for
    lists — one statement instead of a membership query per meeting."""
    if principal.is_prefecture or principal.tenant_id is None:
        return false()
    open_kinds = [code for code, kind in kinds.items() if not is_confidential(kind)]
    member = exists().where(MeetingMember.meeting_id == Meeting.id, MeetingMember.user_sub == principal.sub)
    confidential = Meeting.kind.not_in(open_kinds)
    seen_confidential = confidential if principal.has_role(Role.COORDINATOR) else and_(confidential, member)
    if principal.has_role(*EDIT_ROLES):
        return or_(Meeting.kind.in_(open_kinds), seen_confidential)
    return seen_confidential


def full_access_clause(principal: Principal, kinds: Mapping[str, MeetingKindDefinition]):
    """SQL on ``Meeting``: the meetings whose cases and decisions ``principal`` may read — ``meeting_access`` is
    ``FULL`` — for reads across meetings (the latest decision on each case of 進捗確認), so a 支援会議 the reader
    has not acknowledged secrecy for does not show its decisions there either. A kind not in ``kinds`` (a plugin
    disabled since) is confidential, as ``is_confidential`` says."""
    if principal.is_prefecture or principal.tenant_id is None:
        return false()
    open_kinds = [code for code, kind in kinds.items() if not is_confidential(kind)]
    acknowledged = exists().where(MeetingMember.meeting_id == Meeting.id, MeetingMember.user_sub == principal.sub,
                                  MeetingMember.confidentiality_ack_at.is_not(None))
    confidential_full = and_(Meeting.kind.not_in(open_kinds), acknowledged)
    if principal.has_role(*EDIT_ROLES):
        return or_(Meeting.kind.in_(open_kinds), confidential_full)
    return confidential_full


async def open_meeting_with_members(session: AsyncSession, meeting_id, principal: Principal,
                                    kinds: Mapping[str, MeetingKindDefinition], *,
                                    full: bool = False) -> tuple[Meeting, list[MeetingMember]]:
    """The meeting and its members (``members``' order), in one statement, for who may see it; otherwise 404 and
    a DENIED audit event. ``full``: its cases and minutes are needed, so a LIMITED reader of a 支援会議 gets 403
    with the secrecy rule (audited as DENIED too). The access rule needs the reader's seat among the members.

    A confidential meeting (支援会議) is as good as absent for a non-member: the same 404 as an unknown id.
    Every meeting route opens its meeting here (``_open`` in ``ui/meetings/controller.py`` and
    ``core/meetings/api.py``)."""
    rows = (await session.execute(
        select(Meeting, MeetingMember)
        .outerjoin(MeetingMember, and_(MeetingMember.tenant_id == Meeting.tenant_id,
                                       MeetingMember.meeting_id == Meeting.id))
        .where(Meeting.id == _uuid(meeting_id)))).all()
    if not rows:
        raise NotFound("会議が見つかりません。")
    meeting = rows[0][0]
    seated = _seated(member for _meeting, member in rows if member is not None)
    access = meeting_access_among(seated, kinds.get(meeting.kind), principal)
    if access is None:
        await record(session, AuditAction.DENIED, "meeting", meeting.id, reason="not a member")
        raise NotFound("会議が見つかりません。")
    if full and access != FULL:
        await record(session, AuditAction.DENIED, "meeting", meeting.id, reason="secrecy not acknowledged")
        raise Forbidden(SECRECY_REFUSAL, title="守秘義務の確認が必要です")
    await record(session, AuditAction.READ, "meeting", meeting.id)
    return meeting, seated


def _refuse_if_finalised(meeting: Meeting, what: str) -> None:
    if meeting.minutes_finalised_at is not None:
        raise CaseError(f"議事録が確定しているため、{what}できません（確定: {jdatetime(meeting.minutes_finalised_at)}）。")


async def save_minutes(session: AsyncSession, meeting: Meeting, text_value: str | None) -> Meeting:
    _refuse_if_finalised(meeting, "議事録を変更")
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


async def finalise_minutes(session: AsyncSession, meeting: Meeting, principal: Principal) -> Meeting:
    """議事録の確定, by the chair or the municipality's coordinators (the meetings' 事務局): afterwards the minutes
    and the decisions stand as recorded."""
    if not principal.has_role(Role.COORDINATOR) and not await is_chair(session, meeting, principal):
        raise Forbidden("議事録を確定できるのは、会議の進行役（リーダー・サブリーダー）か推進員（コーディネーター）です。")
    _refuse_if_finalised(meeting, "もう一度確定")
    meeting.minutes_finalised_at, meeting.minutes_finalised_by = utc_now(), principal.sub
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason="minutes finalised")
    return meeting


# -- seats (推進員 A–E) -------------------------------------------------------------------------------------------


async def seat_holders(session: AsyncSession) -> dict[str, staff_directory.StaffEntry]:
    rows = await session.execute(select(MeetingSeat.duty_role, staff_directory.StaffEntry).join(
        staff_directory.StaffEntry, staff_directory.StaffEntry.user_sub == MeetingSeat.user_sub))
    return {role: entry for role, entry in rows.all()}


async def assign_seat(session: AsyncSession, duty_role: str, user_sub: str | None,
                      roles: Mapping[str, RoleDefinition]) -> MeetingSeat | None:
    """Who holds ``duty_role`` from now on (a person of the staff directory); empty ``user_sub`` frees the seat."""
    if duty_role not in roles:
        raise ValidationFailed([{"field": "duty_role", "message": "この団体の役割ではありません。"}])
    seat = await session.get(MeetingSeat, (current_tenant_id(), duty_role))
    if not user_sub:
        if seat is not None:
            await session.delete(seat)
        await record(session, AuditAction.UPDATE, "meeting_seat", None, reason=f"{duty_role} freed")
        return None
    if await staff_directory.find(session, user_sub) is None:
        raise ValidationFailed([{"field": duty_role, "message": "職員名簿にない職員です。"}])
    if seat is None:
        seat = MeetingSeat(duty_role=duty_role, user_sub=user_sub, assigned_by=_actor())
        session.add(seat)
    else:
        seat.user_sub, seat.assigned_by, seat.assigned_at = user_sub, _actor(), utc_now()
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting_seat", None, reason=f"{duty_role} assigned")
    return seat


async def staff_list(session: AsyncSession, limit: int = 300) -> list[staff_directory.StaffEntry]:
    """The tenant's staff directory in reading order, for the seat picker (a town's staff fit on one page)."""
    return list(await session.scalars(select(staff_directory.StaffEntry).order_by(
        staff_directory.StaffEntry.kana.nulls_last(), staff_directory.StaffEntry.display_name).limit(limit)))


def seats_of(kind: MeetingKindDefinition) -> list[tuple[str, str]]:
    """(duty role, member role) a kind seats automatically: chaired_by = leader then deputy; attended_by required."""
    seats = [(code, role) for code, role in zip(kind.chaired_by, ("leader", "deputy"))]
    seats += [(code, "required") for code in kind.attended_by if code not in kind.chaired_by]
    return seats


async def seat_meeting(session: AsyncSession, meeting: Meeting, kind: MeetingKindDefinition,
                       roles: Mapping[str, RoleDefinition]) -> list[str]:
    """Seat the kind's leader, deputy and required members from ``meeting_seat``; returns the roles left empty."""
    holders = await seat_holders(session)
    empty: list[str] = []
    for code, member_role in seats_of(kind):
        if code not in roles:
            continue
        holder = holders.get(code)
        if holder is None:
            empty.append(code)
            continue
        seated = await _member_of(session, meeting, holder.user_sub)
        if seated is None:
            await add_member(session, meeting, {"user_sub": holder.user_sub, "member_role": member_role,
                                                "duty_role": code}, roles)
    return empty


# -- agenda and decisions ---------------------------------------------------------------------------------------


@dataclass
class AgendaRow:
    item: Any  # the agenda item as this reader may read it (``row_as_read`` of AgendaItem)
    case: Any  # AGENDA_CASE: what the meeting shows of the case, not the whole case; None: withheld from this reader

    @property
    def withheld(self) -> bool:
        """The reader may not read this case: the row says only that an item is there (「閲覧権限のないケース」)."""
        return self.case is None


AGENDA_CASE = Bundle("case", SupportCase.id, SupportCase.case_number, SupportCase.status)
# what an agenda item says about its case, besides the case's number and status
AGENDA_CASE_TEXT = ("issues", "decision_note", "sharing_basis")


async def agenda_scope(session: AsyncSession, meeting: Meeting, principal: Principal,
                       seated: list[MeetingMember] | None = None):
    """The rule of what a reader of the meeting reads of each case on its agenda (page, JSON, minutes PDF and the
    cases carried from the previous meeting). Returns ``scope(case_id) -> (shown, with_text)``:

    - the meeting's members (who heard it there; of a 支援会議 only they get this far, once they acknowledged
      secrecy), coordinators (the meetings' 事務局) and tenant admins (who decide support on the item): all of it;
    - anyone else reads the case as the case page would let them (``core.cases.access``: the team, agencies under
      a consent in force today, break-glass): number and status, and the issues and the decision note only within
      ``MEETING_NOTES_ITEM`` of their consent, as the decision note is the reason of the status change it made;
    - others: nothing of the case (``shown`` False) — a staff member of the town may open a 重層的支援会議 but not
      every case on it.

    Consent is not asked again for members: it was checked for this meeting's kind when the case was put on the
    agenda and again for each decision that needs it; a reader outside the meeting meets today's consent through
    ``readable_items``. ``seated``: the meeting's members, when the caller has read them (``members``)."""
    whole = principal.has_role(Role.COORDINATOR, Role.TENANT_ADMIN) or (
        await is_member(session, meeting, principal) if seated is None
        else _seat_of(seated, principal.sub) is not None)

    async def scope(case_id: uuid.UUID) -> tuple[bool, bool]:
        if whole:
            return True, True
        items = await cases.readable_items(session, principal, case_id)
        return bool(items), MEETING_NOTES_ITEM in items

    return scope


async def agenda(session: AsyncSession, meeting: Meeting, principal: Principal,
                 seated: list[MeetingMember] | None = None) -> list[AgendaRow]:
    """The agenda as the meeting's page, JSON and minutes PDF show it to ``principal`` (``agenda_scope``): each
    case's number and status with the issues and decisions written about it — a read of that case, audited as such
    (READ of the case, the meeting as the reason), so the report of who saw a resident's data lists who read it on an
    agenda too. A case withheld from the reader is not read, and its row carries no case and no text."""
    found = (await session.execute(
        select(AgendaItem, AGENDA_CASE).join(SupportCase, SupportCase.id == AgendaItem.case_id)
        .where(AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.position, AgendaItem.id))).all()
    scope = await agenda_scope(session, meeting, principal, seated)
    seen: dict[uuid.UUID, tuple[bool, bool]] = {}
    for item, _case in found:
        if item.case_id not in seen:
            seen[item.case_id] = await scope(item.case_id)
            if seen[item.case_id][0]:
                await record(session, AuditAction.READ, "case", item.case_id, reason=f"meeting agenda {meeting.id}")
    rows = []
    for item, case in found:
        shown, with_text = seen[item.case_id]
        hidden = () if with_text else AGENDA_CASE_TEXT if shown else ("case_id", *AGENDA_CASE_TEXT)
        rows.append(AgendaRow(row_as_read(item, hidden), case if shown else None))
    return rows


async def add_agenda_item(session: AsyncSession, meeting: Meeting, kind: MeetingKindDefinition | None,
                          case_id, issues: str | None = None, *, principal: Principal | None = None,
                          carried_from: AgendaItem | None = None) -> AgendaItem:
    """Put a case on the agenda: sharing is checked now, for this meeting's kind; a refusal stores nothing.

    ``principal`` (the person adding it) must be able to see the case — a coordinator, its staff or agencies, or
    someone who opened it with a reason — or the agenda would show a case's number and status to anyone.
    """
    if kind is None:
        raise CaseError("この会議の種類は現在使われていません（プラグインが無効です）。")
    _refuse_if_finalised(meeting, "議題を追加")
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
                      sharing_basis=decision.reason_ja[:500], carried_from_id=carried_from.id if carried_from else None)
    session.add(item)
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason="agenda item added")
    await record(session, AuditAction.READ, "case", case.id, reason=f"shared at meeting {meeting.id}")
    return item




async def _item(session: AsyncSession, meeting: Meeting, item_id) -> AgendaItem:
    item = await session.scalar(select(AgendaItem).where(AgendaItem.id == _uuid(item_id, "議題"),
                                                         AgendaItem.meeting_id == meeting.id).with_for_update())
    if item is None:
        raise NotFound("議題が見つかりません。")
    return item


def _meeting_day(meeting: Meeting) -> dt.date:
    return meeting.starts_at.astimezone(JST).date()


async def _consent_reason(session: AsyncSession, rules: KindRules, case_id: uuid.UUID) -> str | None:
    """None when the case may be shared at this kind now (consent checked at the moment of deciding)."""
    if rules.runs_as == rules_table.SUPPORT_MEETING:
        return "支援会議は同意のないケースを扱う会議です。同意を得たケースは重層的支援会議で決めてください。"
    sharing = await cases.check_sharing(session, case_id, meeting_kind=sharing_kind(rules.kind))
    return None if sharing.allowed else sharing.reason_ja


async def decide(session: AsyncSession, meeting: Meeting, rules: KindRules | None, item_id, decision: str,
                 note: str | None, principal: Principal) -> AgendaItem:
    """Record the decision on an agenda item if the rule table allows it now, and carry it to the case."""
    if rules is None:
        raise CaseError("この会議の種類は現在使われていません（プラグインが無効です）。")
    item = await _item(session, meeting, item_id)
    errors: list[dict[str, str]] = []
    decision = _choice({"decision": decision}, "decision", rules_table.LABELS, "決定の内容を選んでください。", errors)
    if errors or decision is None:
        raise ValidationFailed(errors or [{"field": "decision", "message": "決定の内容を選んでください。"}])
    note = _text({"note": note}, "note", "決定の記録", 1000, errors)
    if errors:
        raise ValidationFailed(errors)
    if item.decision is not None:
        raise DecisionRefused(f"この議題はすでに「{rules_table.LABELS.get(item.decision, item.decision)}」と決定済みです"
                              f"（{jdatetime(item.decided_at)}）。決定は上書きできません。")
    case = await cases.get_case(session, item.case_id, for_update=True)
    plan = await cases.current_plan(session, case.id)
    needs_consent = decision in rules_table.DECISIONS and rules_table.DECISIONS[decision].needs_consent
    facts = rules_table.Facts(
        case_status=case.status, plan_version=plan.version if plan else None,
        plan_agreed_on=plan.agreed_on if plan else None,
        consent_reason=await _consent_reason(session, rules, case.id) if needs_consent else None,
        meeting_day=_meeting_day(meeting), today=wareki.today(),
        minutes_finalised_at=meeting.minutes_finalised_at, is_member=await is_member(session, meeting, principal))
    if refused := rules_table.refusal(rules, decision, facts):
        await record(session, AuditAction.DENIED, "meeting", meeting.id, reason=f"decision {decision} refused")
        raise DecisionRefused(refused)
    spec = rules_table.DECISIONS[decision]
    if spec.needs_reason and not note:
        raise ValidationFailed([{"field": "note", "message": f"{spec.label}の理由を入力してください。"}])
    if decision == "plan_agreed":
        await cases.agree_plan(session, case, note=note or f"{meeting.title}で合意", at_meeting=True)
    elif spec.to_status and spec.to_status != case.status:
        await cases.transition(session, case, spec.to_status, note)
    item.decision, item.decision_note = decision, note
    item.decided_at, item.decided_by = utc_now(), _actor()
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason=f"decision {decision}")
    return item


async def decide_support(session: AsyncSession, meeting: Meeting, rules: KindRules | None, item_id,
                         principal: Principal, note: str | None = None) -> AgendaItem:
    """支援決定: the municipality decides support on the plan this meeting agreed; who and when are recorded.

    Only a deciding role (``workflow.SUPPORT_DECISION_ROLES``), only on an item whose decision was プランに合意 at
    a kind that agrees plans, once, not before the meeting's day, and only while consent still covers it."""
    if not workflow.may_decide_support(principal):
        await record(session, AuditAction.DENIED, "meeting", meeting.id, reason="support decision: role")
        raise Forbidden(f"支援決定を記録できるのは市町村の{workflow.SUPPORT_DECISION_ROLE_LABEL}です。")
    if rules is None or not rules.agrees_plans:
        raise DecisionRefused("支援決定は、重層的支援会議（またはそれとして開催する会議）でプランに合意した後に行います。")
    item = await _item(session, meeting, item_id)
    if item.decision != "plan_agreed":
        raise DecisionRefused("この議題ではプランに合意していないため、支援決定できません。先に会議でプランに合意してください。")
    if item.support_decided_at is not None:
        raise DecisionRefused(f"支援決定はすでに記録されています（{item.support_decided_by_name}、"
                              f"{jdatetime(item.support_decided_at)}）。")
    if wareki.today() < _meeting_day(meeting):
        raise DecisionRefused(f"会議の日（{jdate(_meeting_day(meeting))}）より前には、支援決定できません。")
    if (reason := await _consent_reason(session, rules, item.case_id)) is not None:
        raise DecisionRefused(f"本人の同意が確認できないため、支援決定できません: {reason}")
    errors: list[dict[str, str]] = []
    note = _text({"note": note}, "note", "支援決定の記録", 500, errors)
    if errors:
        raise ValidationFailed(errors)
    case = await cases.get_case(session, item.case_id, for_update=True)
    if case.status != "planning":
        raise DecisionRefused("支援決定は「プラン作成」の段階のケースに行います（現在: "
                              f"{cases.schemas.STATUS_LABELS.get(case.status, case.status)}）。")
    await cases.transition(session, case, "decided", note or f"{meeting.title}での合意に基づき支援決定",
                           principal=principal)
    item.support_decided_at, item.support_decided_by = utc_now(), principal.sub
    item.support_decided_by_name = (principal.display_name or principal.username)[:255]
    await session.flush()
    await record(session, AuditAction.UPDATE, "meeting", meeting.id, reason="support decided")
    return item


async def awaiting_support_decision(session: AsyncSession) -> tuple[int, uuid.UUID | None]:
    """Plans agreed at a meeting whose case still waits for the municipality's 支援決定: how many, and the meeting
    of the oldest (for the deciding person's home page; a count, no personal data)."""
    waiting = (select(AgendaItem.meeting_id).join(SupportCase, SupportCase.id == AgendaItem.case_id)
               .where(AgendaItem.decision == "plan_agreed", AgendaItem.support_decided_at.is_(None),
                      SupportCase.status == "planning"))
    count = await session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    first = await session.scalar(waiting.order_by(AgendaItem.decided_at).limit(1)) if count else None
    return count, first


# -- the agenda carried from the previous meeting (コア会議 → 安心生活応援ネットワーク会議) ---------------------------


@dataclass
class Carry:
    item: Any  # the previous meeting's item that referred the case on (次回検討), or its copy as read
    case: Any  # the case's id, number and status (AGENDA_CASE), not the whole row
    reason: str | None = None  # why it could not be put on this agenda yet (e.g. no consent)


def _referred_statement():
    """Items referred on (次回検討) at meetings of the kinds ``referring_kinds`` held by ``meeting_starts_at``, whose
    case is open and not on a meeting of ``meeting_kind`` since: built once, as building its aliases cost the
    meeting page more than a third of its time when it was built for every request."""
    referring, here, later = aliased(Meeting), aliased(Meeting), aliased(AgendaItem)
    already_here = (select(later.id).join(here, here.id == later.meeting_id)
                    .where(later.case_id == AgendaItem.case_id, here.kind == bindparam("meeting_kind"),
                           here.starts_at >= referring.starts_at))
    return (select(AgendaItem, AGENDA_CASE).join(referring, referring.id == AgendaItem.meeting_id)
            .join(SupportCase, SupportCase.id == AgendaItem.case_id)
            .where(referring.kind.in_(bindparam("referring_kinds", expanding=True)),
                   referring.starts_at <= bindparam("meeting_starts_at"),
                   AgendaItem.decision == "refer_next", SupportCase.status.in_(workflow.OPEN_STATUSES),
                   ~exists(already_here))
            .order_by(AgendaItem.decided_at, AgendaItem.id))


_REFERRED = _referred_statement()


async def _referred(session: AsyncSession, meeting: Meeting, kinds: Mapping[str, MeetingKindDefinition]) -> list[Carry]:
    """Items referred on (次回検討) at meetings of a kind that leads to this one, not yet on a meeting of this kind."""
    before = [code for code, k in kinds.items() if meeting.kind in k.next_kinds]
    if not before:
        return []
    rows = await session.execute(_REFERRED, {"meeting_kind": meeting.kind, "referring_kinds": before,
                                             "meeting_starts_at": meeting.starts_at})
    seen: set[uuid.UUID] = set()
    carries = []
    for item, case in rows.all():
        if case.id not in seen:
            seen.add(case.id)
            carries.append(Carry(item, case))
    return carries


async def carry_agenda(session: AsyncSession, meeting: Meeting, kinds: Mapping[str, MeetingKindDefinition],
                       principal: Principal) -> list[Carry]:
    """Put the cases the previous meeting referred on onto this one (with their issues); returns those that could
    not be carried yet, each with the reason (no consent for this kind, not on the case …)."""
    waiting = []
    for carry in await _referred(session, meeting, kinds):
        try:
            async with session.begin_nested():
                await add_agenda_item(session, meeting, kinds.get(meeting.kind), carry.case.id, carry.item.issues,
                                      principal=principal, carried_from=carry.item)
        except CaseError as exc:
            carry.reason = exc.message
            waiting.append(carry)
    return waiting


async def waiting_carries(session: AsyncSession, meeting: Meeting, kinds: Mapping[str, MeetingKindDefinition],
                          principal: Principal, seated: list[MeetingMember] | None = None) -> list[Carry]:
    """For the meeting page: referred cases not on this kind's agenda yet, with why (checked now, nothing stored),
    as ``agenda_scope`` lets ``principal`` read them: a case they may not read is left out, its issues are read as
    an agenda item's (``Carry.item`` is then a copy, ``row_as_read``)."""
    kind = kinds.get(meeting.kind)
    scope = await agenda_scope(session, meeting, principal, seated)
    carries = []
    for carry in await _referred(session, meeting, kinds):
        shown, with_text = await scope(carry.case.id)
        if shown:
            carries.append(carry if with_text else Carry(row_as_read(carry.item, AGENDA_CASE_TEXT), carry.case))
    if kind is not None and not kind.confidential:
        decisions = await cases.check_sharing_in_meetings(session, [c.case.id for c in carries], sharing_kind(kind))
        for carry in carries:
            sharing = decisions[carry.case.id]
            carry.reason = None if sharing.allowed else sharing.reason_ja
    return carries


# -- follow-up and progress -------------------------------------------------------------------------------------


async def follow_up(session: AsyncSession, principal: Principal, *, within_days: int = 14,
                    on: dt.date | None = None) -> list[SupportCase]:
    """Open cases the principal may see whose plan review is due within ``within_days`` (or overdue)."""
    day = (on or wareki.today()) + dt.timedelta(days=within_days)
    return list(await session.scalars(
        select(SupportCase).where(SupportCase.status.in_(workflow.OPEN_STATUSES), SupportCase.review_on <= day,
                                  cases.visible_clause(principal))
        .order_by(SupportCase.review_on, SupportCase.case_number)))


@dataclass
class ProgressRow:
    case: SupportCase
    person_name: str  # 本人
    owners: list[str]  # 担当者 (current)
    last: AgendaItem | None  # the latest decision taken on it at any meeting


@dataclass
class ProgramRow:
    """A programme on the 進捗確認 list. The programme model names no owner (担当者), so the page says so and shows
    who recorded the attendance of its last held session instead (``recorded_by``, "" when nobody has)."""

    program: Any
    hub_name: str
    last_held_on: dt.date | None = None  # the last session held (not cancelled) on or before today
    recorded_by: str = ""


@dataclass
class Progress:
    rows: list[ProgressRow]
    programs: list[ProgramRow]

    @property
    def cases(self) -> list[SupportCase]:
        return [r.case for r in self.rows]

    @property
    def last_decision(self) -> dict[uuid.UUID, AgendaItem]:
        return {r.case.id: r.last for r in self.rows if r.last is not None}


async def progress_check(session: AsyncSession, principal: Principal,
                         kinds: Mapping[str, MeetingKindDefinition] | None = None) -> Progress:
    """The core meeting's 進捗確認: every open case (coordinators see all) with the person's name, its owners and
    the date of its last decision, and every active programme with its hub. The last decision is the latest taken
    at a meeting the reader may read in full (``full_access_clause`` over ``kinds``, the tenant's meeting kinds;
    core kinds only when not given, so a plugin kind counts as confidential)."""
    from core.cases.models import CaseAssignee, Person
    from core.programs.models import Hub, Program

    found = (await session.execute(
        select(SupportCase, Person.name).outerjoin(Person, Person.id == SupportCase.person_id)
        .where(SupportCase.status.in_(workflow.OPEN_STATUSES), cases.visible_clause(principal))
        .order_by(SupportCase.review_on.nulls_last(), SupportCase.case_number))).all()
    ids = [c.id for c, _ in found]
    last: dict[uuid.UUID, AgendaItem] = {}
    owners: dict[uuid.UUID, list[str]] = {}
    if ids:
        readable = select(Meeting.id).where(full_access_clause(principal, kinds if kinds is not None else merge(None)))
        for item in await session.scalars(select(AgendaItem).where(
                AgendaItem.case_id.in_(ids), AgendaItem.decision.is_not(None), AgendaItem.meeting_id.in_(readable))
                .order_by(AgendaItem.decided_at)):
            last[item.case_id] = item
        for a in await session.scalars(select(CaseAssignee).where(
                CaseAssignee.case_id.in_(ids), CaseAssignee.ended_at.is_(None)).order_by(CaseAssignee.role)):
            owners.setdefault(a.case_id, []).append(a.display_name or "")
    programs = (await session.execute(
        select(Program, Hub.name).outerjoin(Hub, Hub.id == Program.hub_id).where(Program.active.is_(True))
        .order_by(Program.name))).all()
    await record(session, AuditAction.READ, "case", None, reason="meeting progress check")
    return Progress([ProgressRow(c, name or "", owners.get(c.id, []), last.get(c.id)) for c, name in found],
                    await _program_rows(session, programs))


async def _program_rows(session: AsyncSession, programs) -> list[ProgramRow]:
    """Each programme with its last held session (Tokyo's today at the latest) and who recorded its attendance."""
    from core.programs.models import ProgramSession

    ids = [p.id for p, _ in programs]
    last: dict[uuid.UUID, ProgramSession] = {}
    if ids:
        today = wareki.today()
        counted = (ProgramSession.program_id.in_(ids), ProgramSession.status != "cancelled",
                   ProgramSession.held_on <= today)
        latest = (select(ProgramSession.program_id, func.max(ProgramSession.held_on).label("held_on"))
                  .where(*counted).group_by(ProgramSession.program_id).subquery())
        held = await session.scalars(select(ProgramSession).join(latest, and_(
            ProgramSession.program_id == latest.c.program_id, ProgramSession.held_on == latest.c.held_on))
            .where(*counted).order_by(ProgramSession.start_time))
        last = {row.program_id: row for row in held}  # of two sessions that day, the later one
    subs = {row.attendance_recorded_by for row in last.values() if row.attendance_recorded_by}
    names = {sub: (entry.display_name if (entry := await staff_directory.find(session, sub, include_retired=True))
                   else "") for sub in subs}
    rows = []
    for program, hub in programs:
        held_row = last.get(program.id)
        rows.append(ProgramRow(program, hub or "", held_row.held_on if held_row else None,
                               names.get(held_row.attendance_recorded_by or "", "") if held_row else ""))
    return rows


async def meetings_by_business(session: AsyncSession, fiscal_year: int) -> dict[str, int]:
    """Meetings held (started, Tokyo time) in the 年度, under each of the five 事業 they belong to."""
    start, end = (dt.datetime.combine(d, dt.time(), TOKYO) for d in fiscal_year_bounds(fiscal_year))
    return await count_by_business(session, Meeting, Meeting.starts_at >= start, Meeting.starts_at < end)
