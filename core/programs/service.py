"""Rules and transactions of the programs domain. Every function runs in the caller's transaction (one per
request), so row-level security scopes it to the bound tenant; changes and reads of personal records (enrolled
people's names) are written to the audit trail in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.audit.trail import AuditAction, current_actor, record
from core.auth.principal import Principal
# Programmes use the cases domain only to link an enrolment to a case (参加支援): the read rule and the consent
# purpose are the cases domain's, so the check is asked of it rather than copied here.
from core.cases.access import CaseLinkRefused, linkable_case
from core.cases.consent_purposes import PARTICIPATION_SUPPORT
from core.database import detached_instance, request_driver
from core.programs import holidays
from core.programs.eligibility import Decision, NoRules, RuleSource, decide
from core.programs.models import (
    ActivityNote,
    Attendance,
    CommunityActivity,
    Enrolment,
    Hub,
    Partner,
    Program,
    ProgramSession,
    Resource,
    Slot,
)
from core.programs.schemas import (
    FIELDS,
    PROGRAM_KINDS,
    AttendanceInput,
    EnrolmentInput,
    ValidationFailed,
)
from core.tenancy.context import current_tenant_id
from core.text_rules import like_pattern, search_key


# who may enrol someone outside guidance (「概ね」) with a recorded reason: the coordinators of the tenant
OVERRIDE_ROLES = ("coordinator", "tenant-admin")


class ProgramError(Exception):
    """A refusal the person can act on: status, a Japanese message, and optionally the field it concerns."""

    def __init__(self, status: int, message: str, field: str | None = None, reasons: Sequence[str] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.reasons = tuple(reasons)


class NotEligible(ProgramError):
    """Enrolment refused by an eligibility rule; ``reasons`` say why, in Japanese."""

    def __init__(self, decision: Decision):
        super().__init__(422, "参加の条件を満たしていないため登録できません。", "eligibility", decision.reasons)
        self.decision = decision


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


async def _get(session: AsyncSession, model, object_id: Any, what: str):
    key = _uuid(object_id)
    row = await session.get(model, (current_tenant_id(), key)) if key else None
    if row is None:
        raise ProgramError(404, f"{what}が見つかりません。")
    return row


def _actor() -> str:
    return current_actor() or "system"


# -- hubs and programmes ---------------------------------------------------------------------------------------


async def create_hub(session: AsyncSession, values: dict[str, Any]) -> Hub:
    hub = Hub(**values)
    session.add(hub)
    await session.flush()
    await record(session, AuditAction.CREATE, "program_hub", hub.id)
    return hub


async def list_hubs(session: AsyncSession, *, active_only: bool = True) -> list[Hub]:
    query = select(Hub).order_by(Hub.name, Hub.id)
    if active_only:
        query = query.where(Hub.active.is_(True))
    return list(await session.scalars(query))


async def get_hub(session: AsyncSession, hub_id: Any) -> Hub:
    return await _get(session, Hub, hub_id, "拠点")


async def create_program(session: AsyncSession, values: dict[str, Any]) -> Program:
    await get_hub(session, values["hub_id"])
    program = Program(**{"businesses": [values.get("kind")], **values})  # by default the 事業 its kind names
    session.add(program)
    await session.flush()
    await record(session, AuditAction.CREATE, "program", program.id)
    return program


async def list_programs(session: AsyncSession, hub_id: Any = None) -> list[Program]:
    query = select(Program).where(Program.active.is_(True)).order_by(Program.name, Program.id)
    if hub_id is not None:
        query = query.where(Program.hub_id == _uuid(hub_id))
    return list(await session.scalars(query))


async def get_program(session: AsyncSession, program_id: Any) -> Program:
    return await _get(session, Program, program_id, "事業")


async def add_slot(session: AsyncSession, program_id: Any, values: dict[str, Any]) -> Slot:
    program = await get_program(session, program_id)
    slot = Slot(program_id=program.id, **values)
    session.add(slot)
    await session.flush()
    await record(session, AuditAction.CREATE, "program_slot", slot.id)
    return slot


async def list_slots(session: AsyncSession, program_ids: Iterable[uuid.UUID]) -> list[Slot]:
    ids = list(program_ids)
    if not ids:
        return []
    return list(await session.scalars(
        select(Slot).where(Slot.program_id.in_(ids)).order_by(Slot.start_time, Slot.id)))


# -- sessions --------------------------------------------------------------------------------------------------


@dataclass
class Generated:
    created: int = 0
    existing: int = 0
    holidays: list[tuple[dt.date, str]] = field(default_factory=list)


def slot_dates(slot: Slot, start: dt.date, end: dt.date) -> tuple[list[dt.date], list[tuple[dt.date, str]]]:
    """The dates of ``slot`` between start and end (inclusive), and the holidays that were skipped."""
    first = max(start, slot.valid_from) if slot.valid_from else start
    last = min(end, slot.valid_until) if slot.valid_until else end
    dates, skipped = [], []
    day = first
    while day <= last:
        if day.weekday() in slot.weekdays:
            name = holidays.holiday_name(day)
            if name:
                skipped.append((day, name))
            else:
                dates.append(day)
        day += dt.timedelta(days=1)
    return dates, skipped


async def generate_sessions(session: AsyncSession, program_id: Any, start: dt.date, end: dt.date) -> Generated:
    """Create the sessions of every slot of the programme in the range, skipping public holidays.

    Idempotent: a session that exists (same slot and day, even cancelled) is left as it is.
    """
    program = await get_program(session, program_id)
    result = Generated()
    for slot in await list_slots(session, [program.id]):
        dates, skipped = slot_dates(slot, start, end)
        result.holidays.extend(skipped)
        if not dates:
            continue
        existing = set(await session.scalars(
            select(ProgramSession.held_on).where(ProgramSession.slot_id == slot.id,
                                                 ProgramSession.held_on.in_(dates))))
        for day in dates:
            if day in existing:
                result.existing += 1
                continue
            session.add(ProgramSession(program_id=program.id, slot_id=slot.id, held_on=day,
                                       start_time=slot.start_time, end_time=slot.end_time,
                                       band_label=slot.band_label))
            result.created += 1
    result.holidays = sorted(set(result.holidays))
    await session.flush()
    if result.created:
        await record(session, AuditAction.CREATE, "program_session", program.id,
                     reason=f"generated {result.created} sessions {start.isoformat()}..{end.isoformat()}")
    return result


async def list_sessions(session: AsyncSession, program_id: Any = None, start: dt.date | None = None,
                        end: dt.date | None = None) -> list[ProgramSession]:
    query = select(ProgramSession).order_by(ProgramSession.held_on, ProgramSession.start_time, ProgramSession.id)
    if program_id is not None:
        query = query.where(ProgramSession.program_id == _uuid(program_id))
    if start:
        query = query.where(ProgramSession.held_on >= start)
    if end:
        query = query.where(ProgramSession.held_on <= end)
    return list(await session.scalars(query))


async def get_session(session: AsyncSession, session_id: Any) -> ProgramSession:
    return await _get(session, ProgramSession, session_id, "開催回")


async def cancel_session(session: AsyncSession, session_id: Any, reason: str) -> ProgramSession:
    held = await get_session(session, session_id)
    if held.status == "cancelled":
        raise ProgramError(409, "この開催回はすでに中止になっています。")
    held.status = "cancelled"
    held.cancel_reason = reason
    await session.flush()
    await record(session, AuditAction.UPDATE, "program_session", held.id, reason="cancelled")
    return held


# -- enrolment -------------------------------------------------------------------------------------------------


async def check_eligibility(session: AsyncSession, program: Program, data: EnrolmentInput,
                            rules: RuleSource | None = None) -> Decision:
    return await decide(rules or NoRules(), current_tenant_id() or "", program.code, data.applicant,
                        data.enrolled_on, min_age=program.min_age, max_age=program.max_age)


async def enrol(session: AsyncSession, program_id: Any, data: EnrolmentInput,
                rules: RuleSource | None = None, principal: Principal | None = None, *,
                may_override: bool = False) -> Enrolment:
    """Enrol a resident after the eligibility rules allowed it; raises ``NotEligible`` (nothing written) if not.

    A linked 相談ケース must be one ``principal`` may see, with a consent in force for 参加支援
    (``participation_support``); otherwise ``ValidationFailed`` on ``case_number`` (nothing written).
    A refusal by guidance alone (「概ね18歳～50歳」, ``Decision.overridable``) is not final: a coordinator
    (``may_override``) enrols the person anyway by giving ``data.override_reason``, which the enrolment keeps.
    """
    program = await get_program(session, program_id)
    case_id = None
    if data.case_ref:
        if principal is None:
            raise ValidationFailed([{"field": "case_number", "message": "相談ケースとつなぐには、ログインした職員の確認が必要です。"}])
        try:
            case_id = await linkable_case(session, principal, data.case_ref, purpose=PARTICIPATION_SUPPORT)
        except CaseLinkRefused as exc:
            raise ValidationFailed([{"field": "case_number", "message": exc.message}]) from None
    decision = await check_eligibility(session, program, data, rules)
    override = None
    if not decision.eligible:
        if not (decision.overridable and may_override and data.override_reason):
            if decision.overridable:
                hint = ("この条件は目安です。コーディネーターが「目安を外れて登録する理由」を記入すれば登録できます。"
                        if may_override or not data.override_reason else
                        "目安を外れての登録は、コーディネーターまたは団体管理者が行います。")
                decision = replace(decision, reasons=(*decision.reasons, hint))
            raise NotEligible(decision)
        override = data.override_reason
    enrolment = Enrolment(
        program_id=program.id, person_name=data.person_name, person_kana=data.person_kana, case_id=case_id,
        applicant=data.applicant.stored(), eligibility_rules=list(decision.rules), enrolled_on=data.enrolled_on,
        enrolled_by=_actor(), override_reason=override,
    )
    session.add(enrolment)
    await session.flush()
    await record(session, AuditAction.CREATE, "program_enrolment", enrolment.id)
    return enrolment


async def roster(session: AsyncSession, program_id: uuid.UUID, on: dt.date | None = None) -> list[Enrolment]:
    """The enrolled people of a programme (active on ``on`` when given); a read of personal records, audited."""
    query = select(Enrolment).where(Enrolment.program_id == program_id)
    if on is not None:
        query = query.where(Enrolment.enrolled_on <= on, or_(Enrolment.ended_on.is_(None), Enrolment.ended_on >= on))
    people = list(await session.scalars(query.order_by(Enrolment.person_kana, Enrolment.person_name, Enrolment.id)))
    if people:
        await record(session, AuditAction.READ, "program_enrolment", program_id, reason="roster")
    return people


async def end_enrolment(session: AsyncSession, enrolment_id: Any, ended_on: dt.date) -> Enrolment:
    enrolment = await _get(session, Enrolment, enrolment_id, "参加登録")
    enrolment.ended_on = ended_on
    await session.flush()
    await record(session, AuditAction.UPDATE, "program_enrolment", enrolment.id, reason="ended")
    return enrolment


# -- attendance ------------------------------------------------------------------------------------------------


async def attendance_of(session: AsyncSession, session_id: uuid.UUID) -> set[uuid.UUID]:
    return set(await session.scalars(select(Attendance.enrolment_id).where(Attendance.session_id == session_id)))


async def record_attendance(session: AsyncSession, session_id: Any, data: AttendanceInput, *,
                            today: dt.date | None = None) -> ProgramSession:
    """Replace the attendance of one session with ``data`` (one submission for the whole group).

    ``today`` (the pages and the API pass Tokyo's date): a session after it has not happened, and attendance
    recorded for it would count in the month's figures and the prefecture's aggregates.
    """
    held = await get_session(session, session_id)
    if held.status == "cancelled":
        raise ProgramError(409, "中止になった開催回には出席を記録できません。")
    if today is not None and held.held_on > today:
        raise ProgramError(409, f"この開催回（{held.held_on:%Y-%m-%d}）はまだ開催されていないため、出席を記録できません。"
                                "開催日以降に記録してください。")
    enrolled = {e.id for e in await roster(session, held.program_id, held.held_on)}
    strangers = data.present - enrolled
    if strangers:
        raise ValidationFailed([{"field": "present", "message": "この開催回の参加登録者ではない人が含まれています。"}])
    before = await attendance_of(session, held.id)
    removed = before - data.present
    if removed:
        await session.execute(delete(Attendance).where(Attendance.session_id == held.id,
                                                       Attendance.enrolment_id.in_(removed)))
    for enrolment_id in sorted(data.present - before):
        session.add(Attendance(session_id=held.id, enrolment_id=enrolment_id))
    held.anonymous_headcount = data.anonymous_headcount
    held.attendance_recorded_at = dt.datetime.now(dt.UTC)
    held.attendance_recorded_by = _actor()
    await session.flush()
    await record(session, AuditAction.UPDATE, "program_attendance", held.id,
                 reason=f"present={len(data.present)} anonymous={data.anonymous_headcount}")
    return held


# -- the weekly timetable --------------------------------------------------------------------------------------

TIME_AT_HUB = "時間は拠点で確認"  # a slot whose source names only the half-day (Slot.time_confirmed is false)
PERIODS = [("morning", "午前", dt.time(0, 0)), ("afternoon", "午後", dt.time(12, 0)), ("evening", "夜", dt.time(18, 0))]


def period_of(start: dt.time) -> str:
    key = PERIODS[0][0]
    for code, _, begins in PERIODS:
        if start >= begins:
            key = code
    return key


@dataclass(frozen=True)
class TimetableEntry:
    program: Program
    slot: Slot

    @property
    def times(self) -> str:
        if not getattr(self.slot, "time_confirmed", True):
            return TIME_AT_HUB
        return f"{self.slot.start_time:%H:%M}～{self.slot.end_time:%H:%M}"


@dataclass
class Timetable:
    hub: Hub
    rows: list[tuple[str, list[list[TimetableEntry]]]]  # (period label, 7 cells of entries)
    programs: list[Program]

    def entries(self) -> list[TimetableEntry]:
        return [e for _, cells in self.rows for cell in cells for e in cell]


# The hub, its active programmes (as ``list_programs`` orders them) and their slots (as ``list_slots`` does) in one
# statement on the request's connection, behind the same tenant wall: one round trip where the hub's timetable,
# one of the pages staff open most, asked three questions one after the other (docs/benchmarks.md, issue 23).
_TIMETABLE = """
SELECT (SELECT h FROM program_hub h WHERE h.id = $1) AS hub,
  ARRAY(SELECT p FROM program p WHERE p.hub_id = $1 AND p.active IS TRUE ORDER BY p.name, p.id) AS programs,
  ARRAY(SELECT s FROM program_slot s JOIN program p ON p.tenant_id = s.tenant_id AND p.id = s.program_id
        WHERE p.hub_id = $1 AND p.active IS TRUE ORDER BY s.start_time, s.id) AS slots
"""


async def timetable(session: AsyncSession, hub_id: Any, on: dt.date | None = None) -> Timetable:
    """The weekly grid of one hub: periods (午前・午後・夜) × Monday..Sunday, like the municipality's own sheet.
    The hub and its programmes are detached copies (a page shows them; changing one writes nothing)."""
    key = _uuid(hub_id)
    row = None
    if key is not None:
        driver, dialect = await request_driver(session)
        row = await driver.fetchrow(_TIMETABLE, key)
    if row is None or row["hub"] is None:
        raise ProgramError(404, "拠点が見つかりません。")
    hub = detached_instance(Hub, row["hub"], dialect)
    programs = [detached_instance(Program, r, dialect) for r in row["programs"]]
    by_id = {p.id: p for p in programs}
    grid = {code: [[] for _ in range(7)] for code, _, _ in PERIODS}
    for slot in (detached_instance(Slot, r, dialect) for r in row["slots"]):
        if on and ((slot.valid_from and slot.valid_from > on) or (slot.valid_until and slot.valid_until < on)):
            continue
        for weekday in slot.weekdays:
            grid[period_of(slot.start_time)][weekday].append(TimetableEntry(by_id[slot.program_id], slot))
    rows = [(label, grid[code]) for code, label, _ in PERIODS]
    return Timetable(hub, rows, programs)


# -- catalog installation (programmes a plugin offers) --------------------------------------------------------


@dataclass
class Installed:
    hubs: int = 0
    programs: int = 0
    slots: int = 0
    updated: int = 0


def _slot_key(slot: Any) -> str:
    unconfirmed = "" if getattr(slot, "time_confirmed", True) else "-tbc"  # 時間は拠点で確認
    note = getattr(slot, "note", "")  # a slot with its own remark stays apart from same-time slots without one
    return f"{slot.start:%H%M}-{slot.end:%H%M}-{getattr(slot, 'label', '')}{unconfirmed}" + (f"-{note[:12]}" if note else "")


async def install_catalog(session: AsyncSession, source: str, definitions: Sequence[Any]) -> Installed:
    """Make the tenant's hubs, programmes and slots match a plugin's catalog (``ProgramDefinition`` list).

    Idempotent: rows are matched on (``source``, ``code``); a second run changes nothing. Slots of one
    programme with the same time and label but different weekdays become one slot with several weekdays.
    Beyond the public ``ProgramDefinition`` fields, optional attributes are read when present: ``kind``
    (participation/community), ``purpose``, ``target_group``, ``content``, ``drop_in``, ``hub_code``,
    ``hub_name``, ``hub_kind``, ``area``.
    """
    result = Installed()
    for definition in definitions:
        hub_name = getattr(definition, "hub_name", "") or definition.place or "拠点"
        hub_code = getattr(definition, "hub_code", "") or hub_name
        hub = await session.scalar(select(Hub).where(Hub.source == source, Hub.code == hub_code))
        if hub is None:
            hub = Hub(source=source, code=hub_code, name=hub_name, kind=getattr(definition, "hub_kind", "activity_hub"),
                      area=getattr(definition, "area", ""))
            session.add(hub)
            await session.flush()
            result.hubs += 1
        kind = getattr(definition, "kind", "participation")
        values = {
            "hub_id": hub.id,
            "name": definition.name,
            "kind": kind if kind in PROGRAM_KINDS else "participation",
            "field": definition.field if definition.field in FIELDS else "other",
            "purpose": getattr(definition, "purpose", "") or definition.description,
            "target_group": getattr(definition, "target_group", "")
            or "、".join(rule.description for rule in definition.eligibility),
            "content": getattr(definition, "content", ""),
            "drop_in": bool(getattr(definition, "drop_in", False)),
            "capacity": definition.capacity,
        }
        values["businesses"] = [values["kind"]]  # a plugin's programme belongs to the 事業 its kind names
        program = await session.scalar(select(Program).where(Program.source == source,
                                                             Program.code == definition.code))
        if program is None:
            program = Program(source=source, code=definition.code, **values)
            session.add(program)
            await session.flush()
            result.programs += 1
        else:
            changed = False
            for key, value in values.items():
                if getattr(program, key) != value:
                    setattr(program, key, value)
                    changed = True
            if not program.active:
                program.active = True
                changed = True
            result.updated += changed
        merged: dict[str, dict[str, Any]] = {}
        for slot in definition.slots:
            entry = merged.setdefault(_slot_key(slot), {
                "weekdays": set(), "start_time": slot.start, "end_time": slot.end,
                "band_label": slot.label, "valid_from": slot.valid_from, "valid_until": slot.valid_until,
                "time_confirmed": getattr(slot, "time_confirmed", True), "note": getattr(slot, "note", "")[:200],
            })
            entry["weekdays"].add(slot.weekday)
        existing = {s.code: s for s in await list_slots(session, [program.id]) if s.code}
        # a catalog slot the catalog no longer has ends yesterday (its past sessions keep pointing at it)
        yesterday = wareki.today() - dt.timedelta(days=1)
        for code, stale in existing.items():
            if code not in merged and (stale.valid_until is None or stale.valid_until > yesterday):
                stale.valid_until = yesterday
                result.updated += 1
        for code, entry in merged.items():
            weekdays = sorted(entry.pop("weekdays"))
            slot = existing.get(code)
            if slot is None:
                session.add(Slot(program_id=program.id, code=code, weekdays=weekdays, **entry))
                result.slots += 1
            elif sorted(slot.weekdays) != weekdays:
                slot.weekdays = weekdays
                result.updated += 1
    await session.flush()
    if result.hubs or result.programs or result.slots or result.updated:
        await record(session, AuditAction.UPDATE, "program_catalog", None, reason=f"installed from {source}")
    return result


# -- partners, community activities, resources -----------------------------------------------------------------


async def _check_links(session: AsyncSession, values: dict[str, Any]) -> None:
    for key, model, label in (("hub_id", Hub, "拠点"), ("origin_hub_id", Hub, "きっかけの拠点"),
                              ("program_id", Program, "事業"), ("origin_program_id", Program, "きっかけの事業"),
                              ("grew_from_id", CommunityActivity, "元になった活動")):
        if values.get(key) is not None and await session.get(model, (current_tenant_id(), values[key])) is None:
            raise ValidationFailed([{"field": key, "message": f"{label}が見つかりません。"}])


async def add_partner(session: AsyncSession, values: dict[str, Any]) -> Partner:
    await _check_links(session, values)
    partner = Partner(**values)
    session.add(partner)
    await session.flush()
    await record(session, AuditAction.CREATE, "program_partner", partner.id)
    return partner


async def list_partners(session: AsyncSession) -> list[Partner]:
    return list(await session.scalars(select(Partner).order_by(Partner.kind, Partner.kana, Partner.name)))


async def add_activity(session: AsyncSession, values: dict[str, Any]) -> CommunityActivity:
    await _check_links(session, values)
    activity = CommunityActivity(**{"businesses": ["community"], **values})  # 地域づくり unless told otherwise
    session.add(activity)
    await session.flush()
    await record(session, AuditAction.CREATE, "community_activity", activity.id)
    return activity


async def list_activities(session: AsyncSession) -> list[CommunityActivity]:
    return list(await session.scalars(select(CommunityActivity).order_by(CommunityActivity.started_on.nulls_last(),
                                                                         CommunityActivity.name)))


async def get_activity(session: AsyncSession, activity_id: Any) -> CommunityActivity:
    return await _get(session, CommunityActivity, activity_id, "活動")


async def add_note(session: AsyncSession, activity_id: Any, values: dict[str, Any]) -> ActivityNote:
    activity = await get_activity(session, activity_id)
    note = ActivityNote(activity_id=activity.id, recorded_by=_actor(), **values)
    session.add(note)
    await session.flush()
    await record(session, AuditAction.CREATE, "community_activity_note", note.id)
    return note


@dataclass
class Growth:
    """An activity with where it came from and what grew out of it (the growth log)."""

    activity: CommunityActivity
    lineage: list[CommunityActivity]  # oldest first, ending before ``activity``
    offspring: list[CommunityActivity]
    notes: list[ActivityNote]
    origin_hub: Hub | None
    origin_program: Program | None


async def growth(session: AsyncSession, activity_id: Any) -> Growth:
    activity = await get_activity(session, activity_id)
    lineage: list[CommunityActivity] = []
    seen = {activity.id}
    current = activity
    while current.grew_from_id and current.grew_from_id not in seen:
        parent = await session.get(CommunityActivity, (current.tenant_id, current.grew_from_id))
        if parent is None:
            break
        lineage.insert(0, parent)
        seen.add(parent.id)
        current = parent
    offspring = list(await session.scalars(
        select(CommunityActivity).where(CommunityActivity.grew_from_id == activity.id).order_by(CommunityActivity.name)))
    notes = list(await session.scalars(
        select(ActivityNote).where(ActivityNote.activity_id == activity.id)
        .order_by(ActivityNote.noted_on, ActivityNote.created_at)))
    hub = await session.get(Hub, (activity.tenant_id, activity.origin_hub_id)) if activity.origin_hub_id else None
    program = (await session.get(Program, (activity.tenant_id, activity.origin_program_id))
               if activity.origin_program_id else None)
    return Growth(activity, lineage, offspring, notes, hub, program)


async def add_resource(session: AsyncSession, values: dict[str, Any]) -> Resource:
    resource = Resource(**values)
    session.add(resource)
    await session.flush()
    await record(session, AuditAction.CREATE, "community_resource", resource.id)
    return resource


async def search_resources(session: AsyncSession, *, field: str | None = None, area: str | None = None,
                           text: str | None = None, limit: int = 200) -> list[Resource]:
    query = select(Resource).where(Resource.active.is_(True))
    if field:
        query = query.where(Resource.field == field)
    if area:
        query = query.where(Resource.area == area)
    if text and (key := search_key(text)):
        # by search key (core.text_rules): width, spaces, かな script and 異体字 do not matter
        pattern = like_pattern(key)
        query = query.where(or_(Resource.name_key.like(pattern, escape="\\"), Resource.kana_key.like(pattern, escape="\\"),
                                Resource.description_key.like(pattern, escape="\\")))
    found = list(await session.scalars(query.order_by(Resource.area, Resource.kana, Resource.name).limit(limit)))
    order = list(FIELDS)
    return sorted(found, key=lambda r: order.index(r.field) if r.field in order else len(order))


async def resource_areas(session: AsyncSession) -> list[str]:
    return [a for a in await session.scalars(select(Resource.area).distinct().order_by(Resource.area)) if a]



async def install_plugin_catalogs(session: AsyncSession, host: Any) -> dict[str, Installed]:
    """Install the program catalogs of the plugins the bound tenant enabled (``kyosei_program_catalog``).

    ``host`` is the plugin platform's ``PluginHost``; only the tenant's enabled plugins answer, so another
    municipality's catalog can never be installed here. Idempotent (see ``install_catalog``).
    """
    tenant_id = current_tenant_id()
    if host is None or not tenant_id:
        return {}
    results: dict[str, Installed] = {}
    for plugin_name, definitions in await host.call_each(tenant_id, "kyosei_program_catalog"):
        results[plugin_name] = await install_catalog(session, plugin_name, list(definitions))
    return results
