"""Pages of the tenant admin and the auditor (see ui/admin/__init__.py). Thin: read, call the service, render.

- ``/admin/staff``: 職員の管理 — invite (one-time password shown once), roles per person (core and plugin roles
  of this municipality), retire. ``GET /api/admin/staff`` gives the same list as JSON.
- ``/admin/break-glass``: 緊急閲覧の確認 — the queue, 妥当 / 要確認 with a note.
- ``/admin/audit``: 監査ログ — filters (person, staff member, action, period), CSV, the chain check.
Tenant admins only, except the audit viewer (auditors too). Every unsafe request carries the CSRF token.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import viewer
from core.auth.principal import Principal, Role
from core.cases import break_glass
from core.cases.access import case_numbers, person_record_ids
from core.cases.schemas import ValidationFailed
from core.cases.service import CaseError
from core.documents.download import attachment
from core.field_input import InputInvalid
from core.wareki import TOKYO, today
from tenants import staff
from tenants.directory import directory_for
from ui.errors import respond
from ui.page import flash, invalid_status, page_context, render


def _user(request: Request) -> Principal:
    return request.scope["user"]


def tenant_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = connection.scope.get("user")
    if principal is None or principal.is_prefecture or not principal.has_role(Role.TENANT_ADMIN):
        raise PermissionDeniedException(detail="この画面は、この団体の団体管理者だけが使えます。")


def audit_viewer(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = connection.scope.get("user")
    if principal is None or principal.is_prefecture or not principal.has_role(*viewer.VIEW_ROLES):
        raise PermissionDeniedException(detail="監査ログを閲覧できるのは、この団体の監査担当と団体管理者です。")


async def _form(request: Request) -> dict[str, Any]:
    """Form fields, ``roles`` as a list (checkboxes)."""
    if not request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                                  "multipart/form-data")):
        return {}
    form = await request.form()
    data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    data["roles"] = [v for v in form.getall("roles") if isinstance(v, str)] if "roles" in form else []
    return data


class _Directory:
    """The identity directory for one request (closed afterwards when it is ours)."""

    def __init__(self, request: Request):
        self.directory, self.owned = directory_for(request.app.state)

    def __enter__(self):
        return self.directory

    def __exit__(self, *exc_info) -> None:
        if self.owned:
            self.directory.close()


# -- 職員の管理 -----------------------------------------------------------------------------------------------


class StaffAdminController(Controller):
    path = "/admin/staff"
    include_in_schema = False
    guards = [tenant_admin]

    async def _page(self, request: Request, db: AsyncSession, *, errors=None, values=None, invitation=None,
                    status: int = 200) -> Response:
        with _Directory(request) as directory:
            try:
                listing = await staff.list_staff(db, directory, _user(request).tenant_id or "")
            except staff.StaffError as exc:
                return respond(request, exc.status, message=exc.message)
        context = await page_context(request, active="/admin/staff", members=listing.members,
                                     roles_known=listing.roles_known,
                                     options=await staff.role_options(db), errors=errors or [],
                                     values=values or {"roles": ["staff"]}, invitation=invitation)
        response = render("admin/staff.html", context, status)
        response.headers["Cache-Control"] = "no-store"  # the one-time password must not be cached
        return response

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        return await self._page(request, db)

    @post("/")
    async def invite(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        data = await _form(request)
        with _Directory(request) as directory:
            try:
                invitation = await staff.invite(db, directory, _user(request), data)
            except InputInvalid as exc:
                return await self._page(request, db, errors=exc.errors, values=data, status=invalid_status(request))
            except staff.StaffError as exc:
                return respond(request, exc.status, message=exc.message)
        return await self._page(request, db, invitation=invitation, status=201)

    @post("/{user_id:str}/roles")
    async def roles(self, request: Request, user_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._change(request, db, user_id, staff.set_roles,
                                  "役割を更新しました。次のログイン（数分以内の自動更新）から反映されます。")

    @post("/{user_id:str}/retirement")
    async def retire(self, request: Request, user_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._change(request, db, user_id, staff.retire,
                                  "退職として記録しました。この団体にはログインできず、担当者などに選べなくなりました。")

    async def _change(self, request: Request, db: AsyncSession, user_id: str, change, done: str) -> Response:
        """A change to one staff member (roles, retirement), made in Keycloak and the staff directory together."""
        data = await _form(request)
        with _Directory(request) as directory:
            try:
                await change(db, directory, _user(request), user_id[:64], data)
            except InputInvalid as exc:
                return await self._page(request, db, errors=exc.errors, status=invalid_status(request))
            except staff.StaffError as exc:
                return respond(request, exc.status, message=exc.message)
        await flash(request, "success", done)
        return Redirect("/admin/staff", status_code=303)


@get("/staff", guards=[tenant_admin], summary="職員の一覧（この団体での役割、退職者を含む）")
async def staff_list_api(request: Request, db: NamedDependency[AsyncSession]) -> Response:
    from core.problems import refusal

    with _Directory(request) as directory:
        try:
            listing = await staff.list_staff(db, directory, _user(request).tenant_id or "")
        except staff.StaffError as exc:
            return refusal(request, exc.status, "職員の一覧を取得できません", exc.message)
    # roles null: Keycloak did not answer, the people come from the staff directory alone
    return Response([{"user_id": m.user_id, "username": m.username, "display_name": m.display_name,
                      "roles": sorted(m.roles) if listing.roles_known else None, "enabled": m.enabled,
                      "active": m.active, "retired_at": m.retired_at.isoformat() if m.retired_at else None}
                     for m in listing.members])


@get("/roles", guards=[tenant_admin], summary="この団体で付与できる役割（基本の役割とプラグインの役割）")
async def role_options_api(db: NamedDependency[AsyncSession]) -> list[dict[str, Any]]:
    return [{"code": o.code, "label": o.label, "base_role": o.base_role, "plugin": o.plugin, "duties": list(o.duties)}
            for o in await staff.role_options(db)]


def admin_api_router() -> Router:
    return Router(path="/api/admin", route_handlers=[staff_list_api, role_options_api], tags=["管理"])


# -- 緊急閲覧の確認 --------------------------------------------------------------------------------------------


class BreakGlassReviewController(Controller):
    path = "/admin/break-glass"
    include_in_schema = False
    guards = [tenant_admin]

    async def _page(self, request, db, *, errors=None, values=None, status=200) -> Response:
        settled = request.query_params.get("all") == "1"
        items = await break_glass.review_queue(db, _user(request), include_settled=settled)
        context = await page_context(request, active="/admin/break-glass", items=items, settled=settled,
                                     verdict_labels=break_glass.VERDICT_LABELS, errors=errors or [],
                                     values=values or {})
        return render("admin/break_glass.html", context, status)

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        return await self._page(request, db)

    @post("/{grant_id:str}/review")
    async def review(self, request: Request, grant_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        data = await _form(request)
        try:
            async with db.begin_nested():
                await break_glass.review(db, _user(request), grant_id, data)
        except ValidationFailed as exc:
            return await self._page(request, db, errors=[{**e, "grant": grant_id} for e in exc.errors],
                                    values={**data, "grant": grant_id}, status=invalid_status(request))
        except CaseError as exc:
            return respond(request, exc.status, message=exc.message)
        await flash(request, "success", "確認の結果を記録しました。")
        return Redirect("/admin/break-glass", status_code=303)


# -- 監査ログ ---------------------------------------------------------------------------------------------------


class AuditViewerController(Controller):
    path = "/admin/audit"
    include_in_schema = False
    guards = [audit_viewer]

    async def _search(self, request: Request, db: AsyncSession, query: viewer.AuditQuery,
                      exporting: bool = False) -> viewer.AuditResult:
        object_ids = people = None
        if query.person:
            object_ids, people = await person_record_ids(db, query.person)

        async def labels(session, rows):
            return await case_numbers(session, [r.object_id for r in rows if r.object_type == "case"])

        return await viewer.search(db, _user(request), query, object_ids=object_ids, people=people,
                                   object_labels=labels, exporting=exporting)

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        query = viewer.AuditQuery.from_params(request.query_params)
        searched = bool(query.params()) and not query.errors
        result = await self._search(request, db, query) if searched else None
        chain = await viewer.chain_status(db, _user(request)) if request.query_params.get("verify") == "1" else None
        context = await page_context(request, active="/admin/audit", query=query, result=result, chain=chain,
                                     action_labels=viewer.ACTION_LABELS, errors=query.errors, tokyo=TOKYO)
        return render("admin/audit.html", context, 422 if query.errors else 200)

    @get("/export.csv")
    async def export(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        query = viewer.AuditQuery.from_params(request.query_params)
        if query.errors:
            return respond(request, 422, errors=[{"key": e["field"], "message": e["message"]} for e in query.errors])
        result = await self._search(request, db, query, exporting=True)
        name = f"監査ログ_{today().isoformat()}.csv"
        return Response(viewer.to_csv(result), media_type="text/csv",  # Litestar adds the one charset=utf-8
                        headers={**attachment(name, "audit.csv"), "Cache-Control": "no-store"})


def admin_pages() -> list:
    return [StaffAdminController, BreakGlassReviewController, AuditViewerController, admin_api_router()]
