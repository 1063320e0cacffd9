"""相談支援 pages: case list and search, intake, the case page with every form of the flow, households, agencies,
break-the-glass, the admin's access log, CSV and monthly counts.

Thin: read the form, call ``core.cases.service``, render. Every page works with plain forms (no JavaScript);
htmx only boosts navigation and makes the list search-as-you-type (the same URL answers the ``results`` block of
``cases/list.html`` to an htmx request; ``Vary: HX-Request``). Bad input re-renders the page with field messages
(422, or 200 for htmx so it swaps in); writes run in a savepoint so a refused one leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core.text_rules import text_problem
from core.auth import staff_directory
from core.documents.download import attachment
from core.auth.principal import Role
from core.cases import assessment_sheet, extensions, schemas, search, service, workflow
from core.documents import case_forms
from core.cases.api import municipal_user
from core.cases.schemas import ValidationFailed
from core.cases.service import BreakGlassRequired, CaseError, Forbidden, NotFound
from core.meetings import flow as meeting_flow
from core.wareki import fiscal_year_label, fiscal_year_of, read_fiscal_year, today
from ui.cases import forms
from ui.errors import respond
from ui.page import flash, invalid_status, page_context, render

EXTRAS_PREFIX = "extras."
LIST_FIELDS = ("problems", "fields", "agency_ids", "meeting_kinds", "items", "purposes", "issue_ids", "businesses")
LABELS = {
    "status_labels": schemas.STATUS_LABELS, "field_labels": schemas.FIELD_LABELS, "route_labels": schemas.ROUTE_LABELS,
    "problem_labels": schemas.PROBLEM_LABELS, "sex_labels": schemas.SEX_LABELS, "suggested_tags": schemas.SUGGESTED_TAGS,
    "record_kind_labels": schemas.RECORD_KIND_LABELS, "achievement_labels": schemas.ACHIEVEMENT_LABELS,
    "next_step_labels": schemas.NEXT_STEP_LABELS, "meeting_kind_labels": schemas.MEETING_KIND_LABELS,
    "info_item_labels": schemas.INFO_ITEM_LABELS, "consent_method_labels": schemas.CONSENT_METHOD_LABELS,
    "referral_status_labels": schemas.REFERRAL_STATUS_LABELS, "assignee_role_labels": schemas.ASSIGNEE_ROLE_LABELS,
    "business_names": schemas.BUSINESS_LABELS, "assessment_sections": assessment_sheet.SECTIONS,
    "case_form_titles": case_forms.FORM_TITLES, "printable_forms": case_forms.printable_forms,
}


# -- helpers ----------------------------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, Any]:
    """Form fields as a mapping: one string each, lists for the checkbox groups."""
    if not request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {}
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form.keys():
        if key == "csrf_token":
            continue
        values = [v for v in form.getall(key) if isinstance(v, str)]
        # a plugin's multi-choice field (extras.<name>) arrives as several values of one key
        many = key in LIST_FIELDS or (key.startswith(EXTRAS_PREFIX) and len(values) > 1)
        data[key] = values if many else (values[0] if values else "")
        if key == "tags":  # one text box of tags; sent repeatedly, every value counts toward the 20-tag limit
            data[key] = " ".join(values)
    return data


def _rows(form: dict[str, Any], prefix: str, count: int, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """``prefix-0-name`` … into ``[{name: …}, …]``, leaving out rows the person left empty."""
    rows = []
    for i in range(count):
        row = {n: form.get(f"{prefix}-{i}-{n}", "") for n in names}
        if any(str(v).strip() for k, v in row.items() if k != "person_id"):
            rows.append(row)
    return rows


def _user(request: Request):
    return request.scope["user"]


async def _context(request: Request, active: str = "/cases", **extra: Any) -> dict[str, Any]:
    principal = _user(request)
    return await page_context(
        request, active=active, **LABELS, today=today(),
        can_edit=principal.has_role(*service.EDIT_ROLES),
        can_admin_agencies=principal.has_role(*service.AGENCY_ADMIN_ROLES),
        is_tenant_admin=principal.has_role(Role.TENANT_ADMIN), **extra,
    )


def entry_forms(file: service.CaseFile, case, can_edit: bool) -> frozenset[str]:
    """The forms of the case page this reader may open (each in a <details>; cases/_entry_NAME.html)."""
    if not can_edit:
        return frozenset()
    offered = {"labels", "consent"}
    if file.shows("assessment") and case.status not in ("closed", "suspended"):
        offered.add("assessment")
    if file.shows("plan") and file.assessments and case.status not in ("intake", "closed", "suspended"):
        offered.add("plan")
    return frozenset(offered)


def render_block(request: Request, template_name: str, block: str, context: dict[str, Any]) -> Response:
    """One block of a template, for an htmx request to the same URL."""
    env = request.app.template_engine.engine
    template = env.get_template(template_name)
    html = "".join(template.blocks[block](template.new_context(context)))
    return Response(html, media_type="text/html", headers={"Vary": "HX-Request"})


def _refusal(exc: CaseError) -> list[dict[str, str]]:
    return exc.errors or [{"field": "_", "message": exc.message}]


def _safety_net(request: Request, exc: Exception) -> Response:
    """What a handler did not turn into a page itself: a Japanese error page, never a 500."""
    if isinstance(exc, ValidationFailed):
        return respond(request, 400 if exc.malformed else 422, errors=[{"key": e["field"], "message": e["message"]}
                                                                        for e in exc.errors])
    assert isinstance(exc, CaseError)
    return respond(request, exc.status, title=exc.title, message=exc.message)


SAFETY_NET = {CaseError: _safety_net, ValidationFailed: _safety_net}


# -- the case list, intake, counts, access log -------------------------------------------------------------------


class CasesController(Controller):
    path = "/cases"
    include_in_schema = False
    guards = [municipal_user]
    exception_handlers = SAFETY_NET

    @get("/staff-picker")
    async def staff_picker(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        """The assignee picker's choices for ``q`` (HTMX partial): current staff of this municipality only."""
        q = (request.query_params.get("q") or "").strip()[:50]
        staff = await staff_directory.search(db, q) if q else []
        return Template("cases/_staff_picker.html", context={"staff": staff, "q": q, "values": {}},
                        headers={"Vary": "HX-Request"})

    @get("/case-picker")
    async def case_picker(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        """Suggestions for a case-number field (HTMX partial of ``<datalist>`` options): the cases the user may
        see whose number or member name contains what was typed (``cq``, or the field's own ``case_number``)."""
        typed = request.query_params.get("cq") or request.query_params.get("case_number") or ""
        cq = typed.strip()[:search.MAX_QUERY]
        rows = (await search.search_cases(db, _user(request), search.CaseQuery(q=cq, limit=10))).rows if cq else []
        return Template("cases/_case_picker.html", context={"rows": rows, **LABELS},
                        headers={"Vary": "HX-Request"})

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        query = search.CaseQuery.from_params(request.query_params)
        page = await search.search_cases(db, _user(request), query)
        context = await _context(request, query=query, page=page, errors=query.errors)
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "case-results":
            return render_block(request, "cases/list.html", "results", context)
        return render("cases/list.html", context)

    @get("/export.csv")
    async def export(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        query = search.CaseQuery.from_params(request.query_params)
        data = await search.export_csv(db, _user(request), query)
        return Response(data, media_type="text/csv",  # Litestar adds the one charset=utf-8
                        headers=attachment(f"支援ケース一覧_{today().isoformat()}.csv", "cases.csv"))

    @get("/new")
    async def new(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        values = {"received_on": today().isoformat(), "receiving_staff": _user(request).display_name,
                  "route": "counter", "consent_given": "false", "members-0-relationship": "本人"}
        return await self._intake_page(request, db, values, [])

    async def _intake_page(self, request, db, values, errors, status=200) -> Template:
        context = await _context(request, values=values, errors=errors, agencies=await service.list_agencies(db),
                                 extra_fields=await extensions.intake_fields(db))
        return render("cases/new.html", context, status)

    @post("/")
    async def create(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        form = await _form(request)
        data = {**form, "members": _rows(form, "members", 3, ("name", "kana", "relationship", "birth_date", "sex",
                                                               "address", "phone", "contact_note")),
                "extras": {k.removeprefix(EXTRAS_PREFIX): v for k, v in form.items() if k.startswith(EXTRAS_PREFIX)}}
        if data["members"] and not data["members"][0].get("relationship"):
            data["members"][0]["relationship"] = "本人"
        try:
            async with db.begin_nested():
                case = await service.create_intake(db, data, _user(request))
        except ValidationFailed as exc:
            return await self._intake_page(request, db, form, exc.errors, invalid_status(request))
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        await flash(request, "success", f"相談を受け付けました（ケース番号 {case.case_number}）。")
        return Redirect(f"/cases/{case.id}", status_code=303)

    @get("/counts")
    async def counts(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        year = read_fiscal_year(request.query_params.get("fiscal_year")) or fiscal_year_of(today())
        result = await search.monthly_counts(db, year)
        context = await _context(request, result=result, year=year, year_label=fiscal_year_label(year),
                                 metrics=search.COUNT_LABELS, field_keys=[*schemas.FIELD_LABELS, "none", "all"])
        return render("cases/counts.html", context)

    @get("/access-log")
    async def access_log(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        try:
            rows = await service.list_access_grants(db, _user(request))
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        return render("cases/access_log.html", await _context(request, rows=rows))

    # -- one case ---------------------------------------------------------------------------------------------

    @get("/{case_id:uuid}")
    async def show(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        try:
            case, basis, file = await service.open_case_and_file(db, _user(request), case_id)
        except NotFound:
            raise NotFoundException(detail="ケースが見つかりません。") from None
        except BreakGlassRequired as exc:
            case = await service.get_case(db, case_id)
            context = await _context(request, case=case, message=exc.message, errors=[], values={})
            return render("cases/break_glass.html", context, 200 if request.headers.get("hx-request") else 403)
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        return await self._case_page(request, db, case, basis=basis, open_form=request.query_params.get("open"),
                                     file=file)

    @get("/{case_id:uuid}/forms/{form_file:str}")
    async def print_form(self, request: Request, case_id: FromPath[uuid.UUID], form_file: FromPath[str],
                         db: NamedDependency[AsyncSession]) -> Response:
        """帳票: 相談受付・申込票, アセスメントシート, 支援プラン, 評価シート, 終結記録 as PDF (ui/cases/forms.py)."""
        return await forms.print_form(request, db, case_id, form_file, LABELS)

    async def _case_page(self, request, db, case, form: str | None = None, errors=None, values=None, status=200,
                         basis: str | None = None, open_form: str | None = None,
                         file: service.CaseFile | None = None) -> Response:
        """The case page; with ``open_form`` (``?open=consent``) that form of it open, or for htmx opening its
        <details> the form alone (cases/_entry_*.html), without the page's other parts (the stage). ``file``: the
        reader's case file when the caller has just read it with the case (``service.open_case_and_file``)."""
        alone = open_form is not None and request.headers.get("hx-request") and not request.headers.get("hx-boosted")
        file = file or await service.case_file(db, case, _user(request), basis=basis)
        # without JavaScript the assignee search arrives with the form: show its matches to pick from
        q = str((values or {}).get("q") or "").strip()[:50] if form == "team" else ""
        staff_matches = await staff_directory.search(db, q) if q else []
        context = await _context(request, file=file, case=case, form=form, errors=errors or [], values=values or {},
                                 staff_matches=staff_matches, staff_q=q,
                                 transitions=workflow.allowed_from(case.status),
                                 may_decide_support=workflow.may_decide_support(_user(request)),
                                 multilayer=workflow.is_multilayer(case),
                                 support_role_label=workflow.SUPPORT_DECISION_ROLE_LABEL)
        context["entry_forms"] = entry_forms(file, case, context["can_edit"])
        context["open_form"] = open_form if open_form in context["entry_forms"] else None
        if alone:
            if context["open_form"] is None:
                return respond(request, 404, message="この入力欄は開けません。")
            return render(f"cases/_entry_{open_form}.html", context, status)
        context["stage"] = await meeting_flow.case_stage(db, case, file)
        return render("cases/detail.html", context, status)

    @post("/{case_id:uuid}/access")
    async def break_glass(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        form = await _form(request)
        try:
            async with db.begin_nested():
                await service.break_glass(db, _user(request), case_id, form)
        except NotFound:
            raise NotFoundException(detail="ケースが見つかりません。") from None
        except ValidationFailed as exc:
            case = await service.get_case(db, case_id)
            context = await _context(request, case=case, message=None, errors=exc.errors, values=form)
            return render("cases/break_glass.html", context, invalid_status(request))
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        await flash(request, "warning", "緊急閲覧として記録しました。閲覧の理由は団体管理者が確認します。")
        return Redirect(f"/cases/{case_id}", status_code=303)

    async def _act(self, request: Request, db: AsyncSession, case_id: uuid.UUID, form_name: str,
                   action: Callable[[Any, dict[str, Any]], Awaitable[Any]], done: str,
                   shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda f: f) -> Response:
        """Open the case for change, run ``action`` in a savepoint; re-render with messages when refused."""
        try:
            case = await service.open_case_for_change(db, _user(request), case_id)
        except NotFound:
            raise NotFoundException(detail="ケースが見つかりません。") from None
        except BreakGlassRequired:
            return Redirect(f"/cases/{case_id}", status_code=303)
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        form = await _form(request)
        try:
            async with db.begin_nested():
                await action(case, shape(form))
        except ValidationFailed as exc:
            await db.refresh(case)
            return await self._case_page(request, db, case, form_name, exc.errors, form, invalid_status(request))
        except NotFound as exc:
            await db.refresh(case)
            return await self._case_page(request, db, case, form_name, _refusal(exc), form, invalid_status(request))
        except Forbidden as exc:
            # a refused act on a case the user may open (支援決定 without the role): shown where it was asked for
            await db.refresh(case)
            return await self._case_page(request, db, case, form_name, _refusal(exc), form, 200 if request.headers.get("hx-request") else 403)
        except CaseError as exc:
            await db.refresh(case)
            return await self._case_page(request, db, case, form_name, _refusal(exc), form, 200 if request.headers.get("hx-request") else 409)
        await flash(request, "success", done)
        return Redirect(f"/cases/{case_id}#{form_name}", status_code=303)

    @post("/{case_id:uuid}/transitions")
    async def change_status(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        async def action(case, form):
            to_status = form.get("to_status") or ""
            if to_status not in schemas.STATUS_LABELS:
                raise ValidationFailed([{"field": "to_status", "message": "変更先の状態を選んでください。"}])
            await service.transition(db, case, to_status, form.get("reason"), principal=_user(request))

        return await self._act(request, db, case_id, "status", action, "状態を変更しました。")

    @post("/{case_id:uuid}/steps")
    async def complete_step(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        async def action(case, form):
            await service.complete_step(db, case, form.get("step") or "", _user(request))

        return await self._act(request, db, case_id, "status", action, "手順の完了を記録しました。")

    @post("/{case_id:uuid}/assessments")
    async def add_assessment(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        def shape(form):
            return {**form, "items": _rows(form, "item", 20, ("person_id", "field", "problem"))}

        return await self._act(request, db, case_id, "assessment",
                               lambda case, data: service.add_assessment(db, case, data), "アセスメントを記録しました。", shape)

    @post("/{case_id:uuid}/plans")
    async def add_plan(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        def shape(form):
            return {**form, "roles": _rows(form, "role", 5, ("agency_id", "role", "actions"))}

        return await self._act(request, db, case_id, "plan",
                               lambda case, data: service.create_plan(db, case, data), "プランを作成しました。", shape)

    @post("/{case_id:uuid}/plan-agreement")
    async def agree_plan(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        async def action(case, form):
            r = schemas.Reader(form)
            on = r.date("agreed_on", "合意日", not_future=True)
            note = r.text("note", "合意の記録", 500, free=True)
            decide = bool(r.boolean("decide", "支援決定"))
            r.done()
            await service.agree_plan(db, case, agreed_on=on, note=note, principal=_user(request), decide=decide)

        decided = (await _form(request)).get("decide") == "true"
        done = "プランの合意と支援決定を記録しました。" if decided else \
            f"プランの合意を記録しました。支援決定は市町村の{workflow.SUPPORT_DECISION_ROLE_LABEL}が記録します。"
        return await self._act(request, db, case_id, "plan", action, done)

    @post("/{case_id:uuid}/records")
    async def add_record(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._act(request, db, case_id, "records",
                               lambda case, data: service.add_record(db, case, data), "支援経過を記録しました。")

    @post("/{case_id:uuid}/evaluations")
    async def add_evaluation(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._act(request, db, case_id, "evaluation",
                               lambda case, data: service.add_evaluation(db, case, data), "評価を記録しました。")

    @post("/{case_id:uuid}/consents")
    async def add_consent(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._act(request, db, case_id, "consent",
                               lambda case, data: service.record_consent(db, case, data), "同意を記録しました。")

    @post("/{case_id:uuid}/consents/{consent_id:uuid}/revocation")
    async def revoke_consent(self, request: Request, case_id: FromPath[uuid.UUID], consent_id: FromPath[uuid.UUID],
                             db: NamedDependency[AsyncSession]) -> Response:
        async def action(case, form):
            consent = await service.get_consent(db, consent_id)
            if consent.case_id != case.id:
                raise NotFound("同意の記録が見つかりません。")
            await service.revoke_consent(db, consent, form)

        return await self._act(request, db, case_id, "consent", action, "同意の撤回を記録しました。以後の共有はできません。")

    @post("/{case_id:uuid}/agencies")
    async def share(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        async def action(case, form):
            r = schemas.Reader(form)
            agency_id = r.uuid("agency_id", "機関", required=True)
            role = r.text("role", "役割", schemas.MAX_SHORT)
            r.done()
            await service.share_with_agency(db, case, agency_id, role)  # type: ignore[arg-type]

        return await self._act(request, db, case_id, "agencies", action, "機関と共有しました。")

    @post("/{case_id:uuid}/referrals")
    async def refer(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._act(request, db, case_id, "agencies",
                               lambda case, data: service.refer(db, case, data), "紹介しました。紹介先の回答を待っています。")

    @post("/{case_id:uuid}/assignees")
    async def assign(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._act(request, db, case_id, "team",
                               lambda case, data: service.assign(db, case, data), "担当者を追加しました。")

    @post("/{case_id:uuid}/labels")
    async def labels(self, request: Request, case_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._act(request, db, case_id, "labels",
                               lambda case, data: service.update_case_labels(db, case, data), "分野・タグを変更しました。")

    @post("/referrals/{referral_id:uuid}/answer")
    async def answer_referral(self, request: Request, referral_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        form = await _form(request)
        try:
            referral = await service.get_referral(db, referral_id)
        except NotFound:
            raise NotFoundException(detail="紹介が見つかりません。") from None
        accept = form.get("answer") == "accept"
        try:
            async with db.begin_nested():
                await service.respond_referral(db, _user(request), referral, accept, form)
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        except (ValidationFailed, CaseError) as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else _refusal(exc)
            await flash(request, "error", " ".join(e["message"] for e in errors or []))
            return Redirect(f"/cases/{referral.case_id}#agencies", status_code=303)
        await flash(request, "success", "紹介を受諾しました。" if accept else "紹介を辞退しました。")
        return Redirect(f"/cases/{referral.case_id}#agencies", status_code=303)


# -- households -------------------------------------------------------------------------------------------------


class HouseholdsController(Controller):
    path = "/households"
    include_in_schema = False
    guards = [municipal_user]
    exception_handlers = SAFETY_NET

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        households = await service.list_households(db, _user(request))
        return render("cases/households.html", await _context(request, "/households", households=households))

    @get("/{household_id:uuid}")
    async def show(self, request: Request, household_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._household_page(request, db, household_id)

    async def _household_page(self, request, db, household_id, errors=None, values=None, status=200) -> Response:
        try:
            household = await service.open_household(db, _user(request), household_id)
        except NotFound:
            raise NotFoundException(detail="世帯が見つかりません。") from None
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        members = await service.household_members(db, household.id, include_past=True)
        cases = await service.household_cases(db, household.id, _user(request))
        context = await _context(request, "/households", household=household, members=members, cases=cases,
                                 errors=errors or [], values=values or {"valid_from": today().isoformat()})
        return render("cases/household.html", context, status)

    @post("/{household_id:uuid}/members")
    async def add_member(self, request: Request, household_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._change(request, db, household_id, "世帯員を追加しました。", self._add)

    @post("/{household_id:uuid}/departures")
    async def member_leaves(self, request: Request, household_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        return await self._change(request, db, household_id, "世帯からの転出・離脱を記録しました。", self._leave)

    @staticmethod
    async def _add(db, household, form):
        r = schemas.Reader(form)
        since = r.date("valid_from", "世帯に加わった日", not_future=True)
        r.done()
        await service.add_member(db, household.id, form, valid_from=since)

    @staticmethod
    async def _leave(db, household, form):
        r = schemas.Reader(form)
        person_id = r.uuid("person_id", "世帯員", required=True)
        until = r.date("valid_to", "世帯を離れた日", not_future=True)
        r.done()
        await service.end_membership(db, person_id, valid_to=until, household_id=household.id)  # type: ignore[arg-type]

    async def _change(self, request, db, household_id, done, action) -> Response:
        try:
            household = await service.open_household(db, _user(request), household_id)
        except NotFound:
            raise NotFoundException(detail="世帯が見つかりません。") from None
        except Forbidden as exc:
            return respond(request, 403, message=exc.message)
        if not _user(request).has_role(*service.EDIT_ROLES):
            return respond(request, 403, message="世帯を変更できるのは職員またはコーディネーターです。")
        form = await _form(request)
        try:
            async with db.begin_nested():
                await action(db, household, form)
        except (ValidationFailed, NotFound) as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else _refusal(exc)
            return await self._household_page(request, db, household_id, errors, form, invalid_status(request))
        await flash(request, "success", done)
        back = form.get("next") or ""
        return Redirect(back if back.startswith("/cases/") and "//" not in back else f"/households/{household_id}",
                        status_code=303)


# -- agencies ---------------------------------------------------------------------------------------------------


class AgenciesController(Controller):
    path = "/agencies"
    include_in_schema = False
    guards = [municipal_user]
    exception_handlers = SAFETY_NET

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        return await self._index(request, db)

    async def _index(self, request, db, errors=None, values=None, status=200) -> Template:
        agencies = await service.list_agencies(db, active_only=False)
        return render("cases/agencies.html", await _context(request, "/agencies", agencies=agencies,
                                                            errors=errors or [], values=values or {}), status)

    @post("/")
    async def create(self, request: Request, db: NamedDependency[AsyncSession]) -> Response:
        if not _user(request).has_role(*service.AGENCY_ADMIN_ROLES):
            return respond(request, 403, message="関係機関を登録できるのは、コーディネーターまたは団体管理者です。")
        form = await _form(request)
        try:
            async with db.begin_nested():
                agency = await service.create_agency(db, form)
        except ValidationFailed as exc:
            return await self._index(request, db, exc.errors, form, invalid_status(request))
        await flash(request, "success", f"「{agency.name}」を登録しました。")
        return Redirect("/agencies", status_code=303)

    @get("/{agency_id:uuid}")
    async def show(self, request: Request, agency_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Template:
        return await self._show(request, db, agency_id)

    async def _show(self, request, db, agency_id, errors=None, values=None, status=200) -> Template:
        try:
            agency = await service.get_agency(db, agency_id)
        except NotFound:
            raise NotFoundException(detail="機関が見つかりません。") from None
        staff = await service.agency_staff(db, agency.id)
        # the staff member is picked by name or kana from the staff directory (nobody types a Keycloak id)
        q = (request.query_params.get("q") or (values or {}).get("q") or "").strip()
        if text_problem(q, "検索語", staff_directory.QUERY_MAX, multiline=False):
            q = ""  # unusable search text (control characters, too long) searches for nothing, like the meeting picker
        found = await staff_directory.search(db, q) if q else []
        return render("cases/agency.html", await _context(request, "/agencies", agency=agency, staff=staff,
                                                          errors=errors or [], values=values or {}, q=q,
                                                          found=found), status)

    @post("/{agency_id:uuid}/staff")
    async def add_staff(self, request: Request, agency_id: FromPath[uuid.UUID], db: NamedDependency[AsyncSession]) -> Response:
        try:
            agency = await service.get_agency(db, agency_id)
        except NotFound:
            raise NotFoundException(detail="機関が見つかりません。") from None
        if not _user(request).has_role(*service.AGENCY_ADMIN_ROLES):
            return respond(request, 403, message="職員を登録できるのは、コーディネーターまたは団体管理者です。")
        form = await _form(request)
        sub = form.get("user_sub") or ""
        # looked up only when it can be an id at all (hostile text is refused by add_agency_staff's validation)
        listed = await staff_directory.find(db, sub) if sub and sub.isprintable() and len(sub) <= 64 else None
        if listed is not None and not form.get("display_name"):
            form = {**form, "display_name": listed.display_name}
        try:
            async with db.begin_nested():
                await service.add_agency_staff(db, agency, form)
        except ValidationFailed as exc:
            return await self._show(request, db, agency_id, exc.errors, form, invalid_status(request))
        await flash(request, "success", "職員を登録しました。")
        return Redirect(f"/agencies/{agency_id}", status_code=303)


def case_pages() -> list:
    return [CasesController, HouseholdsController, AgenciesController]


