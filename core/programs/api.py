"""JSON API of the programs domain under ``/api/programs``.

Who may do what (client roles of kyosei-web):

- read hubs, programmes, timetables, sessions, counts: staff, coordinator, tenant-admin, auditor;
- record (enrol, attendance, generate or cancel sessions, partners, activities, resources): staff, coordinator,
  tenant-admin;
- manage hubs, programmes and slots: coordinator, tenant-admin;
- install plugin catalogs: tenant-admin.

Errors are problem+json with Japanese ``title``/``detail``; bad input adds ``errors: [{field, message}]`` (422);
an enrolment refused by an eligibility rule is 422 with ``reasons``. Nothing is written when a request fails.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.auth.principal import Role
from core.problems import invalid_input, refusal
from core.programs import service
from core.programs.counts import program_counts
from core.programs.eligibility import hook_rule_source
from core.field_input import parse_json_object
from core.programs.schemas import ValidationFailed, parse_attendance, parse_enrolment, parse_period

READ_ROLES = (Role.STAFF, Role.COORDINATOR, Role.TENANT_ADMIN, Role.AUDITOR)
EDIT_ROLES = (Role.STAFF, Role.COORDINATOR, Role.TENANT_ADMIN)
MANAGE_ROLES = (Role.COORDINATOR, Role.TENANT_ADMIN)
ADMIN_ROLES = (Role.TENANT_ADMIN,)


def _require(roles, message: str):
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if principal is None or principal.tenant_id is None or not principal.has_role(*roles):
            raise PermissionDeniedException(detail=message)

    return guard


def program_error_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ValidationFailed):
        return invalid_input(request, exc.errors, exc.malformed)
    if isinstance(exc, service.NotEligible):
        response = refusal(request, 422, "参加の条件を満たしていません", exc.message,
                           errors=[{"field": "eligibility", "message": r} for r in exc.reasons])
        response.content["reasons"] = list(exc.reasons)
        return response
    assert isinstance(exc, service.ProgramError)
    titles = {404: "見つかりません", 409: "この操作はできません"}
    return refusal(request, exc.status, titles.get(exc.status, "この操作はできません"), exc.message)


async def _body(request: Request) -> dict[str, Any]:
    return parse_json_object(await request.body(), ValidationFailed)


def _hub(h) -> dict[str, Any]:
    return {"id": str(h.id), "name": h.name, "kind": h.kind, "area": h.area, "source": h.source, "code": h.code}


def _program(p) -> dict[str, Any]:
    return {"id": str(p.id), "hub_id": str(p.hub_id), "name": p.name, "kind": p.kind, "field": p.field,
            "purpose": p.purpose, "target_group": p.target_group, "drop_in": p.drop_in, "min_age": p.min_age,
            "max_age": p.max_age, "source": p.source, "code": p.code}


@get("/hubs")
async def list_hubs(db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
    return [_hub(h) for h in await service.list_hubs(db)]


@get("/hubs/{hub_id:str}/timetable")
async def hub_timetable(hub_id: FromPath[str], db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    grid = await service.timetable(db, hub_id, wareki.today())
    return {
        "hub": _hub(grid.hub),
        "slots": [
            # a slot whose times the source does not give has no start/end here, only its period and 「時間は拠点で確認」
            {"program": e.program.name, "program_id": str(e.program.id), "weekday": weekday,
             "start": f"{e.slot.start_time:%H:%M}" if e.slot.time_confirmed else None,
             "end": f"{e.slot.end_time:%H:%M}" if e.slot.time_confirmed else None, "times": e.times,
             "band": e.slot.band_label, "note": e.slot.note, "period": label}
            for label, cells in grid.rows for weekday, cell in enumerate(cells) for e in cell
        ],
    }


@get("/")
async def list_programs(db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
    return [_program(p) for p in await service.list_programs(db)]


@get("/counts")
async def counts(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    """The 実施計画 counts of a 年度 (``year``: the Western year it starts in) or of one month of it."""
    query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    year, month = parse_period(query, wareki.today())
    return {"year": year, "fiscal_year": year, "month": month, "counts": await program_counts(db, year, month)}


@get("/{program_id:str}")
async def get_program(program_id: FromPath[str], db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    return _program(await service.get_program(db, program_id))


@post("/{program_id:str}/enrolments", guards=[_require(EDIT_ROLES, "参加登録をする権限がありません。")], status_code=201)
async def enrol(request: Request, program_id: FromPath[str], db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    data = parse_enrolment(await _body(request), wareki.today())
    rules = hook_rule_source(getattr(request.app.state, "plugins", None))
    principal = request.scope["user"]
    may_override = principal.has_role(*service.OVERRIDE_ROLES)
    enrolment = await service.enrol(db, program_id, data, rules, principal, may_override=may_override)
    return {"id": str(enrolment.id), "program_id": str(enrolment.program_id), "rules": enrolment.eligibility_rules,
            "override_reason": enrolment.override_reason}


@post("/sessions/{program_session_id:str}/attendance",
      guards=[_require(EDIT_ROLES, "出席を記録する権限がありません。")], status_code=200)
async def attendance(request: Request, program_session_id: FromPath[str],
                     db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    data = parse_attendance(await _body(request))
    held = await service.record_attendance(db, program_session_id, data, today=wareki.today())
    return {"id": str(held.id), "present": len(data.present), "anonymous_headcount": held.anonymous_headcount}


def programs_api_router() -> Router:
    return Router(
        path="/api/programs",
        route_handlers=[list_hubs, hub_timetable, list_programs, counts, get_program, enrol, attendance],
        guards=[_require(READ_ROLES, "事業・拠点の情報を見る権限がありません。")],
        exception_handlers={ValidationFailed: program_error_problem, service.ProgramError: program_error_problem},
    )
