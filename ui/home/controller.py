"""ホーム: the first page after login: the municipality, the user, and today's work for their roles (ui/home/today.py)."""

from __future__ import annotations


from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.cases.schemas import STATUS_LABELS
from ui.home import today as work
from ui.page import page_context, render
from ui.plugins.extensions import dashboard_widgets
from ui.templating import STATIC_DIR


async def _cards(request: Request, db: AsyncSession) -> list[work.Card]:
    principal = request.scope["user"]
    today = wareki.today()
    if principal.is_prefecture:
        return await work.prefecture_cards(db, today) if principal.has_role("prefecture-admin") else []
    cards: list[work.Card] = []
    if principal.has_role("staff", "coordinator"):
        cards += await work.staff_cards(db, principal, today, STATUS_LABELS)
    if principal.has_role("coordinator"):
        cards += await work.coordinator_cards(db, principal, STATUS_LABELS)
    if principal.has_role("tenant-admin"):
        setup, *admin = await work.admin_cards(db, request, principal.tenant_id, today)
        # a municipality still setting up sees its first steps first; once done, they wait at the end
        cards = [setup, *cards, *admin] if setup.items else [*cards, *admin, setup]
    return cards


class HomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self, request: Request, db: NamedDependency[AsyncSession]) -> Template:
        # Dashboard cards of the tenant's plugins (docs/plugins.md, kyosei_dashboard_widgets) after today's work.
        return render("home.html", await page_context(request, active="/", cards=await _cards(request, db),
                                                      widgets=await dashboard_widgets(request)))

    @get("/favicon.ico")
    async def favicon(self) -> Response:
        # Browsers ask for /favicon.ico whatever the page links; the same drawing as /static/favicon.svg.
        return Response((STATIC_DIR / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})
