"""A deliberately broken plugin for tests/test_isolation.py: its routes look a case up in *every* tenant (the kind
of "find it wherever it is" shortcut a careless change could add), so the isolation matrix must catch them."""

from __future__ import annotations

import uuid

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.exceptions import NotFoundException

from core.hookspecs import hookimpl
from core.plugin_types import PluginInfo

PLUGIN = PluginInfo(
    name="leaky",
    version="1.0.0",
    vendor="test-vendor",
    api_versions=("1.0",),
    description_ja="試験専用：テナントの壁を越えてしまう壊れたプラグイン",
    title_ja="壊れた例",
)


async def _case_anywhere(request: Request, case_id: uuid.UUID, append: str | None = None):
    from core.cases.models import Household, SupportCase
    from core.tenancy.context import tenant_scope
    from sqlalchemy import select

    for tenant_id in ("394017", "392049", "392014"):  # the bug: binds whichever tenant has the case
        with tenant_scope(tenant_id):
            async with request.app.state.sessions() as session, session.begin():
                case = await session.scalar(select(SupportCase).where(SupportCase.id == case_id))
                if case is not None:
                    household = await session.scalar(select(Household.label).where(Household.id == case.household_id))
                    if append:
                        case.summary = f"{case.summary}{append}"
                    return f"{case.case_number} {case.summary} {household}"
    raise NotFoundException()


@get("/cases/{case_id:uuid}")
async def case_page(request: Request, case_id: FromPath[uuid.UUID]) -> str:
    return await _case_anywhere(request, case_id)


@post("/cases/{case_id:uuid}/note", status_code=200)
async def case_note(request: Request, case_id: FromPath[uuid.UUID]) -> str:
    return await _case_anywhere(request, case_id, append="（追記）")


@post("/cases/{case_id:uuid}/checked", status_code=200)
async def case_checked(request: Request, case_id: FromPath[uuid.UUID]) -> str:
    """Validates its body before any lookup: a matrix that sends no valid body never sees whether the wall holds."""
    from litestar.exceptions import ValidationException

    if not (await request.form()).get("text"):
        raise ValidationException("text is required")
    return await _case_anywhere(request, case_id, append="（確認）")


@post("/cases/{case_id:uuid}/reviewed", status_code=200)
async def case_reviewed(request: Request, case_id: FromPath[uuid.UUID]) -> str:
    """Looks up first (past the wall), then validates: 422 for the other tenant's case, 404 for no case."""
    from litestar.exceptions import ValidationException

    await _case_anywhere(request, case_id)
    if not (await request.form()).get("text"):
        raise ValidationException("text is required", status_code=422)
    return "ok"


@hookimpl
def kyosei_route_handlers():
    return [case_page, case_note, case_checked, case_reviewed]
