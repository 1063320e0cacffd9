"""実施計画 pages, routed by the grant pages (``/grants/plans…`` in ``GrantsController``, ``/prefecture/grants/plans``
in ``PrefectureGrantsController``): the 年度 list, writing a new version (the figures come from the system),
printing a version as PDF, sending it to the prefecture; and the prefecture's page of the plans sent to it.

Who may: read — the grant readers (staff, coordinator, tenant-admin, auditor); write a version — coordinator or
tenant-admin; send to the prefecture — tenant-admin; the prefecture's page — prefecture-admin of 高知県.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.audit.trail import AuditAction, record
from core.documents.download import attachment
from core.documents.glyphs import set_missing_as_geta
from core.documents.pdf import PdfUnavailable, html_to_pdf
from core.grants import implementation_plan as plans
from core.grants.api import ADMIN_ROLES, EDIT_ROLES
from core.grants.counts import BUSINESS_COUNT_LABELS
from core.grants.schemas import ValidationFailed
from core.prefecture.disclosure import SUPPRESSED
from core.prefecture.service import municipalities
from core.wareki import fiscal_year_label, fiscal_year_of, read_fiscal_year
from tenants.registry import InvalidLocalGovernmentCode, find
from ui.errors import respond
from ui.page import flash, form_fields, invalid_status, page_context, render

PATH = "/grants/plans"
LABELS = {"plan_path": PATH, "sections": plans.SECTIONS, "kind_labels": BUSINESS_COUNT_LABELS, "fiscal_year_label": fiscal_year_label,
          "figure_rows": plans.figure_rows, "business_rows": plans.business_rows, "suppressed": SUPPRESSED}


def _has(request: Request, roles) -> bool:
    principal = request.scope.get("user")
    return principal is not None and principal.has_role(*roles)


def _name(code: str) -> str:
    try:
        return find(code).name
    except InvalidLocalGovernmentCode:
        return code


def read_year(raw: str | int) -> int:
    year = read_fiscal_year(raw)
    if year is None:
        raise NotFoundException(detail="指定された年度の実施計画はありません。")
    return year


ACTIVE = "/grants"


async def index(request: Request, db: AsyncSession) -> Template:
    context = await page_context(request, active=ACTIVE, years=await plans.years(db),
                                 this_year=fiscal_year_of(wareki.today()), can_edit=_has(request, EDIT_ROLES),
                                 **LABELS)
    return render("plans/index.html", context)


async def year_page(request: Request, db: AsyncSession, fiscal_year: int, errors=None, values=None,
                    status: int = 200) -> Template:
    versions = await plans.versions(db, fiscal_year)
    latest = versions[0] if versions else None
    context = await page_context(
        request, active=ACTIVE, fiscal_year=fiscal_year, title=plans.title(fiscal_year), versions=versions,
        values=values if values is not None else dict(latest.sections if latest else {}), errors=errors or [],
        live=await plans.figures_of(db, fiscal_year), can_edit=_has(request, EDIT_ROLES),
        can_send=_has(request, ADMIN_ROLES), **LABELS)
    return render("plans/year.html", context, status)


async def save(request: Request, db: AsyncSession) -> Response:
    if not _has(request, EDIT_ROLES):
        return respond(request, 403, message="実施計画を書けるのは、コーディネーターまたは団体管理者です。")
    form = await form_fields(request)
    fiscal_year = read_fiscal_year(form.pop("fiscal_year", ""))
    if fiscal_year is None:
        return respond(request, 422, errors=[{"key": "fiscal_year", "message": "年度は2000～2100年度で指定してください。"}])
    principal = request.scope["user"]
    try:
        async with db.begin_nested():
            plan = await plans.save(db, fiscal_year, form, principal.display_name or principal.username)
    except ValidationFailed as exc:
        return await year_page(request, db, fiscal_year, exc.errors, form, invalid_status(request))
    await flash(request, "success", f"実施計画を保存しました（第{plan.version}版）。件数はシステムの集計を記録しました。")
    return Redirect(f"{PATH}?fiscal_year={fiscal_year}", status_code=303)


async def print_version(request: Request, db: AsyncSession, plan_id: str) -> Response:
    plan = await _version(db, plan_id)
    principal = request.scope["user"]
    html = request.app.template_engine.get_template("plans/print.html").render(
        plan=plan, title=plans.title(plan.fiscal_year), tenant_name=principal.tenant_name or principal.tenant_id,
        **LABELS)
    try:
        pdf = await html_to_pdf(set_missing_as_geta(html))
    except PdfUnavailable:
        return respond(request, 503, message="PDFを作成できませんでした。時間をおいてもう一度お試しください。")
    await record(db, AuditAction.EXPORT, "implementation_plan", plan.id, reason=f"v{plan.version}.pdf")
    name = f"{principal.tenant_name or principal.tenant_id}_{plans.title(plan.fiscal_year)}_第{plan.version}版.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers=attachment(name, f"implementation-plan-{plan.fiscal_year}-v{plan.version}.pdf"))


async def send(request: Request, db: AsyncSession, plan_id: str) -> Response:
    if not _has(request, ADMIN_ROLES):
        return respond(request, 403, message="実施計画を県に送れるのは団体管理者です。")
    plan = await plans.send(db, await _version(db, plan_id))
    await flash(request, "success", f"第{plan.version}版を県に送りました。")
    return Redirect(f"{PATH}?fiscal_year={plan.fiscal_year}", status_code=303)


async def _version(db, plan_id: str):
    try:
        return await plans.get_plan(db, plan_id)
    except plans.PlanNotFound as exc:
        raise NotFoundException(detail=exc.message) from None


async def prefecture_page(request: Request, db: AsyncSession, fiscal_year: int | None) -> Template:
    """県: the latest version each municipality sent for a 年度, read through the narrow database function."""
    year = fiscal_year if fiscal_year and 2000 <= fiscal_year <= 2100 else fiscal_year_of(wareki.today())
    sent = await plans.published_to_prefecture(db, year, [m.code for m in municipalities()])
    rows: list[dict[str, Any]] = [{"plan": p, "name": _name(p.tenant_id)} for p in sent]
    context = await page_context(request, active="/prefecture/grants", fiscal_year=year, rows=rows, **LABELS)
    return render("plans/prefecture.html", context)
