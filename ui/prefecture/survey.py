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


async def tenant_admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
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
        answers = {q.id: (values or {}).get(f"q-{q.id}", saved.get(q.id, "")) for q in questions}
        context = await page_context(request, active="/survey", survey=survey, recipient=recipient,
                                     questions=questions, answers=answers, errors=errors or {},
                                     fiscal_year_label=fiscal_year_label)
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
