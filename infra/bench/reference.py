"""The upper reference the throughput benchmark puts beside the app: a minimal Litestar + SQLAlchemy page.

No session, no tenant, no audit, no middleware: one ``GET /reference`` that reads a 12-row table (the first twelve
rows of the ``municipality`` registry, which is global and outside the tenant wall) with SQLAlchemy Core through
an asyncpg pool and renders it with Jinja. Anything the app costs beyond this is what Kyosei itself adds.

    KYOSEI_BENCH_REFERENCE_URL=postgresql://… uvicorn --factory infra.bench.reference:create_reference_app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import jinja2
from litestar import Litestar, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from core.database import create_engine

ROWS = text("SELECT code, name, kana FROM municipality ORDER BY code LIMIT 12")

PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>団体</title></head><body><table>
<thead><tr><th>団体コード</th><th>名称</th><th>よみ</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.code }}</td><td>{{ r.name }}</td><td>{{ r.kana }}</td></tr>
{% endfor %}</tbody></table></body></html>""")


def create_reference_app() -> Litestar:
    url = os.environ["KYOSEI_BENCH_REFERENCE_URL"]

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state.engine = create_engine(url)
        try:
            yield
        finally:
            await app.state.engine.dispose()

    @get("/reference")
    async def reference(state: State) -> Response:
        async with state.engine.connect() as conn:
            rows = (await conn.execute(ROWS)).all()
        return Response(PAGE.render(rows=rows), media_type="text/html")

    @get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    return Litestar([reference, healthz], lifespan=[pool])
