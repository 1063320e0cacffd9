"""JSON API of the grant domain under ``/api/grants`` (and the prefecture's ``/api/prefecture/grants``).

Who may do what (client roles of kyosei-web):

- read (years, ledgers, apportionment): staff, coordinator, tenant-admin, auditor — staff and auditors read only;
- add, correct (訂正) and reverse (取消) ledger entries: coordinator, tenant-admin;
- create a year, change its scheme or rule, close (締め) and reopen it: tenant-admin;
- the prefecture's aggregate: prefecture-admin of the prefecture's tenant (390003) only.

Errors are problem+json with Japanese ``title``/``detail``; bad input adds ``errors: [{field, message}]`` (422),
malformed JSON is 400, a closed year or an already corrected entry is 409. Nothing is written when a request fails
(the exception rolls the request's transaction back).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, Router, get, patch, post
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.auth.principal import Role
from core.grants import service
from core.grants.apportionment import Apportionment, CostShare
from core.grants.counts import COUNT_LABELS, implementation_counts
from core.grants.models import GrantFiscalYear
from core.grants.reference import (
    BUSINESS_LABELS,
    FIELD_LABELS,
    PAYER_LABELS,
    SCHEME_LABELS,
    STATUS_LABELS,
    business_label,
    field_label,
)
from core.grants.schemas import ValidationFailed, parse_json_body
from core.grants.service import LEDGERS, EntryView, GrantError, Ledger
from core.problems import invalid_input, refusal
from core.wareki import fiscal_year_label

READ_ROLES = (Role.STAFF, Role.COORDINATOR, Role.TENANT_ADMIN, Role.AUDITOR)
EDIT_ROLES = (Role.COORDINATOR, Role.TENANT_ADMIN)
ADMIN_ROLES = (Role.TENANT_ADMIN,)

# URL segment and path parameter of each ledger.
LEDGER_PATHS: dict[str, tuple[str, str]] = {
    "budget_line": ("budget-lines", "budget_line_id"),
    "expenditure": ("expenditures", "expenditure_id"),
    "time_entry": ("time-entries", "time_entry_id"),
    "caseload": ("caseloads", "caseload_id"),
}


def _require(roles: tuple[str, ...], message: str):
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if principal is None or not principal.has_role(*roles):
            raise PermissionDeniedException(detail=message)

    return guard


can_read = _require(READ_ROLES, "交付金の情報を見る権限がありません。")
can_edit = _require(EDIT_ROLES, "交付金の記録を登録・訂正・取消できるのは、コーディネーターまたは団体管理者です。")
can_admin = _require(ADMIN_ROLES, "年度の登録・設定・締め・再開ができるのは団体管理者です。")


def is_prefecture_admin(principal) -> bool:
    return principal is not None and principal.is_prefecture and principal.has_role(Role.PREFECTURE_ADMIN)


async def prefecture_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not is_prefecture_admin(connection.scope.get("user")):
        raise PermissionDeniedException(detail="県の集計を見られるのは、高知県の県管理者だけです。")


def grant_error_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ValidationFailed):
        return invalid_input(request, exc.errors, exc.malformed)
    assert isinstance(exc, GrantError)
    return refusal(request, exc.status, exc.title, exc.message, errors=exc.errors)


EXCEPTION_HANDLERS = {GrantError: grant_error_problem, ValidationFailed: grant_error_problem}


# -- JSON shapes ------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def year_json(year: GrantFiscalYear) -> dict[str, Any]:
    return {
        "id": str(year.id),
        "fiscal_year": year.fiscal_year,
        "label": fiscal_year_label(year.fiscal_year),
        "scheme": year.scheme,
        "scheme_label": SCHEME_LABELS.get(year.scheme, year.scheme),
        "status": year.status,
        "status_label": STATUS_LABELS.get(year.status, year.status),
        "apportionment_rule": year.apportionment_rule,
        "closed_at": _plain(year.closed_at),
    }


def entry_json(view: EntryView | Any) -> dict[str, Any]:
    row = view.row if isinstance(view, EntryView) else view
    body = {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns if c.key != "tenant_id"}
    body["business_label"] = business_label(row.business)
    body["field_label"] = field_label(row.field)
    if isinstance(view, EntryView):
        body["status"] = view.status
        body["live"] = view.live
        body["reversed_by"] = _plain(view.reversed_by)
        body["corrected_by"] = _plain(view.corrected_by)
    return body


def apportionment_json(result: Apportionment, shares: list[CostShare]) -> dict[str, Any]:
    return {
        "rule": result.rule_key,
        "rule_label": result.rule_label,
        "unit": result.unit,
        "total_yen": result.total_yen,
        "unapportioned_yen": result.unapportioned_yen,
        "by_field": result.by_field,
        "businesses": [
            {
                "business": b.business,
                "label": b.label,
                "shared_yen": b.shared_yen,
                "weight_total": b.weight_total,
                "unapportioned_yen": b.unapportioned_yen,
                "total_yen": b.total_yen,
                "fields": [
                    {
                        "field": s.field,
                        "label": s.label,
                        "weight": s.weight,
                        "share": s.share,
                        "direct_yen": s.direct_yen,
                        "apportioned_yen": s.apportioned_yen,
                        "total_yen": s.total_yen,
                        "entries": [
                            {"id": d.entry_id, "weight": d.weight, "description": d.description} for d in s.drivers
                        ],
                    }
                    for s in b.fields
                ],
            }
            for b in result.businesses
        ],
        "cost_shares": [
            {"field": c.field, "label": c.label, "total_yen": c.total_yen, "funding_stream": c.funding_stream,
             "parts": c.parts}
            for c in shares
        ],
    }


# -- handlers ---------------------------------------------------------------------------------------------------


@get("/reference", guards=[can_read])
async def reference(db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    return {
        "schemes": SCHEME_LABELS,
        "businesses": BUSINESS_LABELS,
        "fields": FIELD_LABELS,
        "payers": PAYER_LABELS,
        "apportionment_rules": await service.rule_labels(db),
        "implementation_counts": COUNT_LABELS,
    }


@get("/years", guards=[can_read])
async def list_years(db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
    return [year_json(y) for y in await service.list_years(db)]


@post("/years", guards=[can_admin], status_code=201)
async def create_year(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    return year_json(await service.create_year(db, parse_json_body(await request.body())))


@get("/years/{year_id:str}", guards=[can_read])
async def get_year(year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    year = await service.get_year(db, year_id)
    body = year_json(year)
    body["totals"] = {key: await service.ledger_total(db, ledger, year) for key, ledger in LEDGERS.items()}
    body["implementation_counts"] = await implementation_counts(db, year.fiscal_year)
    return body


@patch("/years/{year_id:str}", guards=[can_admin])
async def update_year(year_id: FromPath[str], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    await service.get_year(db, year_id)
    return year_json(await service.update_year_settings(db, year_id, parse_json_body(await request.body())))


@post("/years/{year_id:str}/close", guards=[can_admin], status_code=200)
async def close_year(year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    return year_json(await service.close_year(db, year_id))


@post("/years/{year_id:str}/reopen", guards=[can_admin], status_code=200)
async def reopen_year(year_id: FromPath[str], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    await service.get_year(db, year_id)
    return year_json(await service.reopen_year(db, year_id, parse_json_body(await request.body())))


@get("/years/{year_id:str}/apportionment", guards=[can_read])
async def apportionment(year_id: FromPath[str], db: NamedDependency[AsyncSession], source: FromQuery[str] = "expenditure") -> dict[str, Any]:
    year = await service.get_year(db, year_id)
    result = await service.compute_apportionment(db, year, "budget" if source == "budget" else "expenditure")
    return {"year": year_json(year), "source": source,
            **apportionment_json(result, await service.compute_cost_shares(db, year, result))}


def _ledger_handlers(ledger: Ledger) -> list:
    """List and add under the year; reverse and correct under the entry (each ledger has its own parameter)."""
    segment, param = LEDGER_PATHS[ledger.key]

    async def list_entries(year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
        return [entry_json(v) for v in await service.list_entries(db, ledger, year_id)]

    async def add(year_id: FromPath[str], request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
        await service.get_year(db, year_id)
        return entry_json(await service.add_entry(db, ledger, year_id, parse_json_body(await request.body())))

    async def reverse(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
        entry_id = request.path_params[param]
        await service.get_entry(db, ledger, entry_id)
        reversal = await service.reverse_entry(db, ledger, entry_id, parse_json_body(await request.body()))
        return {"reversal": entry_json(reversal)}

    async def correct(request: Request, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
        entry_id = request.path_params[param]
        await service.get_entry(db, ledger, entry_id)
        reversal, corrected = await service.correct_entry(db, ledger, entry_id, parse_json_body(await request.body()))
        return {"reversal": entry_json(reversal), "corrected": entry_json(corrected)}

    for fn in (list_entries, add, reverse, correct):
        fn.__name__ = f"{fn.__name__}_{ledger.key}"
        fn.__qualname__ = fn.__name__
    return [
        get(f"/years/{{year_id:str}}/{segment}", guards=[can_read], name=f"grants_api_list_{ledger.key}")(list_entries),
        post(f"/years/{{year_id:str}}/{segment}", guards=[can_edit], status_code=201,
             name=f"grants_api_add_{ledger.key}")(add),
        post(f"/{segment}/{{{param}:str}}/reversal", guards=[can_edit], status_code=201,
             name=f"grants_api_reverse_{ledger.key}")(reverse),
        post(f"/{segment}/{{{param}:str}}/corrections", guards=[can_edit], status_code=201,
             name=f"grants_api_correct_{ledger.key}")(correct),
    ]


@get("/grants", guards=[prefecture_only])
async def prefecture_grants(db: NamedDependency[AsyncSession], fiscal_year: FromQuery[int | None] = None) -> dict[str, Any]:
    from core.wareki import fiscal_year_of

    year = fiscal_year if fiscal_year is not None and 2000 <= fiscal_year <= 2100 else fiscal_year_of(wareki.today())
    sums = await service.prefecture_spending(db, year)
    return {
        "fiscal_year": year,
        "label": fiscal_year_label(year),
        "sums": [{"tenant_id": s.tenant_id, "business": s.business, "field": s.field, "amount": s.amount} for s in sums],
    }


def grants_api_router() -> Router:
    handlers = [reference, list_years, create_year, get_year, update_year, close_year, reopen_year, apportionment]
    for ledger in LEDGERS.values():
        handlers.extend(_ledger_handlers(ledger))
    return Router(path="/api/grants", route_handlers=handlers, exception_handlers=EXCEPTION_HANDLERS, tags=["交付金"])


def prefecture_api_router() -> Router:
    return Router(path="/api/prefecture", route_handlers=[prefecture_grants], tags=["県集計"])
