"""ホーム: the first page after login, showing the municipality and the user."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from ui.admin.todo import admin_todo
from ui.page import page_context
from ui.plugins.extensions import dashboard_widgets


class HomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        # Dashboard cards of the tenant's plugins (docs/plugins.md, kyosei_dashboard_widgets).
        return Template("home.html", context=await page_context(
            request, active="/", widgets=await dashboard_widgets(request),
            admin_todo=await admin_todo(db, request.scope.get("user"))))
