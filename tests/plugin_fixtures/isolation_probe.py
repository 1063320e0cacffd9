"""A plugin with tenant-data routes of its own, so the isolation matrix (tests/test_isolation.py) sweeps plugin
routes too: a case page and a note form, both through the request's own unit of work (the wall applies)."""

from __future__ import annotations

import uuid

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from core.hookspecs import hookimpl
from core.plugin_types import PluginInfo, RoleDefinition

PLUGIN = PluginInfo(
    name="isolation_probe",
    version="1.0.0",
    vendor="test-vendor",
    api_versions=("1.0",),
    description_ja="隔離試験用のプラグイン（ケースを表示・追記する）",
    title_ja="隔離試験",
)


async def _case(db: AsyncSession, case_id: uuid.UUID):
    from sqlalchemy import select

    from core.cases.models import SupportCase

    case = await db.scalar(select(SupportCase).where(SupportCase.id == case_id))
    if case is None:
        raise NotFoundException()
    return case


@get("/cases/{case_id:uuid}")
async def case_page(db: NamedDependency[AsyncSession], case_id: FromPath[uuid.UUID]) -> str:
    case = await _case(db, case_id)
    return f"{case.case_number} {case.summary}"


@post("/cases/{case_id:uuid}/note", status_code=200)
async def case_note(db: NamedDependency[AsyncSession], case_id: FromPath[uuid.UUID]) -> str:
    case = await _case(db, case_id)
    case.summary = f"{case.summary}（追記）"
    return case.case_number


@hookimpl
def kyosei_route_handlers():
    return [case_page, case_note]


@hookimpl
def kyosei_roles(tenant_id):
    return [RoleDefinition(code="isolation_probe_reader", label="隔離試験の閲覧者", base_role="staff")]
