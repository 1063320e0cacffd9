"""JSON API of the case domain: /api/cases, /api/households, /api/agencies, /api/referrals, /api/consents.

Who may do what (client roles of kyosei-web; prefecture users never reach a case):

- see a case: its team (担当者, staff of agencies it is shared with), coordinators (all cases of the tenant), or
  anyone after ``POST /api/cases/{id}/access`` with a reason (緊急閲覧, audited, listed for the tenant admin);
  without that the answer is 403 with ``type`` ``urn:kyosei:problem:break-glass-required``;
- record and change: staff and coordinators who see the case; agencies: coordinators and tenant admins;
- the break-the-glass list: tenant admins.

Bodies are JSON objects; fields are described by the DTOs in ``core.cases.schemas`` (msgspec Structs). Bad input
is problem+json with ``errors: [{field, message}]`` in Japanese (422; 400 for malformed JSON); a refused workflow
step or a sharing without consent is 409 with the reason. A failing request writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, patch, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from core.documents.download import attachment
from core.auth.principal import Principal, Role
from core.cases import consent_purposes, extensions, schemas, search, service
from core.cases.schemas import ValidationFailed, parse_json_body
from core.cases.service import BreakGlassRequired, CaseError
from core.problems import invalid_input, refusal

BREAK_GLASS_TYPE = "urn:kyosei:problem:break-glass-required"
READ_ROLES = (Role.STAFF, Role.COORDINATOR, Role.TENANT_ADMIN, Role.AUDITOR)


async def municipal_user(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    # Guards are async throughout: Litestar hands a plain function to a worker thread on every request.
    principal = connection.scope.get("user")
    if principal is None or principal.is_prefecture:
        raise PermissionDeniedException(detail="県の職員は個別のケースを閲覧できません（市町村の集計のみ閲覧できます）。")
    if not principal.has_role(*READ_ROLES):
        raise PermissionDeniedException(detail="相談ケースを扱う権限がありません。")


def case_error_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ValidationFailed):
        return invalid_input(request, exc.errors, exc.malformed)
    assert isinstance(exc, CaseError)
    return refusal(request, exc.status, exc.title, exc.message, errors=exc.errors,
                   type_=BREAK_GLASS_TYPE if isinstance(exc, BreakGlassRequired) else "about:blank")


EXCEPTION_HANDLERS = {CaseError: case_error_problem, ValidationFailed: case_error_problem}


def _user(request: Request) -> Principal:
    return request.scope["user"]


async def _body(request: Request) -> dict[str, Any]:
    return parse_json_body(await request.body())


# -- JSON shapes ------------------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def row_json(row: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """An ORM row, or a row as read (``core.cases.access.row_as_read``: the same columns, some blanked)."""
    keys = [f.name for f in dataclasses.fields(row)] if dataclasses.is_dataclass(row) else \
        [c.key for c in row.__table__.columns]
    return {key: plain(getattr(row, key)) for key in keys if key not in ("tenant_id", *skip)}


def case_json(case: Any, items: frozenset[str]) -> dict[str, Any]:
    """The case row as the reader may see it: ``items`` are what they may read of it (``readable_items``); without
    相談内容 the consultation columns (``core.cases.access.CONSULTATION_COLUMNS``) are absent."""
    body = row_json(case)
    body["status_label"] = schemas.STATUS_LABELS.get(case.status, case.status)
    body["field_labels"] = [schemas.FIELD_LABELS.get(f, f) for f in case.fields]
    body["route_label"] = schemas.ROUTE_LABELS.get(case.route, case.route)
    if "consultation" in items:
        body["problem_labels"] = [schemas.PROBLEM_LABELS.get(p, p) for p in case.problems]
    else:
        for key in service.CONSULTATION_COLUMNS:
            body.pop(key, None)
    return body


async def _case_json(db: AsyncSession, request: Request, case: Any) -> dict[str, Any]:
    """``case_json`` for the signed-in user (after a change: the answer is a read like any other)."""
    return case_json(case, await service.readable_items(db, _user(request), case.id))


def case_file_json(f: service.CaseFile) -> dict[str, Any]:
    """The case document; items outside the reader's consent scope are absent (``hidden_items`` names them)."""
    body = case_json(f.case, f.items)
    return {
        **body,
        "readable_items": sorted(f.items),
        "hidden_items": [code for code in schemas.INFO_ITEM_LABELS if code not in f.items],
        "household": row_json(f.household),
        "members": [{**row_json(m.person), "relationship": m.membership.relationship,
                     "valid_from": plain(m.membership.valid_from), "valid_to": plain(m.membership.valid_to)}
                    for m in f.members],
        "assignees": [row_json(a) for a in f.assignees],
        "consents": [{**row_json(c), "valid": f.consent_valid(c),
                      "purpose_labels": [f.purpose_labels.get(p, p) for p in c.purposes]} for c in f.consents],
        "assessments": [{**row_json(a), "items": [row_json(i) for i in items]} for a, items in f.assessments],
        "plans": [{**row_json(p), "roles": [row_json(r) for r in roles]} for p, roles in f.plans],
        "records": [row_json(r) for r in f.records],
        "evaluations": [row_json(e) for e in f.evaluations],
        "agencies": [{**row_json(s), "agency_name": a.name} for s, a in f.agencies],
        "referrals": [row_json(r) for r in f.referrals],
        "history": [row_json(h) for h in f.history],
        "next_steps": [{"to_status": t.to_status, "label": t.label, "needs_reason": t.needs_reason}
                       for t in f.next_steps],
        "workflow_steps": [{"step": s.step.code, "label": s.step.label, "after_status": s.step.after_status,
                            "required": s.step.required, "roles": list(s.step.roles), "done": s.done,
                            "done_by": s.done_by, "done_at": plain(s.done_at)} for s in f.steps],
        "extra_answers": [{"label": label, "answer": answer} for label, answer in f.extras]
        if f.shows("consultation") else [],
    }


# -- cases ------------------------------------------------------------------------------------------------------


@get("/cases/reference", summary="コード一覧（状態・分野・相談内容・経路…、この自治体の追加項目と追加手順）")
async def reference(db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    return {
        "statuses": schemas.STATUS_LABELS, "fields": schemas.FIELD_LABELS, "routes": schemas.ROUTE_LABELS,
        "problems": schemas.PROBLEM_LABELS, "sexes": schemas.SEX_LABELS, "suggested_tags": list(schemas.SUGGESTED_TAGS),
        "record_kinds": schemas.RECORD_KIND_LABELS, "achievements": schemas.ACHIEVEMENT_LABELS,
        "next_steps": schemas.NEXT_STEP_LABELS, "meeting_kinds": schemas.MEETING_KIND_LABELS,
        "information_items": schemas.INFO_ITEM_LABELS,
        "consent_purposes": await consent_purposes.purpose_labels(db),
        "transitions": [{"from": t.from_status, "to": t.to_status, "label": t.label, "guard": t.guard,
                         "needs_reason": t.needs_reason} for t in service.workflow.transitions()],
        "extra_intake_fields": [{"name": f.name, "label": f.label, "kind": f.kind, "required": f.required,
                                 "choices": dict(f.choices), "help_text": f.help_text}
                                for f in await extensions.intake_fields(db)],
        "workflow_steps": [{"step": s.code, "label": s.label, "after_status": s.after_status, "required": s.required,
                            "roles": list(s.roles)} for s in await extensions.workflow_steps(db)],
    }


@get("/cases", summary="支援ケース一覧（検索・キーセットページ）")
async def list_cases(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    query = search.CaseQuery.from_params(request.query_params)
    if query.errors:
        raise ValidationFailed(query.errors)
    limit = request.query_params.get("limit", "")
    if limit.isdecimal() and len(limit) <= 4:  # the search keeps it within 1–200; isdigit() let "²" reach int()
        query.limit = int(limit)
    page = await search.search_cases(db, _user(request), query)
    return {"items": [msgspec.to_builtins(r.summary()) for r in page.rows],
            "next_after": str(page.next_after) if page.next_after else None}


@post("/cases", status_code=201, summary="相談受付（世帯・本人・相談内容）", description="Body: schemas.IntakeIn")
async def create_case(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.create_intake(db, await _body(request), _user(request))
    return await _case_json(db, request, case)


@get("/cases/export.csv", summary="支援ケース一覧CSV（UTF-8 BOM付き）", media_type="text/csv")
async def export_cases(request: Request, db: NamedDependency[AsyncSession]) -> Response[bytes]:
    query = search.CaseQuery.from_params(request.query_params)
    if query.errors:
        raise ValidationFailed(query.errors)
    data = await search.export_csv(db, _user(request), query)
    return Response(data, media_type="text/csv", headers=attachment("支援ケース一覧.csv", "cases.csv"))


@get("/cases/counts", summary="月別件数（新規相談・プラン作成・終結、分野別）")
async def counts(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    from core.wareki import fiscal_year_label, fiscal_year_of, read_fiscal_year, today

    year = read_fiscal_year(request.query_params.get("fiscal_year")) or fiscal_year_of(today())
    result = await search.monthly_counts(db, year)
    keys = [*schemas.FIELD_LABELS, "none", "all"]
    return {
        "fiscal_year": year, "label": fiscal_year_label(year), "metrics": search.COUNT_LABELS,
        "months": [{"month": m.isoformat()[:7],
                    "by_field": {k: {metric: result.get(m, k, metric) for metric in search.COUNT_LABELS} for k in keys}}
                   for m in result.months],
    }


@get("/cases/access-grants", summary="緊急閲覧の記録（団体管理者）")
async def access_grants(request: Request, db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
    rows = await service.list_access_grants(db, _user(request))
    return [{**row_json(g), "case_number": number} for g, number in rows]


@get("/cases/{case_id:uuid}", summary="ケースの全体（世帯・同意・アセスメント・プラン・記録・評価・履歴）")
async def get_case(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.open_case(db, _user(request), case_id)
    return case_file_json(await service.case_file(db, case, _user(request)))


@patch("/cases/{case_id:uuid}", summary="分野・タグの変更")
async def update_case(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.open_case_for_change(db, _user(request), case_id)
    return await _case_json(db, request, await service.update_case_labels(db, case, await _body(request)))


@post("/cases/{case_id:uuid}/access", status_code=201, summary="緊急閲覧（理由を記録して開く）")
async def break_glass(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    grant = await service.break_glass(db, _user(request), case_id, await _body(request))
    return row_json(grant)


@post("/cases/{case_id:uuid}/transitions", status_code=200, summary="状態の変更（終結・中断・再開は理由が必要）")
async def change_status(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.open_case_for_change(db, _user(request), case_id)
    data = await _body(request)
    to_status = data.get("to_status")
    if not isinstance(to_status, str) or not to_status:
        raise ValidationFailed([{"field": "to_status", "message": "変更先の状態を指定してください。"}])
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed([{"field": "reason", "message": "理由は文字で入力してください。"}])
    return await _case_json(db, request, await service.transition(db, case, to_status, reason, principal=_user(request)))


@post("/cases/{case_id:uuid}/steps", status_code=201,
      summary="追加手順の完了（プラグインの手順、例: 課長決裁）", description='Body: {"step": "<code>"}')
async def complete_step(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.open_case_for_change(db, _user(request), case_id)
    step = (await _body(request)).get("step")
    if not isinstance(step, str) or not step:
        raise ValidationFailed([{"field": "step", "message": "完了する手順を指定してください。"}])
    return row_json(await service.complete_step(db, case, step, _user(request)))


def _child(path: str, action, summary: str):
    async def handler(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
        case = await service.open_case_for_change(db, _user(request), case_id)
        return row_json(await action(db, case, await _body(request)))

    handler.__name__ = handler.__qualname__ = f"case_{path.replace('-', '_')}"
    return post(f"/cases/{{case_id:uuid}}/{path}", status_code=201, summary=summary)(handler)


add_assessment = _child("assessments", service.add_assessment, "アセスメントの記録（世帯員ごとの課題）")
add_plan = _child("plans", service.create_plan, "プランの作成（目標・機関の役割・見直し日）")
add_record = _child("records", service.add_record, "支援経過記録")
add_evaluation = _child("evaluations", service.add_evaluation, "評価")
add_consent = _child("consents", service.record_consent, "同意の記録（範囲・目的・期限）")
add_referral = _child("referrals", service.refer, "他機関への紹介（同意を確認）")
add_assignee = _child("assignees", service.assign, "担当者の追加")


@post("/cases/{case_id:uuid}/plan-agreement", status_code=200,
      summary="プランの合意（多機関協働事業のケースは重層的支援会議で）",
      description='Body: {"agreed_on", "note", "decide": true で支援決定も（市町村の団体管理者のみ、プラン作成 → 支援決定）}')
async def agree_plan(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.open_case_for_change(db, _user(request), case_id)
    data = await _body(request)
    r = schemas.Reader(data)
    on = r.date("agreed_on", "合意日", not_future=True)
    note = r.text("note", "合意の記録", 500, free=True)
    decide = bool(r.boolean("decide", "支援決定"))
    r.done()
    return row_json(await service.agree_plan(db, case, agreed_on=on, note=note, principal=_user(request),
                                             decide=decide))


@post("/cases/{case_id:uuid}/agencies", status_code=201, summary="機関との共有（同意を確認）")
async def share(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.open_case_for_change(db, _user(request), case_id)
    r = schemas.Reader(await _body(request))
    agency_id = r.uuid("agency_id", "機関", required=True)
    role = r.text("role", "役割", schemas.MAX_SHORT)
    r.done()
    return row_json(await service.share_with_agency(db, case, agency_id, role))  # type: ignore[arg-type]


@get("/cases/{case_id:uuid}/sharing", summary="共有してよいかの確認（同意の範囲）")
async def sharing(case_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    case = await service.open_case(db, _user(request), case_id)
    params = request.query_params
    r = schemas.Reader({k: params.get(k) for k in ("agency_id", "meeting_kind", "item", "purpose")})
    agency_id = r.uuid("agency_id", "機関")
    kind = (r.slugs("meeting_kind", "会議の種類") or [None])[0]
    item = r.choice("item", "情報", schemas.INFO_ITEM_LABELS)
    purpose = r.choice("purpose", "利用目的", await consent_purposes.purpose_labels(db))
    r.done()
    decision = await service.check_sharing(db, case.id, agency_id, kind, item=item, purpose=purpose)
    return msgspec.to_builtins(decision)


# -- consents, referrals ----------------------------------------------------------------------------------------


@post("/consents/{consent_id:uuid}/revocation", status_code=200, summary="同意の撤回")
async def revoke(consent_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    consent = await service.get_consent(db, consent_id)
    await service.open_case_for_change(db, _user(request), consent.case_id)
    return row_json(await service.revoke_consent(db, consent, await _body(request)))


async def _answered(db: AsyncSession, request: Request, accept: bool, referral_id: uuid.UUID) -> dict[str, Any]:
    """Answer a referral; the answer is read like the case document's referrals (``referral_as_read``)."""
    referral = await service.get_referral(db, referral_id)
    referral = await service.respond_referral(db, _user(request), referral, accept, await _body(request))
    items = await service.readable_items(db, _user(request), referral.case_id)
    return row_json(service.referral_as_read(referral, items))


@post("/referrals/{referral_id:uuid}/acceptance", status_code=200, summary="紹介の受諾")
async def accept_referral(referral_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    return await _answered(db, request, True, referral_id)


@post("/referrals/{referral_id:uuid}/decline", status_code=200, summary="紹介の辞退（理由が必要）")
async def decline_referral(referral_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    return await _answered(db, request, False, referral_id)


# -- households -------------------------------------------------------------------------------------------------


@get("/households", summary="世帯一覧（見られるケースの世帯）")
async def list_households(request: Request, db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
    return [row_json(h, skip=("note",)) for h in await service.list_households(db, _user(request))]


@get("/households/{household_id:uuid}", summary="世帯と世帯員（履歴を含む）")
async def get_household(household_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    household = await service.open_household(db, _user(request), household_id)
    members = await service.household_members(db, household.id, include_past=True)
    cases = await service.household_cases(db, household.id, _user(request))
    return {**row_json(household),
            "members": [{**row_json(m.person), "membership_id": str(m.membership.id),
                         "relationship": m.membership.relationship, "valid_from": plain(m.membership.valid_from),
                         "valid_to": plain(m.membership.valid_to)} for m in members],
            "cases": [case_json(c, items) for c, items in await service.readable_cases(db, _user(request), cases)]}


def _household_editor(principal: Principal) -> None:
    if not principal.has_role(*service.EDIT_ROLES):
        raise service.Forbidden("世帯を変更できるのは職員またはコーディネーターです。")


@post("/households/{household_id:uuid}/members", status_code=201, summary="世帯員の追加（続柄・生年月日…）")
async def add_member(household_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    household = await service.open_household(db, _user(request), household_id)
    _household_editor(_user(request))
    data = await _body(request)
    r = schemas.Reader(data)
    since = r.date("valid_from", "世帯に加わった日", not_future=True)
    r.done()
    return row_json(await service.add_member(db, household.id, data, valid_from=since))


@post("/households/{household_id:uuid}/departures", status_code=200, summary="世帯員の転出・離脱（履歴は残る）")
async def member_leaves(household_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    household = await service.open_household(db, _user(request), household_id)
    _household_editor(_user(request))
    r = schemas.Reader(await _body(request))
    person_id = r.uuid("person_id", "世帯員", required=True)
    until = r.date("valid_to", "世帯を離れた日", not_future=True)
    r.done()
    membership = await service.end_membership(db, person_id, valid_to=until, household_id=household.id)  # type: ignore[arg-type]
    return row_json(membership)


# -- agencies ---------------------------------------------------------------------------------------------------


def _agency_admin(principal: Principal) -> None:
    if not principal.has_role(*service.AGENCY_ADMIN_ROLES):
        raise service.Forbidden("関係機関を登録・変更できるのは、コーディネーターまたは団体管理者です。")


@get("/agencies", summary="支援関係機関の一覧")
async def list_agencies(db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
    return [row_json(a) for a in await service.list_agencies(db, active_only=False)]


@post("/agencies", status_code=201, summary="支援関係機関の登録")
async def create_agency(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    _agency_admin(_user(request))
    return row_json(await service.create_agency(db, await _body(request)))


@get("/agencies/{agency_id:uuid}", summary="支援関係機関と所属職員")
async def get_agency(agency_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    agency = await service.get_agency(db, agency_id)
    return {**row_json(agency), "staff": [row_json(s) for s in await service.agency_staff(db, agency.id)]}


@post("/agencies/{agency_id:uuid}/staff", status_code=201, summary="機関の職員（Keycloakのユーザー）を追加")
async def add_staff(agency_id: FromPath[uuid.UUID], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    _agency_admin(_user(request))
    agency = await service.get_agency(db, agency_id)
    return row_json(await service.add_agency_staff(db, agency, await _body(request)))


def cases_api_router() -> Router:
    return Router(
        path="/api",
        route_handlers=[
            reference, list_cases, create_case, export_cases, counts, access_grants, get_case, update_case,
            break_glass, change_status, complete_step, add_assessment, add_plan, add_record, add_evaluation, add_consent,
            add_referral, add_assignee, agree_plan, share, sharing, revoke, accept_referral, decline_referral,
            list_households, get_household, add_member, member_leaves, list_agencies, create_agency, get_agency,
            add_staff,
        ],
        guards=[municipal_user],
        exception_handlers=EXCEPTION_HANDLERS,
        tags=["相談支援"],
    )
