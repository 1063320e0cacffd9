"""JSON API of the meetings domain (会議) under ``/api/meetings``: the same rules as the pages, for other systems.

Who: staff and coordinators of a municipality (as the pages); the prefecture never. Every rule is the service's
(``core.meetings.service``): a 支援会議 (or a kind held as one, e.g. 中土佐町's コア会議) is 404 for anyone but its
members and the tenant's coordinators, and that attempt is audited as DENIED; its cases and minutes are 403 until
the member acknowledged secrecy themselves; putting a case on a 重層的支援会議 (or any kind that needs consent)
without a consent that covers it is 409 with the reason, audited, nothing stored. What a meeting may decide is
``core.meetings.decisions`` (409 naming the rule); 支援決定 needs the deciding role (403).

Errors are problem+json with Japanese ``title``/``detail``; bad input adds ``errors: [{field, message}]`` (422;
malformed JSON 400). Unsafe methods with a session cookie need the ``X-CSRF-Token`` header (the authentication
middleware checks it); a bearer token needs none.

A refusal that must stay on the audit trail (the 404 of confidential minutes, the consent refusal) is *returned*
as a response rather than raised, so the request's transaction commits the DENIED event; any other failure is
raised and rolls everything back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth import staff_directory
from core.auth.principal import Principal, Role
from core.cases import service as cases
from core.cases.schemas import parse_json_body
from core.meetings import schemas, service
from core.meetings.decisions import LABELS as DECISION_LABELS, tenant_rules
from core.meetings.kinds import MEMBER_ROLE_LABELS, tenant_kinds, tenant_roles
from core.meetings.models import Meeting
from core.meetings.service import CaseError, ValidationFailed
from core.problems import PROBLEM_MEDIA_TYPE, invalid_input, refusal
from core.text_rules import text_problem
from core.wareki import DATE_FORMS, parse_date

ROLES = (Role.STAFF, Role.COORDINATOR)
FOLLOW_UP_DAYS = range(0, 366)


async def meetings_user(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = connection.scope.get("user")
    if principal is None or principal.tenant_id is None or principal.is_prefecture or not principal.has_role(*ROLES):
        raise PermissionDeniedException(detail="会議を利用できるのは市町村の職員またはコーディネーターです。")


def problem_for(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ValidationFailed):
        return invalid_input(request, exc.errors, exc.malformed)
    assert isinstance(exc, CaseError)
    return refusal(request, exc.status, exc.title, exc.message, errors=exc.errors)


EXCEPTION_HANDLERS = {CaseError: problem_for, ValidationFailed: problem_for}


def _problems(*statuses: int) -> dict[int, ResponseSpec]:
    what = {400: "JSONの形式が正しくない", 403: "権限がない（CSRFトークンがない・違う場合も）",
            404: "見つからない（参加者以外には支援会議そのものが見えません）", 409: "この操作はできない（理由つき）",
            422: "入力内容に誤りがある（項目ごとのメッセージ）"}
    return {s: ResponseSpec(data_container=schemas.Problem, description=what[s], media_type=PROBLEM_MEDIA_TYPE,
                            generate_examples=False) for s in statuses}


def _user(request: Request) -> Principal:
    return request.scope["user"]


def _host(request: Request):
    return getattr(request.app.state, "plugins", None)


async def _kinds(request: Request):
    return await tenant_kinds(_host(request), _user(request).tenant_id)


async def _roles(request: Request):
    return await tenant_roles(_host(request), _user(request).tenant_id)


async def _rules(request: Request, kinds):
    return await tenant_rules(_host(request), _user(request).tenant_id, kinds)


async def _body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.body()
    return {} if optional and not raw.strip() else parse_json_body(raw)


def _json(content: Any, status: int = 200) -> Response:
    return Response(content, status_code=status)


async def _open(request: Request, db: AsyncSession, meeting_id: uuid.UUID, *, full: bool = True):
    """(meeting, kinds, None), or (None, kinds, problem) when the service refuses: the problem is returned, not
    raised, so the DENIED audit event of a confidential meeting is committed. ``full``: the cases and minutes are
    needed (a 支援会議 member who has not acknowledged secrecy gets 403)."""
    meeting, _seated, kinds, refused = await _open_with_members(request, db, meeting_id, full=full)
    return meeting, kinds, refused


async def _open_with_members(request: Request, db: AsyncSession, meeting_id: uuid.UUID, *, full: bool = True):
    """``_open`` with the meeting's members, which opening the meeting reads anyway (``members``' order)."""
    kinds = await _kinds(request)
    try:
        meeting, seated = await service.open_meeting_with_members(db, meeting_id, _user(request), kinds, full=full)
    except CaseError as exc:
        return None, [], kinds, problem_for(request, exc)
    return meeting, seated, kinds, None


async def _detail(request: Request, db: AsyncSession, meeting: Meeting, kinds,
                  seated: list | None = None) -> schemas.MeetingDetailOut:
    """``seated``: the meeting's members, when opening the meeting read them already."""
    roles, rules = await _roles(request), await _rules(request, kinds)
    if seated is None:
        seated = await service.members(db, meeting.id)
    access = service.meeting_access_among(seated, kinds.get(meeting.kind), _user(request))
    agenda = await service.agenda(db, meeting, _user(request), seated) if access == service.FULL else []
    members = [schemas.member_json(m, roles) for m in seated]
    return {**schemas.meeting_json(meeting, kinds.get(meeting.kind), rules.get(meeting.kind)),  # type: ignore[typeddict-item]
            "access": access or "", "members": members,
            "agenda": [schemas.agenda_json(row.item, row.case) for row in agenda]}


def _date(raw: str | None, field: str, label: str, errors: list[dict[str, str]]) -> dt.date | None:
    if raw is None or raw == "":
        return None
    try:
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None or value.year not in service.YEARS:
        errors.append({"field": field, "message": f"{label}は {DATE_FORMS} の形（2000〜2100年）で指定してください。"})
    return value


# -- meetings ---------------------------------------------------------------------------------------------------


@get("/meetings", summary="会議の一覧（期間で絞り込み）", responses=_problems(422),
     description="見てよい会議だけを開始日時の順に返します（支援会議は参加者と包括化推進員のみ）。最大500件。")
async def list_meetings(
    request: Request, db: NamedDependency[AsyncSession],
    since: Annotated[str | None, QueryParameter(name="from", description="この日以降（YYYY-MM-DD、日本時間）")] = None,
    until: Annotated[str | None, QueryParameter(name="to", description="この日より前（YYYY-MM-DD、日本時間）")] = None,
) -> list[schemas.MeetingOut]:
    errors: list[dict[str, str]] = []
    start = _date(since, "from", "開始日", errors)
    end = _date(until, "to", "終了日", errors)
    if errors:
        raise ValidationFailed(errors)
    kinds = await _kinds(request)
    rules = await _rules(request, kinds)
    return [schemas.meeting_json(m, kinds.get(m.kind), rules.get(m.kind))
            for m in await service.list_meetings(db, _user(request), kinds, start=start, end=end)]


@post("/meetings", status_code=201, summary="会議の登録（推進員の席を自動で着席、前の会議からの持ち越しを議題に）",
      operation_class=schemas.MEETING_BODY, responses=_problems(400, 422))
async def create_meeting(request: Request, db: NamedDependency[AsyncSession]) -> schemas.MeetingDetailOut:
    kinds = await _kinds(request)
    scheduled = await service.schedule(db, await _body(request), kinds, await _roles(request), _user(request))
    return await _detail(request, db, scheduled.meeting, kinds)


@get("/meetings/reference", summary="会議の種類・団体の役割・参加の役割・決定の一覧（プラグインの分を含む）")
async def reference(request: Request) -> schemas.ReferenceOut:
    kinds, roles = await _kinds(request), await _roles(request)
    rules = await _rules(request, kinds)
    return {
        "kinds": [{"code": k.code, "label": k.label, "legal_basis": k.legal_basis, "confidential": k.confidential,
                   "requires_consent": k.requires_consent, "description": k.description,
                   "runs_as": rules[k.code].runs_as, "decisions": list(rules[k.code].decisions)}
                  for k in kinds.values()],
        "roles": [{"code": r.code, "label": r.label, "description": r.description} for r in roles.values()],
        "member_roles": dict(MEMBER_ROLE_LABELS), "decisions": dict(DECISION_LABELS),
    }


@get("/meetings/staff-directory", summary="職員名簿の検索（参加者に選ぶ職員の user_sub）", responses=_problems(422),
     description="氏名（漢字）・ふりがな（ひらがな・カタカナ）・ユーザー名の一部で探します。最大20人。")
async def search_staff(
    db: NamedDependency[AsyncSession],
    q: Annotated[str, QueryParameter(name="q", description="検索語（50文字まで）")] = "",
) -> list[schemas.StaffOut]:
    if problem_text := text_problem(q, "検索語", staff_directory.QUERY_MAX, multiline=False):
        raise ValidationFailed([{"field": "q", "message": problem_text}])
    return [schemas.staff_json(e) for e in await staff_directory.search(db, q)]


@get("/meetings/seats", summary="推進員の配置（役割ごとの担当者。会議の登録時に自動で着席）")
async def seats(request: Request, db: NamedDependency[AsyncSession]) -> list[schemas.SeatOut]:
    return _seats_json(await _roles(request), await service.seat_holders(db))


@put("/meetings/seats", summary="推進員の配置の変更（推進員・団体管理者）", operation_class=schemas.SEATS_BODY,
     responses=_problems(400, 403, 422))
async def assign_seats(request: Request, db: NamedDependency[AsyncSession]) -> list[schemas.SeatOut]:
    if not _user(request).has_role(*service.SEAT_ROLES):
        raise service.Forbidden("推進員の配置を変更できるのは、推進員（コーディネーター）と団体管理者です。")
    roles, data = await _roles(request), await _body(request)
    unknown = [key for key in data if key not in roles]
    if unknown:
        raise ValidationFailed([{"field": key, "message": "この団体の役割ではありません。"} for key in unknown[:10]])
    for code, sub in data.items():
        if sub is not None and not isinstance(sub, str):
            raise ValidationFailed([{"field": code, "message": "職員名簿の user_sub（文字）か null を指定してください。"}])
        await service.assign_seat(db, code, sub or None, roles)
    return _seats_json(roles, await service.seat_holders(db))


def _seats_json(roles, holders) -> list[schemas.SeatOut]:
    return [{"duty_role": code, "label": role.label, "user_sub": holders[code].user_sub if code in holders else None,
             "display_name": holders[code].display_name if code in holders else None} for code, role in roles.items()]


@get("/meetings/follow-up", summary="見直し期限のケース（フォローアップ）", responses=_problems(422),
     description="見られる継続中のケースのうち、プランの見直し日が within_days 日以内か過ぎているもの。")
async def follow_up(
    request: Request, db: NamedDependency[AsyncSession],
    within_days: Annotated[str | None, QueryParameter(name="within_days", description="0〜365の整数（既定14）")] = None,
) -> list[schemas.CaseDueOut]:
    days = 14
    if within_days not in (None, ""):
        if not within_days.isascii() or not within_days.isdigit() or int(within_days) not in FOLLOW_UP_DAYS:
            raise ValidationFailed([{"field": "within_days", "message": "日数は0〜365の半角の整数で指定してください。"}])
        days = int(within_days)
    return [schemas.case_due_json(c) for c in await service.follow_up(db, _user(request), within_days=days)]


@get("/meetings/progress", summary="進捗確認（継続中のすべてのケースと実施中の事業）")
async def progress(request: Request, db: NamedDependency[AsyncSession]) -> schemas.ProgressOut:
    check = await service.progress_check(db, _user(request), await _kinds(request))
    return {"cases": [schemas.progress_row_json(row) for row in check.rows],
            "programs": [{"id": str(p.program.id), "name": p.program.name, "hub": p.hub_name} for p in check.programs]}


@get("/meetings/{meeting_id:uuid}", summary="会議（参加者・議題・決定）", responses=_problems(404),
     description="支援会議で守秘義務の確認をしていない参加者（と参加していない推進員）には access=limited で議題を返しません。")
async def get_meeting(meeting_id: FromPath[uuid.UUID], request: Request,
                      db: NamedDependency[AsyncSession]) -> Response[schemas.MeetingDetailOut]:
    meeting, seated, kinds, refused = await _open_with_members(request, db, meeting_id, full=False)
    if refused:
        return refused
    return _json(await _detail(request, db, meeting, kinds, seated))


@post("/meetings/{meeting_id:uuid}/members", status_code=201,
      summary="参加者の追加（職員は職員名簿から、外部は氏名と所属）", operation_class=schemas.MEMBER_BODY, responses=_problems(400, 404, 422))
async def add_member(meeting_id: FromPath[uuid.UUID], request: Request,
                     db: NamedDependency[AsyncSession]) -> Response[schemas.MemberOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id)
    if refused:
        return refused
    roles = await _roles(request)
    member = await service.add_member(db, meeting, await _body(request), roles)
    return _json(schemas.member_json(member, roles), 201)


@post("/meetings/{meeting_id:uuid}/members/{member_id:uuid}/acknowledgement", status_code=200,
      summary="守秘義務の確認を記録（支援会議。本人が、外部の参加者は進行役が方法と日付つきで）",
      operation_class=schemas.ACK_BODY, responses=_problems(400, 403, 404, 409, 422))
async def acknowledge(meeting_id: FromPath[uuid.UUID], member_id: FromPath[uuid.UUID], request: Request,
                      db: NamedDependency[AsyncSession]) -> Response[schemas.MemberOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id, full=False)
    if refused:
        return refused
    data = await _body(request, optional=True)
    try:
        member = await service.acknowledge_confidentiality(db, meeting, member_id, _user(request), data)
    except service.Forbidden as exc:
        return problem_for(request, exc)  # returned: the DENIED audit event of acting for another is committed
    return _json(schemas.member_json(member, await _roles(request)))


@post("/meetings/{meeting_id:uuid}/agenda", status_code=201, summary="ケースを議題にする（同意の確認つき）",
      operation_class=schemas.AGENDA_BODY, responses=_problems(400, 403, 404, 409, 422))
async def add_agenda_item(meeting_id: FromPath[uuid.UUID], request: Request,
                          db: NamedDependency[AsyncSession]) -> Response[schemas.AgendaItemOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id)
    if refused:
        return refused
    data = await _body(request)
    try:
        item = await service.add_agenda_item(db, meeting, kinds.get(meeting.kind), data.get("case_id"),
                                             data.get("issues"), principal=request.user)
    except (service.SharingRefused, service.Forbidden) as exc:
        return problem_for(request, exc)  # returned: the service's DENIED audit event is committed
    case = await cases.get_case(db, item.case_id)
    return _json(schemas.agenda_json(item, case), 201)


@post("/meetings/{meeting_id:uuid}/agenda/{item_id:uuid}/decision", status_code=200,
      summary="議題の決定を記録し、ケースに反映する", operation_class=schemas.DECISION_BODY,
      responses=_problems(400, 404, 409, 422))
async def decide(meeting_id: FromPath[uuid.UUID], item_id: FromPath[uuid.UUID], request: Request,
                 db: NamedDependency[AsyncSession]) -> Response[schemas.AgendaItemOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id)
    if refused:
        return refused
    data = await _body(request)
    rules = (await _rules(request, kinds)).get(meeting.kind)
    try:
        item = await service.decide(db, meeting, rules, item_id, data.get("decision"), data.get("note"), _user(request))
    except (service.DecisionRefused, service.Forbidden) as exc:
        return problem_for(request, exc)  # refused before anything was written; the DENIED event is committed
    case = await cases.get_case(db, item.case_id)
    return _json(schemas.agenda_json(item, case))


@post("/meetings/{meeting_id:uuid}/agenda/{item_id:uuid}/support-decision", status_code=200,
      summary="支援決定（市町村）を記録する（誰が・いつ）", operation_class=schemas.SUPPORT_DECISION_BODY,
      responses=_problems(400, 403, 404, 409, 422))
async def decide_support(meeting_id: FromPath[uuid.UUID], item_id: FromPath[uuid.UUID], request: Request,
                         db: NamedDependency[AsyncSession]) -> Response[schemas.AgendaItemOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id)
    if refused:
        return refused
    data = await _body(request, optional=True)
    rules = (await _rules(request, kinds)).get(meeting.kind)
    try:
        item = await service.decide_support(db, meeting, rules, item_id, _user(request), data.get("note"))
    except (service.DecisionRefused, service.Forbidden) as exc:
        return problem_for(request, exc)
    case = await cases.get_case(db, item.case_id)
    return _json(schemas.agenda_json(item, case))


@post("/meetings/{meeting_id:uuid}/minutes/finalisation", status_code=200, summary="議事録の確定（進行役）",
      responses=_problems(403, 404, 409))
async def finalise_minutes(meeting_id: FromPath[uuid.UUID], request: Request,
                           db: NamedDependency[AsyncSession]) -> Response[schemas.MinutesOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id)
    if refused:
        return refused
    return _json(_minutes_json(await service.finalise_minutes(db, meeting, _user(request))))


@get("/meetings/{meeting_id:uuid}/minutes", summary="議事録", responses=_problems(404),
     description="支援会議の議事録は参加者と包括化推進員のみ。それ以外の人には404で、その試みは監査ログに残ります。")
async def get_minutes(meeting_id: FromPath[uuid.UUID], request: Request,
                      db: NamedDependency[AsyncSession]) -> Response[schemas.MinutesOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id)
    if refused:
        return refused
    return _json(_minutes_json(meeting))


@put("/meetings/{meeting_id:uuid}/minutes", summary="議事録の保存", operation_class=schemas.MINUTES_BODY,
     responses=_problems(400, 404, 422))
async def put_minutes(meeting_id: FromPath[uuid.UUID], request: Request,
                      db: NamedDependency[AsyncSession]) -> Response[schemas.MinutesOut]:
    meeting, kinds, refused = await _open(request, db, meeting_id)
    if refused:
        return refused
    data = await _body(request)
    if "minutes" not in data:
        raise ValidationFailed([{"field": "minutes", "message": "議事録（minutes）を指定してください。空にするには空文字です。"}])
    return _json(_minutes_json(await service.save_minutes(db, meeting, data["minutes"])))


def _minutes_json(meeting: Meeting) -> schemas.MinutesOut:
    return {"meeting_id": str(meeting.id), "minutes": meeting.minutes,
            "updated_at": meeting.minutes_updated_at.isoformat() if meeting.minutes_updated_at else None,
            "updated_by": meeting.minutes_updated_by,
            "finalised_at": meeting.minutes_finalised_at.isoformat() if meeting.minutes_finalised_at else None}


def meetings_api_router() -> Router:
    return Router(
        path="/api",
        route_handlers=[list_meetings, create_meeting, reference, search_staff, seats, assign_seats, follow_up,
                        progress, get_meeting,
                        add_member, acknowledge, add_agenda_item, decide, decide_support, get_minutes, put_minutes,
                        finalise_minutes],
        guards=[meetings_user],
        exception_handlers=EXCEPTION_HANDLERS,
        tags=["会議"],
    )
