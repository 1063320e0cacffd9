"""Liveness and readiness probes for load balancers and the README's first check."""

from __future__ import annotations

import asyncio

from litestar import Request, get
from litestar.response import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.problems import problem


@get("/healthz", sync_to_thread=False, include_in_schema=False, exclude_from_auth=True)
def healthz() -> dict[str, str]:
    """Alive: the process answers. Says nothing about the database."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False, exclude_from_auth=True)
async def readyz(request: Request) -> Response:
    """Ready: the database answers through the application role within two seconds."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with asyncio.timeout(2):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready", never a 500
        return problem(503, "データベースに接続できません", "The database is not reachable.", request)
    return Response({"status": "ready"}, status_code=200)
