"""ホーム: the first page after login, showing the municipality and the user."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.response import Template

from ui.templating import STATIC_DIR

from ui.page import page_context
from ui.plugins.extensions import dashboard_widgets


class HomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self, request: Request) -> Template:
        # Dashboard cards of the tenant's plugins (docs/plugins.md, kyosei_dashboard_widgets).
        return Template("home.html", context=await page_context(request, active="/",
                                                                widgets=await dashboard_widgets(request)))

    @get("/favicon.ico")
    async def favicon(self) -> Response:
        # Browsers ask for /favicon.ico whatever the page links; the same drawing as /static/favicon.svg.
        return Response((STATIC_DIR / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})
