"""ホーム: the first page after login, showing the municipality and the user."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from ui.page import page_context


class HomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self, request: Request) -> Template:
        return Template("home.html", context=await page_context(request, active="/"))
