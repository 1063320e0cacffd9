"""事業・拠点 pages: hubs and their weekly timetable, programmes (slots, sessions, enrolment), the attendance
sheet of one session, the implementation-plan counts; 地域づくり (partners, activities and their growth); 地域資源.

Thin: read the form, call ``core.programs.service``, render. Bad input re-renders the same page with Japanese
field messages (422; 200 for htmx so it swaps in). Writes run in a savepoint, so a refused write leaves nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.programs import service
from core.programs.api import EDIT_ROLES, MANAGE_ROLES, READ_ROLES, ADMIN_ROLES
from core.programs.counts import COUNT_KEYS, program_counts
from core.programs.eligibility import hook_rule_source
from core.programs.schemas import (
    ACTIVITY_STATUSES,
    FIELDS,
    HUB_KINDS,
    PARTNER_KINDS,
    PROGRAM_KINDS,
    SESSION_STATUSES,
    WEEKDAYS,
    ValidationFailed,
    parse_activity,
    parse_attendance,
    parse_cancel,
    parse_enrolment,
    parse_hub,
    parse_note,
    parse_partner,
    parse_period,
    parse_program,
    parse_range,
    parse_resource,
    parse_slot,
)
from core.programs.service import OVERRIDE_ROLES, NotEligible, ProgramError
from core.wareki import fiscal_year_label
from ui.errors import respond
from ui.page import flash, invalid_status, page_context, render

COUNT_TITLES = {
    "participation_participants": "参加支援事業 参加者数（実人数）",
    "participation_cooperating_businesses": "参加支援事業 協力事業者数",
    "community_hubs": "地域づくり事業 拠点数",
    "community_participants": "地域づくり事業 参加者数（延べ、名前を記録しない参加者を含む）",
    "community_agencies": "地域づくり事業 連携団体数",
}

LABELS = {
    "hub_kinds": HUB_KINDS,
    "program_kinds": PROGRAM_KINDS,
    "fields": FIELDS,
    "partner_kinds": PARTNER_KINDS,
    "weekdays": WEEKDAYS,
    "session_statuses": SESSION_STATUSES,
    "activity_statuses": ACTIVITY_STATUSES,
}


def _guard(roles, message):
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if principal is None or principal.tenant_id is None or not principal.has_role(*roles):
            raise PermissionDeniedException(detail=message)

    return guard


can_read = _guard(READ_ROLES, "事業・拠点の情報を見る権限がありません。")


def _can(request: Request, roles) -> bool:
    principal = request.scope.get("user")
    return principal is not None and principal.has_role(*roles)


def _deny(request: Request, roles, message: str) -> Response | None:
    return None if _can(request, roles) else respond(request, 403, message=message)


async def _form(request: Request):
    if not request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {}
    return await request.form()


def _values(form) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


async def _asked_facts(request: Request, program) -> frozenset[str] | None:
    """The applicant facts this programme's eligibility rules read, so its form asks only those.

    A programme from a plugin's catalog: the facts its rules declare (``EligibilityRule.asks``); ``None`` (ask
    every question) when a rule declares none. A programme entered by hand has only its own age range.
    """
    if not program.source or not program.code:
        return frozenset()
    host = getattr(request.app.state, "plugins", None)
    tenant_id = request.scope["user"].tenant_id
    if host is None:
        return None
    for plugin_name, definitions in await host.call_each(tenant_id, "kyosei_program_catalog"):
        if plugin_name != program.source:
            continue
        for definition in definitions:
            if definition.code == program.code:
                rules = tuple(definition.eligibility)
                if any(not getattr(rule, "asks", ()) for rule in rules):
                    return None
                return frozenset(fact for rule in rules for fact in rule.asks)
    return None


async def _context(request: Request, active: str = "/programs", **extra: Any) -> dict[str, Any]:
    return await page_context(
        request, active=active, can_edit=_can(request, EDIT_ROLES), can_manage=_can(request, MANAGE_ROLES),
        can_admin=_can(request, ADMIN_ROLES), today=wareki.today(), **LABELS, **extra,
    )


def _block(request: Request, template: str, block: str, context: dict[str, Any]) -> Response:
    """One block of a page's template: what an htmx request swaps in (same URL, same template)."""
    jinja = request.app.template_engine.engine.get_template(template)
    html = "".join(jinja.blocks[block](jinja.new_context(context)))
    return Response(html, media_type="text/html", headers={"Vary": "HX-Request"})


def _missing(request: Request, exc: ProgramError) -> Response:
    return respond(request, exc.status, message=exc.message)


class ProgramsController(Controller):
    path = "/programs"
    include_in_schema = False
    guards = [can_read]

    # -- index: hubs and programmes -----------------------------------------------------------------------------

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._index(request, db)

    async def _index(self, request, db, errors=None, values=None, status=200, form_name="") -> Template:
        hubs = await service.list_hubs(db)
        programs = await service.list_programs(db)
        context = await _context(request, hubs=hubs, programs=programs, errors=errors or [], values=values or {},
                                 form_name=form_name)
        return render("programs/index.html", context, status)

    @post("/hubs")
    async def create_hub(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, MANAGE_ROLES, "拠点を登録できるのはコーディネーターまたは団体管理者です。"):
            return denied
        values = _values(await _form(request))
        try:
            async with db.begin_nested():
                hub = await service.create_hub(db, parse_hub(values))
        except ValidationFailed as exc:
            return await self._index(request, db, exc.errors, values, invalid_status(request), "hub")
        await flash(request, "success", f"拠点「{hub.name}」を登録しました。")
        return Redirect(f"/programs/hubs/{hub.id}", status_code=303)

    @post("/")
    async def create_program(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, MANAGE_ROLES, "事業を登録できるのはコーディネーターまたは団体管理者です。"):
            return denied
        values = _values(await _form(request))
        try:
            async with db.begin_nested():
                program = await service.create_program(db, parse_program(values))
        except ValidationFailed as exc:
            return await self._index(request, db, exc.errors, values, invalid_status(request), "program")
        except ProgramError as exc:
            return await self._index(request, db, [{"field": "hub_id", "message": exc.message}], values,
                                     invalid_status(request), "program")
        await flash(request, "success", f"事業「{program.name}」を登録しました。")
        return Redirect(f"/programs/{program.id}", status_code=303)

    @post("/catalog")
    async def install_catalog(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, ADMIN_ROLES, "プラグインの事業カタログを取り込めるのは団体管理者です。"):
            return denied
        host = getattr(request.app.state, "plugins", None)
        results = await service.install_plugin_catalogs(db, host)
        if not results:
            await flash(request, "info", "取り込める事業カタログはありません（有効なプラグインが提供していません）。")
        for plugin, done in results.items():
            label = host.plugins[plugin].info.display_name  # the plugin's own name is internal (nankoku)
            await flash(request, "success", f"「{label}」の事業カタログを取り込みました（拠点{done.hubs}件、事業"
                                             f"{done.programs}件、時間枠{done.slots}件を追加、{done.updated}件を更新）。")
        return Redirect("/programs", status_code=303)

    # -- the weekly timetable of a hub --------------------------------------------------------------------------

    @get("/hubs/{hub_id:str}")
    async def hub(self, request: Request, hub_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        try:
            grid = await service.timetable(db, hub_id, wareki.today())
        except ProgramError as exc:
            return _missing(request, exc)
        return render("programs/timetable.html", await _context(request, grid=grid))

    # -- counts -------------------------------------------------------------------------------------------------

    @get("/counts")
    async def counts(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        today = wareki.today()
        query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        try:
            year, month = parse_period(query, today)
        except ValidationFailed as exc:
            return respond(request, 400, message="、".join(e["message"] for e in exc.errors))
        numbers = await program_counts(db, year, month)
        months = [(m, await program_counts(db, year, m)) for m in (*range(4, 13), 1, 2, 3)] if month is None else []
        context = await _context(request, year=year, month=month, numbers=numbers, months=months,
                                 keys=COUNT_KEYS, titles=COUNT_TITLES, fiscal_year_label=fiscal_year_label,
                                 year_choices=sorted({*range(today.year - 6, today.year + 2), year}, reverse=True))
        return render("programs/counts.html", context)

    # -- one programme ------------------------------------------------------------------------------------------

    @get("/{program_id:str}")
    async def program(self, request: Request, program_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        try:
            return await self._program(request, db, program_id)
        except ProgramError as exc:
            return _missing(request, exc)

    async def _program(self, request, db, program_id, errors=None, values=None, status=200, form_name="",
                       refusal=None, chosen=()) -> Template:
        program = await service.get_program(db, program_id)
        hub = await service.get_hub(db, program.hub_id)
        today = wareki.today()
        asks = await _asked_facts(request, program)
        others = [p for p in await service.list_programs(db) if p.code and p.id != program.id] \
            if asks is None or "program_member" in asks else []
        context = await _context(
            request, program=program, hub=hub, slots=await service.list_slots(db, [program.id]),
            roster=await service.roster(db, program.id), errors=errors or [], values=values or {},
            sessions=await service.list_sessions(db, program.id, today - dt.timedelta(days=14),
                                                 today + dt.timedelta(days=60)),
            form_name=form_name, refusal=refusal, asks=asks, member_programs=others,
            chosen_members=set(chosen),
        )
        return render("programs/program.html", context, status)

    async def _program_action(self, request, db, program_id, roles, message, form_name, work, done) -> Response:
        if denied := _deny(request, roles, message):
            return denied
        form = await _form(request)
        values = _values(form)
        again = {"chosen": form.getall("program_member", [])} if hasattr(form, "getall") else {}
        try:
            await service.get_program(db, program_id)
        except ProgramError as exc:
            return _missing(request, exc)
        try:
            async with db.begin_nested():
                result = await work(form)
        except ValidationFailed as exc:
            return await self._program(request, db, program_id, exc.errors, values, invalid_status(request), form_name,
                                       **again)
        except NotEligible as exc:
            return await self._program(request, db, program_id, [], values, invalid_status(request), form_name,
                                       refusal=exc.reasons, **again)
        except ProgramError as exc:
            return await self._program(request, db, program_id, [{"field": exc.field or "form", "message": exc.message}],
                                       values, invalid_status(request), form_name, **again)
        await flash(request, "success", done(result))
        return Redirect(f"/programs/{program_id}", status_code=303)

    @post("/{program_id:str}/slots")
    async def add_slot(self, request: Request, program_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        return await self._program_action(
            request, db, program_id, MANAGE_ROLES, "時間枠を登録できるのはコーディネーターまたは団体管理者です。",
            "slot", lambda form: service.add_slot(db, program_id, parse_slot(form)),
            lambda slot: "時間枠を登録しました。")

    @post("/{program_id:str}/sessions")
    async def generate(self, request: Request, program_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        async def work(form):
            start, end = parse_range(form)
            return await service.generate_sessions(db, program_id, start, end)

        def done(result) -> str:
            text = f"開催回を{result.created}件作成しました。"
            if result.holidays:
                text += "祝日のため除いた日: " + "、".join(f"{d:%m/%d}（{name}）" for d, name in result.holidays)
            return text

        return await self._program_action(request, db, program_id, EDIT_ROLES, "開催回を作成する権限がありません。",
                                          "generate", work, done)

    @post("/{program_id:str}/enrolments")
    async def enrol(self, request: Request, program_id: FromPath[str], db: NamedDependency[AsyncSession],
                    ) -> Response:
        rules = hook_rule_source(getattr(request.app.state, "plugins", None))

        async def work(form):
            return await service.enrol(db, program_id, parse_enrolment(form, wareki.today()), rules,
                                       request.scope["user"],
                                       may_override=request.scope["user"].has_role(*OVERRIDE_ROLES))

        return await self._program_action(request, db, program_id, EDIT_ROLES, "参加登録をする権限がありません。",
                                          "enrol", work, lambda e: f"{e.person_name}さんを参加登録しました。"
                                          + ("（目安を外れての登録として理由を記録しました）" if e.override_reason else ""))

    # -- one session: attendance sheet and cancellation ---------------------------------------------------------

    @get("/sessions/{program_session_id:str}/attendance")
    async def attendance(self, request: Request, program_session_id: FromPath[str],
                         db: NamedDependency[AsyncSession]) -> Response:
        try:
            return await self._attendance(request, db, program_session_id)
        except ProgramError as exc:
            return _missing(request, exc)

    async def _attendance(self, request, db, session_id, errors=None, status=200, values=None) -> Template:
        held = await service.get_session(db, session_id)
        program = await service.get_program(db, held.program_id)
        people = await service.roster(db, program.id, held.held_on)
        present = await service.attendance_of(db, held.id)
        context = await _context(request, held=held, program=program, people=people, present=present,
                                 errors=errors or [], values=values or {})
        return render("programs/attendance.html", context, status)

    @post("/sessions/{program_session_id:str}/attendance")
    async def save_attendance(self, request: Request, program_session_id: FromPath[str],
                              db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, EDIT_ROLES, "出席を記録する権限がありません。"):
            return denied
        form = await _form(request)
        try:
            held = await service.get_session(db, program_session_id)
        except ProgramError as exc:
            return _missing(request, exc)
        try:
            async with db.begin_nested():
                data = parse_attendance(form)
                await service.record_attendance(db, held.id, data, today=wareki.today())
        except ValidationFailed as exc:
            return await self._attendance(request, db, held.id, exc.errors, invalid_status(request), _values(form))
        except ProgramError as exc:
            return await self._attendance(request, db, held.id, [{"field": "form", "message": exc.message}],
                                          exc.status if exc.status != 404 else 422, _values(form))
        await flash(request, "success", f"出席を記録しました（登録者{len(data.present)}名、名前を記録しない参加者"
                                         f"{data.anonymous_headcount}名）。")
        return Redirect(f"/programs/sessions/{held.id}/attendance", status_code=303)

    @post("/sessions/{program_session_id:str}/cancel")
    async def cancel(self, request: Request, program_session_id: FromPath[str],
                     db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, EDIT_ROLES, "開催回を中止にする権限がありません。"):
            return denied
        form = await _form(request)
        try:
            held = await service.get_session(db, program_session_id)
        except ProgramError as exc:
            return _missing(request, exc)
        try:
            async with db.begin_nested():
                await service.cancel_session(db, held.id, parse_cancel(form))
        except ValidationFailed as exc:
            return await self._attendance(request, db, held.id, exc.errors, invalid_status(request), _values(form))
        except ProgramError as exc:
            await flash(request, "error", exc.message)
            return Redirect(f"/programs/sessions/{held.id}/attendance", status_code=303)
        await flash(request, "success", "開催回を中止にしました。")
        return Redirect(f"/programs/{held.program_id}", status_code=303)


class CommunityController(Controller):
    """地域づくり: partners (ボランティア・協力事業者・連携団体) and community activities with their growth log."""

    path = "/community"
    include_in_schema = False
    guards = [can_read]

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._index(request, db)

    async def _index(self, request, db, errors=None, values=None, status=200, form_name="") -> Template:
        context = await _context(
            request, partners=await service.list_partners(db), activities=await service.list_activities(db),
            hubs=await service.list_hubs(db), programs=await service.list_programs(db), errors=errors or [],
            values=values or {}, form_name=form_name,
        )
        return render("programs/community.html", context, status)

    @post("/partners")
    async def add_partner(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, EDIT_ROLES, "協力者を登録する権限がありません。"):
            return denied
        values = _values(await _form(request))
        try:
            async with db.begin_nested():
                partner = await service.add_partner(db, parse_partner(values, wareki.today()))
        except ValidationFailed as exc:
            return await self._index(request, db, exc.errors, values, invalid_status(request), "partner")
        await flash(request, "success", f"「{partner.name}」を登録しました。")
        return Redirect("/community", status_code=303)

    @post("/activities")
    async def add_activity(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, EDIT_ROLES, "活動を登録する権限がありません。"):
            return denied
        values = _values(await _form(request))
        try:
            async with db.begin_nested():
                activity = await service.add_activity(db, parse_activity(values))
        except ValidationFailed as exc:
            return await self._index(request, db, exc.errors, values, invalid_status(request), "activity")
        await flash(request, "success", f"活動「{activity.name}」を登録しました。")
        return Redirect(f"/community/activities/{activity.id}", status_code=303)

    @get("/activities/{activity_id:str}")
    async def activity(self, request: Request, activity_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        try:
            return await self._activity(request, db, activity_id)
        except ProgramError as exc:
            return _missing(request, exc)

    async def _activity(self, request, db, activity_id, errors=None, values=None, status=200) -> Template:
        growth = await service.growth(db, activity_id)
        context = await _context(request, growth=growth, errors=errors or [], values=values or {})
        return render("programs/activity.html", context, status)

    @post("/activities/{activity_id:str}/notes")
    async def add_note(self, request: Request, activity_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, EDIT_ROLES, "経過を記録する権限がありません。"):
            return denied
        values = _values(await _form(request))
        try:
            activity = await service.get_activity(db, activity_id)
        except ProgramError as exc:
            return _missing(request, exc)
        try:
            async with db.begin_nested():
                await service.add_note(db, activity.id, parse_note(values, wareki.today()))
        except ValidationFailed as exc:
            return await self._activity(request, db, activity.id, exc.errors, values, invalid_status(request))
        await flash(request, "success", "経過を記録しました。")
        return Redirect(f"/community/activities/{activity.id}", status_code=303)


class ResourcesController(Controller):
    """地域資源: the directory, searchable by field (分野), area (地区) and words; htmx swaps only the results."""

    path = "/resources"
    include_in_schema = False
    guards = [can_read]

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._index(request, db)

    async def _index(self, request, db, errors=None, values=None, status=200) -> Template:
        query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        field = query.get("field") if query.get("field") in FIELDS else None
        area = (query.get("area") or "").strip()[:60] or None
        words = (query.get("q") or "").strip()[:100].replace("\x00", "") or None
        found = await service.search_resources(db, field=field, area=area, text=words)
        context = await _context(request, active="/resources", resources=found, areas=await service.resource_areas(db),
                                 query={"field": field or "", "area": area or "", "q": words or ""},
                                 errors=errors or [], values=values or {})
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "resource-results":
            return _block(request, "programs/resources.html", "results", context)
        return render("programs/resources.html", context, status)

    @post("/")
    async def add(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if denied := _deny(request, EDIT_ROLES, "地域資源を登録する権限がありません。"):
            return denied
        values = _values(await _form(request))
        try:
            async with db.begin_nested():
                resource = await service.add_resource(db, parse_resource(values))
        except ValidationFailed as exc:
            return await self._index(request, db, exc.errors, values, invalid_status(request))
        await flash(request, "success", f"地域資源「{resource.name}」を登録しました。")
        return Redirect("/resources", status_code=303)
