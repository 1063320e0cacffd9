"""県の管理 (prefecture console): tenants and onboarding, roadmap board, 実態調査, back-office schedule, aggregates.

Every page is for a user acting for 高知県 (390003) with the role prefecture-admin; anyone else gets the Japanese
403 page. Thin: read the form, call ``tenants.*`` or ``core.prefecture.service``, render.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.audit.trail import AuditAction, record
from core.auth.principal import Role
from core.documents.download import attachment
from core.prefecture import service
from core.prefecture.aggregates import METRICS, bars, display_count, monthly_aggregates
from core.prefecture.disclosure import SUPPRESSED
from core.prefecture.exports import aggregate_csv
from core.prefecture.models import (
    EVENT_KIND_LABELS,
    PHASE_LABELS,
    QUESTION_KIND_LABELS,
    SUPPORT_KIND_LABELS,
    SURVEY_STATUS_LABELS,
)
from core.wareki import fiscal_year_label, fiscal_year_of, read_fiscal_year
from tenants.lifecycle import LifecycleError
from tenants.models import TenantStatus
from ui.page import flash, form_fields, form_list, page_context, render

STATUS_LABELS = {TenantStatus.ACTIVE: "利用中", TenantStatus.SUSPENDED: "利用停止中", TenantStatus.OFFBOARDED: "利用終了"}


async def prefecture_admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = connection.scope.get("user")
    if principal is None or not principal.is_prefecture or not principal.has_role(Role.PREFECTURE_ADMIN):
        raise PermissionDeniedException(detail="県の管理画面は、高知県の県管理者だけが利用できます。")


def _actor(request: Request) -> str | None:
    principal = request.scope.get("user")
    return principal.sub if principal else None


async def _context(request: Request, active: str, **extra: Any) -> dict[str, Any]:
    return await page_context(
        request, active=active, fiscal_year_label=fiscal_year_label, display_count=display_count, suppressed=SUPPRESSED,
        phase_labels=PHASE_LABELS, status_labels=STATUS_LABELS, year_choices=_year_choices, plan_years=_plan_years,
        **extra,
    )


def _directory(request: Request):
    """The identity directory: the configured Keycloak, or the one a test put on app.state (its own real
    Keycloak, reached with the same service account)."""
    from tenants.directory import directory_for

    return directory_for(request.app.state)


def _year_param(request: Request, default: int) -> int:
    return read_fiscal_year(request.query_params.get("fiscal_year")) or default


class PrefectureController(Controller):
    path = "/prefecture"
    include_in_schema = False
    guards = [prefecture_admin_only]

    # -- console and tenants ------------------------------------------------------------------------------------
    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._tenants(request, db, "/prefecture")

    @get("/tenants")
    async def tenants(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._tenants(request, db, "/prefecture")

    async def _tenants(self, request, db, active) -> Template:
        statuses = await service.tenant_statuses(db)
        context = await _context(request, active, municipalities=service.municipalities(), statuses=statuses)
        return render("prefecture/tenants.html", context)

    @post("/tenants/{code:str}/suspend")
    async def suspend(self, request: Request, code: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._status(request, db, code, "suspended")

    @post("/tenants/{code:str}/resume")
    async def resume(self, request: Request, code: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._status(request, db, code, "active")

    async def _status(self, request, db, code, status) -> Response:
        from tenants.suspension import change_status

        directory, owned = _directory(request)
        try:
            report = await change_status(db, directory, code, status)
        except LifecycleError as exc:
            await flash(request, "error", str(exc))
            return Redirect("/prefecture/tenants", status_code=303)
        finally:
            if owned:
                directory.close()
        await record(db, AuditAction.UPDATE, "tenant", code, reason=f"status {status}")
        context = await _context(request, "/prefecture/tenants", report=report,
                                 title=("利用停止" if status == "suspended" else "利用再開") + f"：{report.name}")
        return render("prefecture/report.html", context)

    # -- onboarding wizard ----------------------------------------------------------------------------------------
    @get("/onboarding")
    async def onboarding(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._wizard(request, db)

    async def _wizard(self, request, db, errors=None, values=None, status=200) -> Template:
        from tenants.onboarding import onboarding_candidates

        context = await _context(request, "/prefecture/onboarding", candidates=await onboarding_candidates(db),
                                 errors=errors or {}, values=values or {})
        return render("prefecture/onboarding.html", context, status)

    @post("/onboarding")
    async def onboard(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        from tenants.onboarding import onboard

        form = await form_fields(request)
        if not form.get("code"):
            return await self._wizard(request, db, {"code": "導入する市町村を選んでください。"}, form, 422)
        directory, owned = _directory(request)
        try:
            report = await onboard(db, directory, form.get("code", ""), form.get("admin_email", ""),
                                   form.get("admin_name"))
        except LifecycleError as exc:
            return await self._wizard(request, db, {"code": str(exc)}, form, 422)
        finally:
            if owned:
                directory.close()
        await record(db, AuditAction.CREATE, "tenant", report.code, reason="onboarding")
        context = await _context(request, "/prefecture/onboarding", report=report, title=f"団体の導入：{report.name}")
        return render("prefecture/report.html", context)

    # -- roadmap board ------------------------------------------------------------------------------------------
    @get("/roadmap")
    async def roadmap(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        board = await service.roadmap_board(db)
        context = await _context(request, "/prefecture/roadmap", board=board, support_kinds=SUPPORT_KIND_LABELS,
                                 current_year=fiscal_year_of(wareki.today()))
        return render("prefecture/roadmap.html", context)

    @get("/roadmap/phase/{code:str}/{year:int}")
    async def phase_cell(self, request: Request, code: FromPath[str], year: FromPath[int],
                         db: NamedDependency[AsyncSession]) -> Template:
        board = await service.roadmap_board(db)
        if code not in {m.code for m in board.municipalities}:
            raise NotFoundException()
        editing = request.query_params.get("edit") == "1"
        context = await _context(request, "/prefecture/roadmap", board=board, code=code, year=year, editing=editing)
        return render("prefecture/_phase_cell.html", context)

    @post("/roadmap/phase/{code:str}/{year:int}")
    async def set_phase(self, request: Request, code: FromPath[str], year: FromPath[int],
                        db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        try:
            await service.set_phase(db, code, year, form.get("phase", ""), _actor(request))
        except service.NotFound:
            raise NotFoundException() from None
        except service.InputError as exc:
            await flash(request, "error", str(exc))
        if not request.headers.get("hx-request"):
            return Redirect("/prefecture/roadmap", status_code=303)
        board = await service.roadmap_board(db)
        context = await _context(request, "/prefecture/roadmap", board=board, code=code, year=year, editing=False)
        return render("prefecture/_phase_cell.html", context)

    @get("/roadmap/plan/{code:str}")
    async def plan_cell(self, request: Request, code: FromPath[str], db: NamedDependency[AsyncSession]) -> Template:
        board = await service.roadmap_board(db)
        if code not in {m.code for m in board.municipalities}:
            raise NotFoundException()
        editing = request.query_params.get("edit") == "1"
        context = await _context(request, "/prefecture/roadmap", board=board, code=code, editing=editing, error=None)
        return render("prefecture/_plan_cell.html", context)

    @post("/roadmap/plan/{code:str}")
    async def set_plan(self, request: Request, code: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        error = None
        try:
            await service.set_plan_year(db, code, form.get("revision_fiscal_year"), _actor(request))
        except service.NotFound:
            raise NotFoundException() from None
        except service.InputError as exc:
            error = str(exc)
            if not request.headers.get("hx-request"):
                await flash(request, "error", error)
        if not request.headers.get("hx-request"):
            return Redirect("/prefecture/roadmap", status_code=303)
        board = await service.roadmap_board(db)
        context = await _context(request, "/prefecture/roadmap", board=board, code=code, editing=error is not None,
                                 error=error)
        return render("prefecture/_plan_cell.html", context)

    # -- 後方支援 log ---------------------------------------------------------------------------------------------
    @get("/support")
    async def support(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._support(request, db)

    async def _support(self, request, db, errors=None, values=None, status=200) -> Template:
        names = {m.code: m.name for m in service.municipalities()}
        code = request.query_params.get("code", "")
        code = code if code in names else ""
        fiscal_year = read_fiscal_year(request.query_params.get("fiscal_year"))
        context = await _context(
            request, "/prefecture/support", entries=await service.support_log(db, code or None, fiscal_year),
            names=names, code=code, fiscal_year=fiscal_year, kinds=SUPPORT_KIND_LABELS, errors=errors or {},
            values=values or {"municipality_code": code, "held_on": wareki.today().isoformat()},
            municipalities=service.municipalities(),
        )
        return render("prefecture/support.html", context, status)

    @post("/support")
    async def add_support(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        try:
            async with db.begin_nested():
                entry = await service.add_support_entry(db, form, _actor(request))
        except service.InputError as exc:
            return await self._support(request, db, exc.errors, form, 422)
        await flash(request, "success", f"「{entry.topic}」を記録しました。")
        return Redirect(f"/prefecture/support?code={entry.municipality_code}", status_code=303)

    @post("/support/{entry_id:str}/done")
    async def follow_up_done(self, request: Request, entry_id: FromPath[str],
                             db: NamedDependency[AsyncSession]) -> Response:
        try:
            entry = await service.complete_follow_up(db, entry_id)
        except service.NotFound:
            raise NotFoundException() from None
        await flash(request, "success", f"「{entry.topic}」のフォローアップを完了にしました。")
        return Redirect(f"/prefecture/support?code={entry.municipality_code}", status_code=303)

    # -- back-office schedule -----------------------------------------------------------------------------------
    @get("/schedule")
    async def schedule(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._schedule(request, db, _year_param(request, fiscal_year_of(wareki.today())))

    async def _schedule(self, request, db, fiscal_year, errors=None, values=None, status=200) -> Template:
        context = await _context(
            request, "/prefecture/schedule", fiscal_year=fiscal_year, events=await service.events(db, fiscal_year),
            years=sorted(set(await service.event_years(db)) | {fiscal_year, fiscal_year_of(wareki.today())}),
            kinds=EVENT_KIND_LABELS, errors=errors or {}, values=values or {},
        )
        return render("prefecture/schedule.html", context, status)

    @post("/schedule")
    async def add_event(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        try:
            async with db.begin_nested():
                event = await service.add_event(db, form)
        except service.InputError as exc:
            return await self._schedule(request, db, _year_param(request, fiscal_year_of(wareki.today())),
                                        exc.errors, form, 422)
        await flash(request, "success", f"「{event.title}」を登録しました。")
        return Redirect(f"/prefecture/schedule?fiscal_year={event.fiscal_year}", status_code=303)

    @post("/schedule/copy")
    async def copy_cycle(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        year = read_fiscal_year(form.get("fiscal_year"))
        if year is None:
            await flash(request, "error", "年度を選んでください。")
            return Redirect("/prefecture/schedule", status_code=303)
        added = await service.copy_yearly_cycle(db, year)
        await flash(request, "success", f"{fiscal_year_label(year)}に年間の標準スケジュールを{added}件追加しました。")
        return Redirect(f"/prefecture/schedule?fiscal_year={year}", status_code=303)

    @get("/schedule/{event_id:str}")
    async def event(self, request: Request, event_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Template:
        return await self._event(request, db, event_id)

    async def _event(self, request, db, event_id, errors=None, values=None, status=200) -> Template:
        try:
            event = await service.get_event(db, event_id)
        except service.NotFound:
            raise NotFoundException() from None
        context = await _context(request, "/prefecture/schedule", event=event, kinds=EVENT_KIND_LABELS,
                                 errors=errors or {}, values=values)
        return render("prefecture/event.html", context, status)

    @post("/schedule/{event_id:str}")
    async def update_event(self, request: Request, event_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        try:
            async with db.begin_nested():
                event = await service.update_event(db, event_id, form)
        except service.NotFound:
            raise NotFoundException() from None
        except service.InputError as exc:
            return await self._event(request, db, event_id, exc.errors, form, 422)
        await flash(request, "success", f"「{event.title}」を更新しました。")
        return Redirect(f"/prefecture/schedule?fiscal_year={event.fiscal_year}", status_code=303)

    @post("/schedule/{event_id:str}/delete")
    async def delete_event(self, request: Request, event_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        try:
            event = await service.get_event(db, event_id)
            year, title = event.fiscal_year, event.title
            await service.delete_event(db, event_id)
        except service.NotFound:
            raise NotFoundException() from None
        await flash(request, "success", f"「{title}」を削除しました。")
        return Redirect(f"/prefecture/schedule?fiscal_year={year}", status_code=303)

    # -- 実態調査 -------------------------------------------------------------------------------------------------
    @get("/surveys")
    async def surveys(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._surveys(request, db)

    async def _surveys(self, request, db, errors=None, values=None, status=200) -> Template:
        context = await _context(request, "/prefecture/surveys", surveys=await service.surveys(db),
                                 survey_status=SURVEY_STATUS_LABELS, errors=errors or {},
                                 values=values or {"fiscal_year": str(fiscal_year_of(wareki.today()))})
        return render("prefecture/surveys.html", context, status)

    @post("/surveys")
    async def create_survey(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        try:
            async with db.begin_nested():
                survey = await service.create_survey(db, form, _actor(request))
        except service.InputError as exc:
            return await self._surveys(request, db, exc.errors, form, 422)
        return Redirect(f"/prefecture/surveys/{survey.id}", status_code=303)

    @get("/surveys/{survey_id:str}")
    async def survey(self, request: Request, survey_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Template:
        return await self._survey(request, db, survey_id)

    async def _survey(self, request, db, survey_id, errors=None, values=None, status=200, new_link=None) -> Template:
        try:
            survey = await service.get_survey(db, survey_id)
        except service.NotFound:
            raise NotFoundException() from None
        questions = await service.questions(db, survey.id)
        results = await service.survey_results(db, survey)
        summaries = {q.id: service.summarise(q, results.answers.get(q.id, {})) for q in questions}
        statuses = await service.tenant_statuses(db)
        active = [m for m in service.municipalities() if statuses.get(m.code) == "active"]
        without_account = [m for m in service.municipalities() if statuses.get(m.code) != "active"]
        context = await _context(
            request, "/prefecture/surveys", survey=survey, questions=questions, results=results, summaries=summaries,
            kinds=QUESTION_KIND_LABELS, survey_status=SURVEY_STATUS_LABELS, active_tenants=active,
            without_account=without_account, new_link=new_link,
            names={m.code: m.name for m in service.municipalities()}, errors=errors or {}, values=values or {},
        )
        return render("prefecture/survey.html", context, status)

    @post("/surveys/{survey_id:str}/questions")
    async def add_question(self, request: Request, survey_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        _, refusal = await self._on_survey(request, db, survey_id, lambda survey: service.add_question(db, survey, form),
                                           form)
        return refusal or Redirect(f"/prefecture/surveys/{survey_id}", status_code=303)

    async def _on_survey(self, request, db, survey_id, change, form=None):
        """``change(survey)`` in a savepoint: (its result, None), or (None, the survey page saying why not)."""
        try:
            survey = await service.get_survey(db, survey_id)
            async with db.begin_nested():
                return await change(survey), None
        except service.NotFound:
            raise NotFoundException() from None
        except service.InputError as exc:
            return None, await self._survey(request, db, survey_id, exc.errors, form, 422)

    @post("/surveys/{survey_id:str}/standard-items")
    async def standard_items(self, request: Request, survey_id: FromPath[str],
                             db: NamedDependency[AsyncSession]) -> Response:
        added, refusal = await self._on_survey(request, db, survey_id,
                                               lambda survey: service.add_standard_items(db, survey))
        if refusal:
            return refusal
        await flash(request, "success", f"標準の調査項目を{added}問追加しました。")
        return Redirect(f"/prefecture/surveys/{survey_id}", status_code=303)

    @post("/surveys/{survey_id:str}/links")
    async def invite(self, request: Request, survey_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        """A one-time link for a municipality without an account: shown on this response only (never stored)."""
        form = await form_fields(request)
        token, refusal = await self._on_survey(
            request, db, survey_id, lambda survey: service.invite_by_link(db, survey, form.get("link_code", ""),
                                                                         _actor(request)), form)
        if refusal:
            return refusal
        names = {m.code: m.name for m in service.municipalities()}
        link = str(request.base_url).rstrip("/") + f"/survey-link/{token}"
        return await self._survey(request, db, survey_id, new_link=(names[form["link_code"]], link))

    @post("/surveys/{survey_id:str}/send")
    async def send(self, request: Request, survey_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        codes = await form_list(request, "codes")
        try:
            survey = await service.get_survey(db, survey_id)
            async with db.begin_nested():
                added = await service.send_survey(db, survey, codes)
        except service.NotFound:
            raise NotFoundException() from None
        except service.InputError as exc:
            await flash(request, "error", str(exc))
            return Redirect(f"/prefecture/surveys/{survey_id}", status_code=303)
        await flash(request, "success", f"{added}団体に送付しました。")
        return Redirect(f"/prefecture/surveys/{survey_id}", status_code=303)

    @post("/surveys/{survey_id:str}/close")
    async def close(self, request: Request, survey_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        try:
            survey = await service.get_survey(db, survey_id)
        except service.NotFound:
            raise NotFoundException() from None
        await service.close_survey(db, survey)
        await flash(request, "success", "調査を締め切りました。")
        return Redirect(f"/prefecture/surveys/{survey_id}", status_code=303)

    # -- aggregates ---------------------------------------------------------------------------------------------
    @get("/aggregates")
    async def aggregates(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        table, municipalities = await _aggregate_table(request, db)
        tenant_bars = bars([(m.name, table.tenant_total(m.code)) for m in municipalities], table.show)
        month_bars = bars([(f"{d.month}月", table.month_total(d)) for d in table.months], table.show)
        context = await _context(
            request, "/prefecture/aggregates", fiscal_year=table.fiscal_year, metrics=METRICS, metric=table.metric,
            table=table, municipalities=municipalities, tenant_bars=tenant_bars, month_bars=month_bars,
            years=_year_choices(table.fiscal_year),
        )
        return render("prefecture/aggregates.html", context)

    @get("/aggregates.csv")
    async def aggregates_csv(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        table, municipalities = await _aggregate_table(request, db)
        name = f"{table.metric.label}_{fiscal_year_label(table.fiscal_year)}.csv"
        return Response(aggregate_csv(table, municipalities), media_type="text/csv",  # Litestar adds the charset
                        headers=attachment(name, f"aggregates-{table.metric.key}-{table.fiscal_year}.csv"))


async def _aggregate_table(request: Request, db: AsyncSession):
    fiscal_year = _year_param(request, fiscal_year_of(wareki.today()))
    metric_key = request.query_params.get("metric", "consultations")
    if metric_key not in METRICS:
        metric_key = "consultations"
    municipalities = service.municipalities()
    tables = await monthly_aggregates(db, fiscal_year, [m.code for m in municipalities], [metric_key])
    return tables[metric_key], municipalities


def _year_choices(selected: int | str | None = None) -> list[int]:
    """年度 offered in a selector (shown as 和暦): the last five and the next, plus the selected one."""
    current = fiscal_year_of(wareki.today())
    chosen = {year} if (year := read_fiscal_year(selected)) else set()
    return sorted(set(range(current - 5, current + 2)) | chosen, reverse=True)


def _plan_years(selected: int | None = None) -> list[int]:
    """Revision years of a 地域福祉計画: this 年度 and the next ten (plus one already recorded)."""
    current = fiscal_year_of(wareki.today())
    return sorted(set(range(current, current + 11)) | ({selected} if selected else set()))
