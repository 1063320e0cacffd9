"""JSON shapes of the meetings API (``core.meetings.api``): what each answer looks like, for the OpenAPI document.

Answers are TypedDicts built here from the rows; request bodies are read by ``core.meetings.service`` itself (its
rules and its Japanese field messages), so the request schemas below only describe them to API clients.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from core.cases.schemas import STATUS_LABELS
from core.meetings.decisions import DECISIONS, LABELS as DECISION_LABELS, KindRules
from core.meetings.kinds import MEMBER_ROLE_LABELS
from core.meetings.models import AgendaItem, Meeting, MeetingMember
from core.plugin_types import MeetingKindDefinition, RoleDefinition


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- answers ----------------------------------------------------------------------------------------------------


class FieldError(TypedDict):
    field: str
    message: str


class Problem(TypedDict):
    """RFC 9457 problem+json; ``title``/``detail``/``errors[].message`` are Japanese."""

    type: str
    title: str
    status: int
    detail: NotRequired[str]
    errors: NotRequired[list[FieldError]]
    request_id: NotRequired[str]


class MeetingOut(TypedDict):
    id: str
    kind: str
    kind_label: str
    confidential: bool  # 支援会議 (art. 106-6) or held as one: minutes for members and coordinators only
    requires_consent: bool
    title: str
    starts_at: str
    ends_at: str | None
    place: str | None
    online_url: str | None
    created_by: str
    minutes_updated_at: str | None
    minutes_finalised_at: str | None  # 確定: no more decisions or edits
    runs_as: str | None  # the legal kind it is held as: support_meeting | multilayer_meeting (None: decides nothing)
    decisions: list[str]  # what it may decide (core.meetings.decisions)


class MemberOut(TypedDict):
    id: str
    user_sub: str | None  # None: an external participant
    name: str
    organisation: str | None
    member_role: str
    member_role_label: str
    duty_role: str | None
    duty_role_label: str | None
    confidentiality_ack_at: str | None  # when it was recorded
    confidentiality_ack_method: str | None  # self (the member, signed in) | written | oral (recorded by the chair)
    confidentiality_ack_on: str | None  # the day it was given


class AgendaItemOut(TypedDict):
    id: str
    position: int
    case_readable: bool  # false: the reader may not read the case (「閲覧権限のないケース」): no case, no text
    case_id: str | None
    case_number: str | None
    case_status: str | None
    case_status_label: str | None
    issues: str | None
    sharing_basis: str | None  # None also when the reader's consent scope leaves out the meeting's notes
    decision: str | None
    decision_label: str | None
    decision_note: str | None
    decided_at: str | None
    decided_by: str | None
    support_decided_at: str | None  # 支援決定 by the municipality after a plan agreement
    support_decided_by: str | None
    support_decided_by_name: str | None
    carried_from_id: str | None  # the previous meeting's item that referred the case here


class MeetingDetailOut(MeetingOut):
    access: str  # full | limited (a 支援会議 before the member acknowledged secrecy: no agenda)
    members: list[MemberOut]
    agenda: list[AgendaItemOut]


class MinutesOut(TypedDict):
    meeting_id: str
    minutes: str | None
    updated_at: str | None
    updated_by: str | None
    finalised_at: str | None


class CaseDueOut(TypedDict):
    id: str
    case_number: str
    status: str
    status_label: str
    review_on: str | None
    last_decision: NotRequired[str | None]
    last_decision_label: NotRequired[str | None]
    last_meeting_id: NotRequired[str | None]
    last_decided_at: NotRequired[str | None]
    person_name: NotRequired[str]
    owners: NotRequired[list[str]]


class ProgramOut(TypedDict):
    id: str
    name: str
    hub: str


class ProgressOut(TypedDict):
    cases: list[CaseDueOut]
    programs: list[ProgramOut]


class StaffOut(TypedDict):
    user_sub: str
    display_name: str
    kana: str | None
    username: str


class SeatOut(TypedDict):
    duty_role: str
    label: str
    user_sub: str | None  # None: nobody holds the seat
    display_name: str | None


class KindOut(TypedDict):
    code: str
    label: str
    legal_basis: str | None
    confidential: bool
    requires_consent: bool
    description: str
    runs_as: str | None
    decisions: list[str]


class RoleOut(TypedDict):
    code: str
    label: str
    description: str


class ReferenceOut(TypedDict):
    kinds: list[KindOut]
    roles: list[RoleOut]
    member_roles: dict[str, str]
    decisions: dict[str, str]


def meeting_json(meeting: Meeting, kind: MeetingKindDefinition | None, rules: KindRules | None = None) -> MeetingOut:
    return {
        "id": str(meeting.id), "kind": meeting.kind, "kind_label": kind.label if kind else meeting.kind,
        # an unknown kind (its plugin was disabled) is handled as confidential by the service: say so
        "confidential": kind is None or kind.confidential, "requires_consent": bool(kind and kind.requires_consent),
        "title": meeting.title, "starts_at": meeting.starts_at.isoformat(), "ends_at": _iso(meeting.ends_at),
        "place": meeting.place, "online_url": meeting.online_url, "created_by": meeting.created_by,
        "minutes_updated_at": _iso(meeting.minutes_updated_at),
        "minutes_finalised_at": _iso(meeting.minutes_finalised_at),
        "runs_as": rules.runs_as if rules else None, "decisions": list(rules.decisions) if rules else [],
    }


def member_json(member: MeetingMember, roles: dict[str, RoleDefinition]) -> MemberOut:
    duty = roles.get(member.duty_role) if member.duty_role else None
    return {
        "id": str(member.id), "user_sub": member.user_sub, "name": member.name, "organisation": member.organisation,
        "member_role": member.member_role, "member_role_label": MEMBER_ROLE_LABELS.get(member.member_role, ""),
        "duty_role": member.duty_role, "duty_role_label": duty.label if duty else None,
        "confidentiality_ack_at": _iso(member.confidentiality_ack_at),
        "confidentiality_ack_method": member.confidentiality_ack_method,
        "confidentiality_ack_on": _iso(member.confidentiality_ack_on),
    }


def agenda_json(item: Any, case: Any) -> AgendaItemOut:
    """An agenda item (or its copy as read, ``core.meetings.service.agenda``); ``case`` None: the reader may not
    read the case, so the item names no case and carries no text (``case_readable`` false)."""
    return {
        "id": str(item.id), "position": item.position, "case_readable": case is not None,
        "case_id": str(item.case_id) if case is not None else None,
        "case_number": case.case_number if case is not None else None,
        "case_status": case.status if case is not None else None,
        "case_status_label": STATUS_LABELS.get(case.status, case.status) if case is not None else None,
        "issues": item.issues, "sharing_basis": item.sharing_basis, "decision": item.decision,
        "decision_label": DECISION_LABELS.get(item.decision) if item.decision else None,
        "decision_note": item.decision_note, "decided_at": _iso(item.decided_at), "decided_by": item.decided_by,
        "support_decided_at": _iso(item.support_decided_at), "support_decided_by": item.support_decided_by,
        "support_decided_by_name": item.support_decided_by_name,
        "carried_from_id": str(item.carried_from_id) if item.carried_from_id else None,
    }


def case_due_json(case: Any, last: AgendaItem | None = None) -> CaseDueOut:
    body: CaseDueOut = {"id": str(case.id), "case_number": case.case_number, "status": case.status,
                        "status_label": STATUS_LABELS.get(case.status, case.status), "review_on": _iso(case.review_on)}
    if last is not None:
        body.update(last_decision=last.decision, last_decision_label=DECISION_LABELS.get(last.decision or ""),
                    last_meeting_id=str(last.meeting_id), last_decided_at=_iso(last.decided_at))
    return body


def progress_row_json(row: Any) -> CaseDueOut:
    body = case_due_json(row.case, row.last)
    body.update(person_name=row.person_name, owners=row.owners)
    return body


def staff_json(entry: Any) -> StaffOut:
    return {"user_sub": entry.user_sub, "display_name": entry.display_name, "kana": entry.kana,
            "username": entry.username}


# -- request bodies (documentation only; the service reads and checks them) -------------------------------------


def _text(description: str, max_length: int | None = None, **extra: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, max_length=max_length, **extra)


def _choice(description: str, values: list[str]) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, enum=values)


def with_body(description: str, properties: dict[str, Schema], required: tuple[str, ...] = ()) -> type[Operation]:
    """An Operation class for a handler that reads its JSON body itself, so the document still describes it."""
    body = RequestBody(
        description=description, required=True,
        content={"application/json": OpenAPIMediaType(schema=Schema(
            type=OpenAPIType.OBJECT, properties=properties, required=list(required) or None))})

    @dataclass
    class OperationWithBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return OperationWithBody


WHEN = "日本時間の日時（例: 2026-04-01T10:00）。時差（+09:00 など）付きも可。2000〜2100年。"

MEETING_BODY = with_body("会議の登録。場所かオンライン会議のURLのどちらかが必要です。", {
    "kind": _text("会議の種類のコード（GET /api/meetings/reference の kinds）", 40),
    "title": _text("会議名（省略時は種類名）", 200),
    "starts_at": _text(WHEN, 40),
    "ends_at": _text(WHEN + " 開始より後。", 40),
    "place": _text("場所", 200),
    "online_url": _text("オンライン会議のURL", 500),
}, required=("kind", "starts_at"))

MEMBER_BODY = with_body(
    "参加者の追加。職員は職員名簿（GET /api/meetings/staff-directory）の user_sub で指定し、氏名は名簿から取ります。"
    "外部の参加者（アカウントなし）は name と organisation を指定します。", {
        "user_sub": _text("職員名簿の職員（user_sub）", 64),
        "name": _text("氏名（外部の参加者）", 100),
        "organisation": _text("所属（外部の参加者は必須）", 100),
        "member_role": _choice("会議での役割（省略時 by_topic）", list(MEMBER_ROLE_LABELS)),
        "duty_role": _text("団体の役割のコード（プラグインの役割、例: coordinator_a）", 40),
    })

AGENDA_BODY = with_body(
    "ケースを議題にします。その時点で会議の種類に応じた情報共有の可否を確認し、同意のないケースを"
    "重層的支援会議などの議題にしようとすると 409 と理由が返ります（何も保存されません）。", {
        "case_id": _text("ケースのID", 36, format="uuid"),
        "issues": _text("課題（世帯の課題の整理）", 4000),
    }, required=("case_id",))

DECISION_BODY = with_body(
    "議題の決定。会議の種類ごとに決められる内容が決まっています（GET /api/meetings/reference の kinds[].decisions、"
    "docs/meetings-flow.md）。支援会議ではプランの合意・終結はできません。決定は会議の日以降に、参加者が、議事録の確定前に"
    "記録します。できない決定は 409 と理由が返ります。", {
        "decision": _choice("決定の内容", list(DECISIONS)),
        "note": _text("決定の記録・理由（終結・中断では必須）", 1000),
    }, required=("decision",))

ACK_BODY = with_body(
    "守秘義務の確認。職員の参加者は本人がログインして記録します（本文は不要）。外部の参加者の確認は進行役が、方法と日付を"
    "つけて記録します。", {
        "method": _choice("確認の方法（外部の参加者のみ）: written=書面, oral=口頭", ["written", "oral"]),
        "acknowledged_on": _text("確認した日（外部の参加者のみ、YYYY-MM-DD）", 10),
    })

SUPPORT_DECISION_BODY = with_body(
    "支援決定（市町村）。重層的支援会議でプランに合意した議題について、支援決定の権限を持つ人が記録します。", {
        "note": _text("支援決定の記録（省略可）", 500),
    })

MINUTES_BODY = with_body("議事録の保存（全文を置き換えます）。", {
    "minutes": _text("議事録の本文", 20000),
}, required=("minutes",))

SEATS_BODY = with_body(
    "推進員の配置（推進員・団体管理者のみ）。役割のコード（GET /api/meetings/reference の roles）ごとに職員名簿の user_sub、"
    "空文字か null で席を空けます。書かなかった役割は変わりません。", {
        "coordinator_a": _text("例: 包括化推進員Aの担当者の user_sub", 64),
    })
