"""実態調査の回答: a municipality's tenant admins answer the prefecture's surveys in their own UI.

Answers are the municipality's own rows (``survey_answer``, behind the tenant wall); the prefecture reads them only
through ``survey_answers()`` once the municipality has submitted. Only surveys delivered to this municipality
exist here: any other id is a 404.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.principal import Role
from core.prefecture import service
from core.prefecture.models import SURVEY_STATUS_LABELS
from core.wareki import fiscal_year_label
from ui.page import flash, form_fields, page_context, render
from ui.prefecture.controller import _actor


def tenant_admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = connection.scope.get("user")
    if principal is None or principal.is_prefecture or not principal.has_role(Role.TENANT_ADMIN):
        raise PermissionDeniedException(detail="実態調査に回答できるのは、市町村の団体管理者です。")


class SurveyAnswerController(Controller):
    path = "/survey"
    include_in_schema = False
    guards = [tenant_admin_only]

    @get("/")
    async def index(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        context = await page_context(request, active="/survey", delivered=await service.delivered_surveys(db),
                                     survey_status=SURVEY_STATUS_LABELS, fiscal_year_label=fiscal_year_label)
        return render("survey/index.html", context)

    @get("/{survey_id:str}")
    async def survey(self, request: Request, survey_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Template:
        return await self._survey(request, db, survey_id)

    async def _survey(self, request, db, survey_id, errors=None, values=None, status=200) -> Template:
        try:
            survey, recipient = await service.delivered_survey(db, survey_id)
        except service.NotFound:
            raise NotFoundException() from None
        questions = await service.questions(db, survey.id)
        saved = await service.my_answers(db, survey.id)
        # Not answered yet: filled in from the municipality's own records, for staff to check before sending.
        proposed = {} if recipient.submitted_at else await service.prefill(
            db, survey, [q for q in questions if q.id not in saved], request.scope["user"].tenant_id)
        answers = {q.id: (values or {}).get(f"q-{q.id}", saved.get(q.id, proposed.get(q.id, ""))) for q in questions}
        context = await page_context(request, active="/survey", survey=survey, recipient=recipient,
                                     questions=questions, answers=answers, prefilled=set(proposed),
                                     errors=errors or {}, fiscal_year_label=fiscal_year_label)
        return render("survey/answer.html", context, status)

    @post("/{survey_id:str}")
    async def answer(self, request: Request, survey_id: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        submit = form.get("action") == "submit"
        try:
            async with db.begin_nested():
                await service.save_answers(db, survey_id, form, _actor(request), submit=submit)
        except service.NotFound:
            raise NotFoundException() from None
        except service.InputError as exc:
            return await self._survey(request, db, survey_id, exc.errors, form, 422)
        await flash(request, "success", "回答を提出しました。県に送られます。" if submit else "回答を一時保存しました。")
        return Redirect(f"/survey/{survey_id}", status_code=303)


class SurveyLinkController(Controller):
    """実態調査 answered through a one-time link by a municipality without an account (public path: the link's
    secret is the only key, and it works once, until the survey's deadline). Cross-site forgery needs the secret
    too, so the secret in the path stands in for a session's CSRF token."""

    path = "/survey-link"
    include_in_schema = False

    @get("/{token:str}")
    async def show(self, request: Request, token: FromPath[str], db: NamedDependency[AsyncSession]) -> Template:
        return await self._show(request, db, token)

    async def _show(self, request, db, token, errors=None, values=None, status=200) -> Template:
        try:
            link = await service.open_link(db, token)
        except service.NotFound:
            raise NotFoundException(detail="この回答用リンクは見つかりません。県の担当者に確認してください。") from None
        answers = {q.id: (values or {}).get(f"q-{q.id}", link.answers.get(str(q.id), "")) for q in link.questions}
        context = await page_context(request, active="", link=link, survey=link.survey, questions=link.questions,
                                     answers=answers, prefilled=set(), errors=errors or {}, values=values or {}, request_token=token,
                                     past_due=service.past_due(link.survey), fiscal_year_label=fiscal_year_label)
        return render("survey/link.html", context, status)

    @post("/{token:str}")
    async def answer(self, request: Request, token: FromPath[str], db: NamedDependency[AsyncSession]) -> Response:
        form = await form_fields(request)
        try:
            await service.answer_link(db, token, form)
        except service.NotFound:
            raise NotFoundException(detail="この回答用リンクは見つかりません。県の担当者に確認してください。") from None
        except service.LinkClosed:
            return await self._show(request, db, token, status=410)
        except service.InputError as exc:
            return await self._show(request, db, token, exc.errors, form, 422)
        return Redirect(f"/survey-link/{token}", status_code=303)
