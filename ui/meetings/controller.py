"""会議 pages: the calendar/list, a meeting with its members, agenda and decisions, the minutes editor and PDF,
the follow-up list, the core meeting's progress check and the 推進員 seats (/meetings/seats).

Forms that the rules may refuse (a decision, 支援決定, an acknowledgement, finalising) post without htmx, so the
refusal page with its 409/403 and the message naming the rule is shown whatever the status.

Thin: read the form, call ``core.meetings.service``, render. Kinds and roles come from the tenant's plugins
(``kyosei_meeting_kinds`` / ``kyosei_roles``) merged with the two legal kinds. A confidential meeting (支援会議) is
404 for anyone but its members and the tenant's coordinators, and the attempt is audited as DENIED: the handler
returns the 404 (it does not raise), so the request's transaction commits the audit event.

Members are picked by name: ``/meetings/staff-directory?q=`` is the HTMX partial of the search-as-you-type box
(the tenant's staff directory, 漢字 or かな, partial match); without JavaScript the same search reloads the meeting
page with ``?q=``. The form sends the chosen person's ``user_sub``; external participants are typed.
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
from core.documents.download import attachment
from core.audit.trail import AuditAction, record
from core.auth import staff_directory
from core.cases import search as case_search
from core.cases.schemas import STATUS_LABELS
from core.documents.pdf import PdfUnavailable, html_to_pdf
from core.meetings import service
from core.cases import workflow
from core.meetings.decisions import LABELS as DECISION_LABELS, tenant_rules
from core.meetings.kinds import MEMBER_ROLE_LABELS, JST_NOTE, tenant_kinds, tenant_roles
from core.meetings.service import ACK_METHODS, JST, CaseError, ValidationFailed
from core.text_rules import text_problem
from core.wareki import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, jdatetime
from ui.errors import respond
from ui.page import flash, form_fields, page_context, render

ROLES = ("staff", "coordinator")


async def can_use(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = connection.scope.get("user")
    if principal is None or principal.tenant_id is None or principal.is_prefecture or not principal.has_role(*ROLES):
        raise PermissionDeniedException(detail="会議を利用できるのは市町村の職員またはコーディネーターです。")


def _principal(request: Request):
    return request.scope["user"]


async def _kinds(request: Request):
    return await tenant_kinds(getattr(request.app.state, "plugins", None), _principal(request).tenant_id)


async def _roles(request: Request):
    return await tenant_roles(getattr(request.app.state, "plugins", None), _principal(request).tenant_id)


async def _rules(request: Request, kinds):
    return await tenant_rules(getattr(request.app.state, "plugins", None), _principal(request).tenant_id, kinds)


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(JST).strftime("%Y-%m-%d %H:%M") if value else ""


async def _context(request: Request, active: str = "/meetings", **extra: Any) -> dict[str, Any]:
    return await page_context(request, active=active, member_role_labels=MEMBER_ROLE_LABELS,
                              decision_labels=DECISION_LABELS, status_labels=STATUS_LABELS, local=_local,
                              jst_note=JST_NOTE, ack_methods=ACK_METHODS, **extra)


def _staff_query(request: Request) -> str:
    """The picker's search text: one line, bounded; anything unusable searches for nothing."""
    q = (request.query_params.get("q") or "").strip()
    return "" if text_problem(q, "検索語", staff_directory.QUERY_MAX, multiline=False) else q


def _case_query(request: Request) -> str:
    """The agenda picker's search text, bounded like the case list's search box."""
    cq = (request.query_params.get("cq") or "").strip()
    return "" if text_problem(cq, "検索語", case_search.MAX_QUERY, multiline=False) else cq


async def _open_cases(db: AsyncSession, request: Request, cq: str) -> list:
    """Open cases matching ``cq`` among those the user may see (the case list's own search and rules)."""
    if not cq:
        return []
    page = await case_search.search_cases(db, _principal(request), case_search.CaseQuery(q=cq, status="open", limit=10))
    return page.rows


def _month(raw: str | None) -> dt.date:
    """The calendar's month (?month=2026-04); this month for anything else, including a month whose neighbours
    the calendar cannot name (0001-01 has no previous month, 9999-12 no next one)."""
    try:
        month = dt.date.fromisoformat(f"{raw}-01") if raw else None
    except ValueError:
        month = None
    if month is None or not FIRST_FISCAL_YEAR <= month.year <= LAST_FISCAL_YEAR:
        return wareki.today().replace(day=1)
    return month


class MeetingsController(Controller):
    path = "/meetings"
    include_in_schema = False
    guards = [can_use]

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._index(request, db)

    async def _index(self, request, db, errors=None, values=None, status=200) -> Template:
        kinds = await _kinds(request)
        month = _month(request.query_params.get("month"))
        nxt = (month + dt.timedelta(days=32)).replace(day=1)
        prev = (month - dt.timedelta(days=1)).replace(day=1)
        meetings = await service.list_meetings(db, _principal(request), kinds, start=month, end=nxt)
        days: dict[dt.date, list] = {}
        for m in meetings:
            days.setdefault(m.starts_at.astimezone(JST).date(), []).append(m)
        context = await _context(request, kinds=kinds, days=days, month=month, next_month=nxt, prev_month=prev,
                                 errors=errors or [], values=values or {})
        return render("meetings/list.html", context, status)

    @post("/")
    async def create(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        values = await form_fields(request)
        roles = await _roles(request)
        try:
            async with db.begin_nested():
                scheduled = await service.schedule(db, values, await _kinds(request), roles, _principal(request))
        except ValidationFailed as exc:
            return await self._index(request, db, exc.errors, values, 200 if request.headers.get("hx-request") else 422)
        meeting = scheduled.meeting
        await flash(request, "success", f"「{meeting.title}」を登録しました。")
        if scheduled.empty_seats:
            names = "・".join(roles[c].label for c in scheduled.empty_seats)
            await flash(request, "warning", f"{names}の担当者が決まっていないため、自動で着席できませんでした（推進員の配置で設定できます）。")
        return Redirect(f"/meetings/{meeting.id}", status_code=303)

    @get("/follow-up")
    async def follow_up(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        rows = await service.follow_up(db, _principal(request))
        return render("meetings/follow_up.html", await _context(request, rows=rows, today=wareki.today()))

    @get("/progress")
    async def progress(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        progress = await service.progress_check(db, _principal(request), await _kinds(request))
        return render("meetings/progress.html", await _context(request, active="/meetings/progress", progress=progress))

    @get("/case-options")
    async def case_options(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        """The agenda picker's options for ``cq`` (HTMX partial swapped into the agenda form)."""
        cq = _case_query(request)
        context = {"cases": await _open_cases(db, request, cq), "cq": cq, "values": {},
                   "status_labels": STATUS_LABELS}
        return Template("meetings/_case_options.html", context=context, headers={"Vary": "HX-Request"})

    @get("/staff-directory")
    async def staff_options(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        """The picker's options for ``q`` (HTMX partial swapped into the member form)."""
        q = _staff_query(request)
        context = {"staff": await staff_directory.search(db, q) if q else [], "q": q}
        return Template("meetings/_staff_options.html", context=context, headers={"Vary": "HX-Request"})

    async def _open(self, request: Request, db: AsyncSession, meeting_id: str, *, full: bool = True):
        """(meeting, kinds, None), or (None, kinds, the refusal's page). ``full``: the handler needs the cases or
        minutes (a 支援会議 before acknowledging secrecy: 403)."""
        meeting, _members, kinds, denied = await self._open_with_members(request, db, meeting_id, full=full)
        return meeting, kinds, denied

    async def _open_with_members(self, request: Request, db: AsyncSession, meeting_id: str, *, full: bool = True):
        """``_open`` with the meeting's members, which opening the meeting reads anyway (``members``' order), for
        a handler that shows them."""
        kinds = await _kinds(request)
        try:
            meeting, members = await service.open_meeting_with_members(db, meeting_id, _principal(request), kinds,
                                                                       full=full)
        except CaseError as exc:
            return None, [], kinds, respond(request, exc.status, message=exc.message)
        return meeting, members, kinds, None

    async def _detail(self, request, db, meeting, kinds, errors=None, values=None, status=200, *,
                      members=None) -> Template:
        """``members``: the meeting's members when opening the meeting read them already."""
        q, cq = _staff_query(request), _case_query(request)
        principal = _principal(request)
        kind = kinds.get(meeting.kind)
        if members is None:
            members = await service.members(db, meeting.id)
        full = service.meeting_access_among(members, kind, principal) == service.FULL
        chair = service.chairs(members, principal)
        context = await _context(
            request, meeting=meeting, kind=kind, kinds=kinds, roles=await _roles(request),
            rules=(await _rules(request, kinds)).get(meeting.kind), full=full, me=principal.sub,
            chair=chair, today=wareki.today(),
            may_finalise=principal.has_role("coordinator") or chair,
            may_decide_support=workflow.may_decide_support(principal),
            support_role_label=workflow.SUPPORT_DECISION_ROLE_LABEL,
            members=members, agenda=await service.agenda(db, meeting, principal, members) if full else [],
            waiting=await service.waiting_carries(db, meeting, kinds, principal, members) if full else [],
            errors=errors or [], values=values or {}, q=q, staff=await staff_directory.search(db, q) if q else [],
            cq=cq, cases=await _open_cases(db, request, cq) if full else [])
        return render("meetings/detail.html", context, status)

    @get("/seats")
    async def seats(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._seats(request, db)

    async def _seats(self, request, db, errors=None, status=200) -> Template:
        context = await _context(request, roles=await _roles(request), holders=await service.seat_holders(db),
                                 staff=await service.staff_list(db), errors=errors or [],
                                 may_assign=_principal(request).has_role(*service.SEAT_ROLES))
        return render("meetings/seats.html", context, status)

    @post("/seats")
    async def assign_seats(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if not _principal(request).has_role(*service.SEAT_ROLES):
            return respond(request, 403, message="推進員の配置を変更できるのは、推進員（コーディネーター）と団体管理者です。")
        values = await form_fields(request)
        roles = await _roles(request)
        try:
            async with db.begin_nested():
                for code in roles:
                    if code in values:
                        await service.assign_seat(db, code, values.get(code) or None, roles)
        except ValidationFailed as exc:
            return await self._seats(request, db, exc.errors, 422)
        await flash(request, "success", "推進員の配置を保存しました。次に登録する会議から自動で着席します。")
        return Redirect("/meetings/seats", status_code=303)

    @get("/{meeting_id:str}")
    async def detail(self, request: Request, meeting_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        meeting, members, kinds, denied = await self._open_with_members(request, db, meeting_id, full=False)
        if denied:
            return denied
        return await self._detail(request, db, meeting, kinds, members=members)

    @post("/{meeting_id:str}/members")
    async def add_member(self, request: Request, meeting_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        meeting, kinds, denied = await self._open(request, db, meeting_id)
        if denied:
            return denied
        values = await form_fields(request)
        try:
            async with db.begin_nested():
                await service.add_member(db, meeting, values, await _roles(request))
        except ValidationFailed as exc:
            return await self._detail(request, db, meeting, kinds, exc.errors, values, 422)
        return Redirect(f"/meetings/{meeting.id}", status_code=303)

    @post("/{meeting_id:str}/members/{member_id:str}/acknowledge")
    async def acknowledge(self, request: Request, meeting_id: FromPath[str], member_id: FromPath[str],
                          db: NamedDependency[AsyncSession]) -> Response:
        meeting, kinds, denied = await self._open(request, db, meeting_id, full=False)
        if denied:
            return denied
        values = await form_fields(request)
        try:
            await service.acknowledge_confidentiality(db, meeting, member_id, _principal(request), values)
        except ValidationFailed as exc:
            return await self._detail(request, db, meeting, kinds, exc.errors, values, 422)
        except CaseError as exc:  # returned with the page: the DENIED event of acting for another is committed
            return await self._detail(request, db, meeting, kinds, [{"field": "ack", "message": exc.message}],
                                      values, exc.status)
        await flash(request, "success", "守秘義務の確認を記録しました。")
        return Redirect(f"/meetings/{meeting.id}", status_code=303)

    @post("/{meeting_id:str}/agenda")
    async def add_agenda(self, request: Request, meeting_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        meeting, kinds, denied = await self._open(request, db, meeting_id)
        if denied:
            return denied
        values = await form_fields(request)
        try:
            async with db.begin_nested():
                await service.add_agenda_item(db, meeting, kinds.get(meeting.kind), values.get("case_id"),
                                              values.get("issues"), principal=request.user)
        except ValidationFailed as exc:
            return await self._detail(request, db, meeting, kinds, exc.errors, values, 422)
        except CaseError as exc:
            await record(db, AuditAction.DENIED, "meeting", meeting.id, reason="agenda refused")
            return await self._detail(request, db, meeting, kinds, [{"field": "case_id", "message": exc.message}],
                                      values, exc.status)
        return Redirect(f"/meetings/{meeting.id}", status_code=303)

    @post("/{meeting_id:str}/agenda/{item_id:str}/decision")
    async def decide(self, request: Request, meeting_id: FromPath[str], item_id: FromPath[str],
                     db: NamedDependency[AsyncSession]) -> Response:
        return await self._decision(
            request, db, meeting_id, "決定を記録し、ケースに反映しました。",
            lambda meeting, rules, values: service.decide(db, meeting, rules, item_id, values.get("decision", ""),
                                                          values.get("note"), _principal(request)))

    @post("/{meeting_id:str}/agenda/{item_id:str}/support-decision")
    async def decide_support(self, request: Request, meeting_id: FromPath[str], item_id: FromPath[str],
                             db: NamedDependency[AsyncSession]) -> Response:
        return await self._decision(
            request, db, meeting_id, "支援決定を記録しました。",
            lambda meeting, rules, values: service.decide_support(db, meeting, rules, item_id, _principal(request),
                                                                  values.get("note")))

    async def _decision(self, request, db, meeting_id: str, done: str, act) -> Response:
        """A decision on an agenda item (the meeting's own, or the municipality's 支援決定 after it).

        Both are held by the meeting kind's rules; a refusal is shown on the meeting page with its status (409/403)
        and its DENIED audit event stays committed.
        """
        meeting, kinds, denied = await self._open(request, db, meeting_id)
        if denied:
            return denied
        values = await form_fields(request)
        rules = (await _rules(request, kinds)).get(meeting.kind)
        try:
            async with db.begin_nested():
                await act(meeting, rules, values)
        except ValidationFailed as exc:
            return await self._detail(request, db, meeting, kinds, exc.errors, values, 422)
        except CaseError as exc:
            if isinstance(exc, (service.DecisionRefused, service.Forbidden)):
                await record(db, AuditAction.DENIED, "meeting", meeting.id, reason="decision refused")
            return await self._detail(request, db, meeting, kinds, [{"field": "decision", "message": exc.message}],
                                      values, exc.status)
        await flash(request, "success", done)
        return Redirect(f"/meetings/{meeting.id}#agenda", status_code=303)

    @post("/{meeting_id:str}/minutes/finalise")
    async def finalise_minutes(self, request: Request, meeting_id: FromPath[str],
                               db: NamedDependency[AsyncSession]) -> Response:
        meeting, kinds, denied = await self._open(request, db, meeting_id)
        if denied:
            return denied
        try:
            await service.finalise_minutes(db, meeting, _principal(request))
        except CaseError as exc:
            return await self._detail(request, db, meeting, kinds, [{"field": "minutes", "message": exc.message}],
                                      {}, exc.status)
        await flash(request, "success", "議事録を確定しました。以後、決定と議事録は変更できません。")
        return Redirect(f"/meetings/{meeting.id}", status_code=303)

    @get("/{meeting_id:str}/minutes")
    async def minutes(self, request: Request, meeting_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        meeting, kinds, denied = await self._open(request, db, meeting_id)
        if denied:
            return denied
        context = await _context(request, meeting=meeting, kind=kinds.get(meeting.kind), errors=[], saved=False)
        return render("meetings/minutes.html", context)

    @post("/{meeting_id:str}/minutes")
    async def save_minutes(self, request: Request, meeting_id: FromPath[str],
                           db: NamedDependency[AsyncSession]) -> Response:
        meeting, kinds, denied = await self._open(request, db, meeting_id)
        if denied:
            return denied
        values = await form_fields(request)
        try:
            async with db.begin_nested():
                await service.save_minutes(db, meeting, values.get("minutes"))
        except (ValidationFailed, CaseError) as exc:  # bad text, or the minutes were finalised (409)
            refused = isinstance(exc, CaseError)
            errors = [{"field": "minutes", "message": exc.message}] if refused else exc.errors
            context = await _context(request, meeting=meeting, kind=kinds.get(meeting.kind), errors=errors, saved=False)
            return render("meetings/minutes.html", context, exc.status if refused else 422)
        if request.headers.get("hx-request"):
            return Response(f'<p id="minutes-status" role="status">保存しました（{jdatetime(meeting.minutes_updated_at)}）</p>',
                            media_type="text/html")
        await flash(request, "success", "議事録を保存しました。")
        return Redirect(f"/meetings/{meeting.id}/minutes", status_code=303)

    @get("/{meeting_id:str}/minutes.pdf")
    async def minutes_pdf(self, request: Request, meeting_id: FromPath[str],
                          db: NamedDependency[AsyncSession]) -> Response:
        meeting, members, kinds, denied = await self._open_with_members(request, db, meeting_id)
        if denied:
            return denied
        jinja = request.app.template_engine.engine.get_template("meetings/minutes_pdf.html")
        html = jinja.render(meeting=meeting, kind=kinds.get(meeting.kind), members=members,
                            agenda=await service.agenda(db, meeting, _principal(request), members),
                            member_role_labels=MEMBER_ROLE_LABELS,
                            decision_labels=DECISION_LABELS, roles=await _roles(request), ack_methods=ACK_METHODS,
                            rules=(await _rules(request, kinds)).get(meeting.kind))
        try:
            pdf = await html_to_pdf(html)
        except PdfUnavailable:
            return respond(request, 503, message="PDFを作成できませんでした。時間をおいてお試しください。")
        await record(db, AuditAction.EXPORT, "meeting", meeting.id, reason="minutes.pdf")
        name = f"{meeting.title}_議事録_{meeting.starts_at.astimezone(JST):%Y-%m-%d}.pdf"
        return Response(pdf, media_type="application/pdf", headers=attachment(name, f"minutes-{meeting.id}.pdf"))


def meeting_pages() -> list:
    return [MeetingsController]
