"""交付金 pages: years, the four ledgers with their forms, corrections, apportionment, reports, prefecture view.

Thin: read the form, call ``core.grants.service``, render. Bad input re-renders the same page with field messages
(422, or 200 for an htmx request so htmx swaps it in); a refusal (closed year, already corrected) becomes a flash
on the page the person came from. Writes run in a savepoint, so a refused write leaves the request's
transaction usable and nothing half-written. Roles: see ``core.grants.api``.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.documents.download import attachment
from core.audit.trail import AuditAction, record
from core.documents.pdf import PdfUnavailable, html_to_pdf
from core.grants import service, time_study
from core.grants.api import (
    ADMIN_ROLES,
    EDIT_ROLES,
    LEDGER_PATHS,
    can_read,
    is_prefecture_admin,
    prefecture_only,
)
from core.grants.counts import COUNT_LABELS
from core.grants.reference import (
    BUSINESS_LABELS,
    FIELD_LABELS,
    PAYER_LABELS,
    PAYERS,
    SCHEME_LABELS,
    STATUS_LABELS,
    Business,
    Field,
    business_label,
    field_label,
)
from core.grants.reports import REPORT_TITLES, build_report, report_csv
from core.grants.schemas import ValidationFailed
from core.grants.service import LEDGERS, GrantError, Ledger
from core.wareki import fiscal_year_label, fiscal_year_of, read_fiscal_year
from ui.errors import respond
from ui.plans import pages as plan_pages
from ui.page import flash, form_fields, invalid_status, page_context, render

SEGMENTS = {segment: key for key, (segment, _) in LEDGER_PATHS.items()}
PARAMS = {key: param for key, (_, param) in LEDGER_PATHS.items()}
LEDGER_PAGES = [f"/years/{{year_id:str}}/{segment}" for segment, _ in LEDGER_PATHS.values()]

LABELS = {
    "businesses": BUSINESS_LABELS,
    "fields": FIELD_LABELS,
    "schemes": SCHEME_LABELS,
    "statuses": STATUS_LABELS,
    "payers": PAYER_LABELS,
    "payer_keys": PAYERS,
    "count_labels": COUNT_LABELS,
    "business_label": business_label,
    "field_label": field_label,
    "segments": {key: segment for key, (segment, _) in LEDGER_PATHS.items()},
    "ledgers": LEDGERS,
    "report_titles": REPORT_TITLES,
}


def _can(request: Request, roles) -> bool:
    principal = request.scope.get("user")
    return principal is not None and principal.has_role(*roles)


def _deny(request: Request, roles, message: str) -> Response | None:
    return None if _can(request, roles) else respond(request, 403, message=message)


async def _context(request: Request, **extra: Any) -> dict[str, Any]:
    return await page_context(
        request,
        active="/grants",
        can_edit=_can(request, EDIT_ROLES),
        can_admin=_can(request, ADMIN_ROLES),
        **LABELS,
        **extra,
    )


class GrantsController(Controller):
    path = "/grants"
    include_in_schema = False
    guards = [can_read]

    # -- years --------------------------------------------------------------------------------------------------

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._index(request, db)

    async def _index(self, request, db, errors=None, values=None, status=200) -> Template:
        years = await service.list_years(db)
        context = await _context(
            request, years=years, errors=errors or [], values=values or {"fiscal_year": str(fiscal_year_of(wareki.today()))},
            rules=await service.rule_labels(db), fiscal_year_label=fiscal_year_label,
        )
        return render("grants/index.html", context, status)

    @post("/years")
    async def create_year(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, ADMIN_ROLES, "年度を登録できるのは団体管理者です。"):
            return denied
        form = await form_fields(request)
        try:
            async with db.begin_nested():
                year = await service.create_year(db, form)
        except (ValidationFailed, GrantError) as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else (exc.errors or [{"field": "fiscal_year", "message": exc.message}])
            return await self._index(request, db, errors, form, invalid_status(request))
        await flash(request, "success", f"{fiscal_year_label(year.fiscal_year)}を登録しました。")
        return Redirect(f"/grants/years/{year.id}", status_code=303)

    @get("/years/{year_id:str}")
    async def year(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        year = await self._year_or_404(db, year_id)
        totals = {key: await service.ledger_total(db, ledger, year) for key, ledger in LEDGERS.items()}
        context = await _context(request, year=year, totals=totals, rules=await service.rule_labels(db),
                                 year_label=fiscal_year_label(year.fiscal_year), errors=[])
        return render("grants/year.html", context)

    @post("/years/{year_id:str}/settings")
    async def settings(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._year_action(request, db, year_id, "settings")

    @post("/years/{year_id:str}/close")
    async def close(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._year_action(request, db, year_id, "close")

    @post("/years/{year_id:str}/reopen")
    async def reopen(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._year_action(request, db, year_id, "reopen")

    async def _year_action(self, request, db, year_id, action) -> Response:
        year = await self._year_or_404(db, year_id)
        if denied := _deny(request, ADMIN_ROLES, "年度の設定・締め・再開ができるのは団体管理者です。"):
            return denied
        form = await form_fields(request)
        label = fiscal_year_label(year.fiscal_year)
        try:
            async with db.begin_nested():
                if action == "close":
                    await service.close_year(db, year.id)
                    message = f"{label}を締めました。以後の登録・訂正・取消はできません。"
                elif action == "reopen":
                    await service.reopen_year(db, year.id, form)
                    message = f"{label}を再開しました。"
                else:
                    await service.update_year_settings(db, year.id, form)
                    message = "年度の設定を変更しました。"
            await flash(request, "success", message)
        except (ValidationFailed, GrantError) as exc:
            text = "、".join(e["message"] for e in exc.errors) if isinstance(exc, ValidationFailed) else exc.message
            await flash(request, "error", text)
        return Redirect(f"/grants/years/{year.id}", status_code=303)

    # -- ledgers ------------------------------------------------------------------------------------------------

    @get(LEDGER_PAGES)
    async def ledger(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        ledger, segment = self._ledger_of(request)
        year = await self._year_or_404(db, year_id)
        return await self._ledger_page(request, db, ledger, year)

    async def _ledger_page(self, request, db, ledger: Ledger, year, errors=None, values=None, status=200) -> Template:
        entries = await service.list_entries(db, ledger, year.id)
        total = await service.ledger_total(db, ledger, year)
        default_day = min(max(wareki.today(), year.starts_on), year.ends_on)
        months, staff = await time_study.summary(db, year) if ledger is service.TIME else ([], [])
        context = await _context(
            request, year=year, year_label=fiscal_year_label(year.fiscal_year), ledger=ledger,
            segment=LEDGER_PATHS[ledger.key][0], entries=entries, total=total, errors=errors or [],
            study_months=months, study_staff=staff,
            values=values or {"voucher_date": default_day.isoformat(), "period_month": default_day.strftime("%Y-%m")},
        )
        return render("grants/ledger.html", context, status)

    @post(LEDGER_PAGES)
    async def add(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        ledger, segment = self._ledger_of(request)
        year = await self._year_or_404(db, year_id)
        if denied := _deny(request, EDIT_ROLES, "交付金の記録を登録できるのは、コーディネーターまたは団体管理者です。"):
            return denied
        form = await form_fields(request)
        here = f"/grants/years/{year.id}/{segment}"
        try:
            async with db.begin_nested():
                await service.add_entry(db, ledger, year.id, form)
        except ValidationFailed as exc:
            return await self._ledger_page(request, db, ledger, year, exc.errors, form, invalid_status(request))
        except GrantError as exc:
            await flash(request, "error", exc.message)
            return Redirect(here, status_code=303)
        await flash(request, "success", f"{ledger.label}を登録しました。")
        return Redirect(here, status_code=303)

    @post("/years/{year_id:str}/time-entries/import")
    async def import_time_study(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        """タイムスタディをCSVから取り込む: every row or none (core.grants.time_study)."""
        year = await self._year_or_404(db, year_id)
        if denied := _deny(request, EDIT_ROLES, "交付金の記録を登録できるのは、コーディネーターまたは団体管理者です。"):
            return denied
        upload = (await request.form()).get("file") if request.headers.get("content-type", "").startswith(
            "multipart/form-data") else None
        raw = await upload.read() if hasattr(upload, "read") else b""
        try:
            added = await time_study.import_csv(db, year.id, raw)
        except ValidationFailed as exc:
            return await self._ledger_page(request, db, service.TIME, year, exc.errors, None, invalid_status(request))
        except GrantError as exc:
            await flash(request, "error", exc.message)
            return Redirect(f"/grants/years/{year.id}/time-entries", status_code=303)
        await flash(request, "success", f"タイムスタディを{added:,}行取り込みました。")
        return Redirect(f"/grants/years/{year.id}/time-entries", status_code=303)

    # -- 実施計画 (ui/plans/pages.py) ------------------------------------------------------------------------

    @get("/plans")
    async def plans(self, request: Request, db: NamedDependency[AsyncSession],
                    fiscal_year: FromQuery[str | None] = None) -> Response:
        """The 年度 list, or with ``?fiscal_year=`` that 年度's plan (the year is in the query, not the path: it
        names no object of the tenant)."""
        if fiscal_year is None:
            return await plan_pages.index(request, db)
        return await plan_pages.year_page(request, db, plan_pages.read_year(fiscal_year))

    @post("/plans")
    async def plan_save(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        return await plan_pages.save(request, db)

    @get("/plan-versions/{plan_id:str}/pdf")
    async def plan_print(self, request: Request, plan_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await plan_pages.print_version(request, db, plan_id)

    @post("/plan-versions/{plan_id:str}/send")
    async def plan_send(self, request: Request, plan_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await plan_pages.send(request, db, plan_id)

    # -- corrections (one pair of routes per ledger: each ledger names its own entry parameter) -----------------

    @get(["/budget-lines/{budget_line_id:str}", "/expenditures/{expenditure_id:str}",
          "/time-entries/{time_entry_id:str}", "/caseloads/{caseload_id:str}"])
    async def entry(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        ledger, entry_id = self._entry_target(request)
        entry = await self._entry_or_404(db, ledger, entry_id)
        return await self._entry_page(request, db, ledger, entry)

    async def _entry_page(self, request, db, ledger, entry, errors=None, values=None, status=200) -> Template:
        year = await service.get_year(db, entry.fiscal_year_id)
        views = {v.row.id: v for v in await service.list_entries(db, ledger, year.id)}
        view = views[entry.id]
        defaults = {c.key: getattr(entry, c.key) for c in ledger.model.__table__.columns}
        defaults = {k: ("" if v is None else (v.strftime("%Y-%m") if k == "period_month" else str(v)))
                    for k, v in defaults.items()}
        context = await _context(
            request, year=year, year_label=fiscal_year_label(year.fiscal_year), ledger=ledger, view=view,
            entry=entry, segment=LEDGER_PATHS[ledger.key][0], errors=errors or [], values=values or defaults,
        )
        return render("grants/entry.html", context, status)

    @post(["/budget-lines/{budget_line_id:str}/correct", "/expenditures/{expenditure_id:str}/correct",
           "/time-entries/{time_entry_id:str}/correct", "/caseloads/{caseload_id:str}/correct"])
    async def correct(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        return await self._change(request, db, "correct")

    @post(["/budget-lines/{budget_line_id:str}/reverse", "/expenditures/{expenditure_id:str}/reverse",
           "/time-entries/{time_entry_id:str}/reverse", "/caseloads/{caseload_id:str}/reverse"])
    async def reverse(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        return await self._change(request, db, "reverse")

    async def _change(self, request, db, action) -> Response:
        ledger, entry_id = self._entry_target(request)
        entry = await self._entry_or_404(db, ledger, entry_id)
        if denied := _deny(request, EDIT_ROLES, "訂正・取消ができるのは、コーディネーターまたは団体管理者です。"):
            return denied
        form = await form_fields(request)
        segment = LEDGER_PATHS[ledger.key][0]
        try:
            async with db.begin_nested():
                if action == "correct":
                    await service.correct_entry(db, ledger, entry.id, form)
                else:
                    await service.reverse_entry(db, ledger, entry.id, form)
        except ValidationFailed as exc:
            return await self._entry_page(request, db, ledger, entry, exc.errors, form, invalid_status(request))
        except GrantError as exc:
            await flash(request, "error", exc.message)
            return Redirect(f"/grants/{segment}/{entry.id}", status_code=303)
        done = "訂正しました（元の記録を打ち消す取消行と、訂正後の記録を追加しました）。" if action == "correct" \
            else "取り消しました（元の記録を打ち消す取消行を追加しました）。"
        await flash(request, "success", done)
        return Redirect(f"/grants/years/{entry.fiscal_year_id}/{segment}", status_code=303)

    # -- apportionment and reports ------------------------------------------------------------------------------

    @get("/years/{year_id:str}/apportionment")
    async def apportionment(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession],
                            source: FromQuery[str] = "expenditure") -> Response:
        year = await self._year_or_404(db, year_id)
        source = "budget" if source == "budget" else "expenditure"
        try:
            result = await service.compute_apportionment(db, year, source)
        except GrantError as exc:
            return respond(request, 409, message=exc.message)
        shares = await service.compute_cost_shares(db, year, result)
        context = await _context(request, year=year, year_label=fiscal_year_label(year.fiscal_year),
                                 result=result, shares=shares, source=source)
        return render("grants/apportionment.html", context)

    @get("/years/{year_id:str}/reports")
    async def reports(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        year = await self._year_or_404(db, year_id)
        report = await self._report(request, db, year, "results")
        context = await _context(request, year=year, year_label=fiscal_year_label(year.fiscal_year), report=report)
        return render("grants/reports.html", context)

    @get(["/years/{year_id:str}/reports/application.csv", "/years/{year_id:str}/reports/results.csv"])
    async def report_csv(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        year = await self._year_or_404(db, year_id)
        report = await self._report(request, db, year, self._report_kind(request))
        await record(db, AuditAction.EXPORT, "grant_report", year.id, reason=f"{report.kind}.csv")
        return Response(report_csv(report), media_type="text/csv",  # Litestar adds the one charset=utf-8
                        headers=attachment(f"{report.download_name}.csv", f"{report.filename}.csv"))

    @get(["/years/{year_id:str}/reports/application.pdf", "/years/{year_id:str}/reports/results.pdf"])
    async def report_pdf(self, request: Request, year_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        year = await self._year_or_404(db, year_id)
        report = await self._report(request, db, year, self._report_kind(request))
        html = request.app.template_engine.get_template("grants/report_print.html").render(report=report, **LABELS)
        try:
            pdf = await html_to_pdf(html)
        except PdfUnavailable:
            return respond(request, 503, message="PDFを作成できませんでした。CSVをご利用いただくか、時間をおいてお試しください。")
        await record(db, AuditAction.EXPORT, "grant_report", year.id, reason=f"{report.kind}.pdf")
        return Response(pdf, media_type="application/pdf",
                        headers=attachment(f"{report.download_name}.pdf", f"{report.filename}.pdf"))

    # -- helpers ------------------------------------------------------------------------------------------------

    @staticmethod
    def _report_kind(request: Request) -> str:
        return "application" if "/reports/application." in request.url.path else "results"

    @staticmethod
    async def _report(request, db, year, kind):
        principal = request.scope["user"]
        try:
            return await build_report(db, year, kind, principal.tenant_id, principal.tenant_name or principal.tenant_id)
        except GrantError as exc:
            raise NotFoundException(detail=exc.message) from None

    @staticmethod
    async def _year_or_404(db, year_id):
        try:
            return await service.get_year(db, year_id)
        except service.NotFound as exc:
            raise NotFoundException(detail=exc.message) from None

    @staticmethod
    def _ledger_of(request: Request) -> tuple[Ledger, str]:
        segment = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if segment not in SEGMENTS:
            raise NotFoundException(detail="ページが見つかりません。")
        return LEDGERS[SEGMENTS[segment]], segment

    @staticmethod
    def _entry_target(request: Request) -> tuple[Ledger, str]:
        for key, param in PARAMS.items():
            if param in request.path_params:
                return LEDGERS[key], request.path_params[param]
        raise NotFoundException(detail="ページが見つかりません。")

    @staticmethod
    async def _entry_or_404(db, ledger, entry_id):
        try:
            return await service.get_entry(db, ledger, entry_id)
        except service.NotFound as exc:
            raise NotFoundException(detail=exc.message) from None


class PrefectureGrantsController(Controller):
    """県集計: spending per municipality and business across the 34, from the aggregate function only; and the
    実施計画 the municipalities sent (``/prefecture/grants/plans``)."""

    path = "/prefecture/grants"
    include_in_schema = False
    guards = [prefecture_only]

    @get("/plans")
    async def plans_sent(self, request: Request, db: NamedDependency[AsyncSession],
                         fiscal_year: FromQuery[int | None] = None) -> Template:
        return await plan_pages.prefecture_page(request, db, fiscal_year)

    @get("/")
    async def overview(self, request: Request, db: NamedDependency[AsyncSession],
                       fiscal_year: FromQuery[str | None] = None) -> Response:
        from tenants.registry import Kind, load_registry

        year = read_fiscal_year(fiscal_year) or fiscal_year_of(wareki.today())
        sums = await service.prefecture_spending(db, year)
        municipalities = [m for m in load_registry() if m.kind != Kind.PREFECTURE]
        table: dict[str, dict[str, int]] = {m.code: {b.value: 0 for b in Business} for m in municipalities}
        by_business = {b.value: 0 for b in Business}
        by_field = {f.value: 0 for f in Field} | {"": 0}
        for s in sums:
            if s.tenant_id in table:
                table[s.tenant_id][s.business] = table[s.tenant_id].get(s.business, 0) + s.amount
            by_business[s.business] = by_business.get(s.business, 0) + s.amount
            by_field[s.field or ""] = by_field.get(s.field or "", 0) + s.amount
        context = await page_context(
            request, active="/prefecture/grants", fiscal_year=year, year_label=fiscal_year_label(year),
            municipalities=municipalities, table=table, by_business=by_business, by_field=by_field,
            grand_total=sum(by_business.values()), **LABELS,
        )
        return render("grants/prefecture.html", context)


__all__ = ["GrantsController", "PrefectureGrantsController", "is_prefecture_admin"]
