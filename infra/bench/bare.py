"""The floor the load benchmark compares the app against: the case list with nothing around it.

A bare ASGI callable (no framework, no session, no CSRF, no ORM objects, no audit row, no plugin navigation) that
answers ``GET /cases?user=<sub>`` with the same SQL the app's case list sends for that staff member (built by
``core.cases.search`` itself, so the two cannot drift apart), the same assignee-name query, and a Jinja2 template
with the same table. ``uvicorn --factory infra.bench.bare:create_bare_app`` serves it; the environment says how:

- ``KYOSEI_BENCH_BARE_URL``: the database URL;
- ``KYOSEI_BENCH_BARE_TENANT``: the municipality whose cases are listed;
- ``KYOSEI_BENCH_BARE_RLS``: ``1`` to run each request in a transaction bound to the tenant as the application
  role (row-level security on), ``0`` to query as a role that bypasses RLS, with the tenant written into the
  query on every table (what a schema without the wall would need).
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import jinja2

PAGE_SIZE = 50

ASSIGNEES_SQL = (
    "SELECT case_id, display_name FROM case_assignee WHERE tenant_id = $1 AND case_id = ANY($2::uuid[]) "
    "AND ended_at IS NULL ORDER BY role, assigned_at"
)

TEMPLATE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>支援ケース一覧</title></head>
<body><header><nav><a href="/">ホーム</a> <a href="/cases">相談ケース</a> <a href="/households">世帯</a></nav></header>
<main><h1>支援ケース一覧</h1>
<form action="/cases" method="get"><input type="search" name="q" value="{{ q or '' }}"><button>検索</button></form>
<div id="case-results"><table>
<thead><tr><th>ケース番号</th><th>状態</th><th>受付日</th><th>世帯</th><th>本人</th><th>分野</th><th>タグ</th><th>担当者</th><th>次回見直し</th></tr></thead>
<tbody>
{% for r in rows %}<tr><td><a href="/cases/{{ r.id }}">{{ r.case_number }}</a></td><td>{{ status_labels[r.status] }}</td>
<td>{{ r.received_on }}</td><td>{{ r.label }}</td><td>{{ r.name }}<br><small>{{ r.kana }}</small></td>
<td>{{ r.fields|map('fieldlabel')|join('・') }}</td><td>{% for t in r.tags %}#{{ t }} {% endfor %}</td>
<td>{{ assignees.get(r.id, [])|join('・') }}</td><td>{{ r.review_on or '' }}</td></tr>
{% endfor %}</tbody></table>
{% if more %}<a href="/cases?after={{ rows[-1].id }}">次の50件</a>{% endif %}</div></main></body></html>"""


def case_list_statement(sub: str, tenant_id: str, q: str | None = None, *, explicit_tenant: bool):
    """The app's own case-list statement for a staff member (``core.cases.search``), newest first, one page + 1.

    ``explicit_tenant`` adds ``tenant_id = <tenant>`` to every table the statement reads, which is what row-level
    security adds when it is on; without it the statement is exactly what the app sends (RLS supplies the rest).
    """
    from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
    from sqlalchemy.orm import with_loader_criteria

    from core.auth.principal import Principal
    from core.cases import search
    from core.database import TenantOwned

    principal = Principal(sub=sub, username="bench", display_name="bench", tenant_id=tenant_id, tenant_name=None,
                          roles=frozenset({"staff"}))
    # _filtered is the list's query builder; the benchmark must time the very statement the page runs.
    stmt, params = search._filtered(principal, search.CaseQuery(q=q), search.LIST_COLUMNS, limit=PAGE_SIZE + 1)
    if explicit_tenant:
        stmt = stmt.options(with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id,
                                                 include_aliases=True))
    compiled = stmt.compile(dialect=asyncpg_dialect.dialect())
    values = {**compiled.params, **params}
    return str(compiled), [values[name] for name in compiled.positiontup]


class BareCaseList:
    """ASGI app: ``/healthz`` and ``/cases?user=<sub>[&q=…]``."""

    def __init__(self, database_url: str, tenant_id: str, rls: bool):
        self.database_url = database_url
        self.tenant_id = tenant_id
        self.rls = rls
        self.pool: asyncpg.Pool | None = None
        self.statements: dict[tuple[str, str | None], tuple[str, list[Any]]] = {}
        from core.cases.schemas import FIELD_LABELS, STATUS_LABELS

        env = jinja2.Environment(autoescape=True)
        env.filters["fieldlabel"] = lambda f: FIELD_LABELS.get(f, f)
        self.template = env.from_string(TEMPLATE)
        self.status_labels = STATUS_LABELS

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["path"] in ("/healthz", "/readyz"):
            await self._respond(send, 200, b"ok", b"text/plain")
            return
        if scope["path"] != "/cases":
            await self._respond(send, 404, b"not found", b"text/plain")
            return
        params = parse_qs(scope["query_string"].decode())
        sub = params.get("user", [""])[0]
        q = params.get("q", [None])[0]
        html = await self.case_list(sub, q)
        await self._respond(send, 200, html.encode(), b"text/html; charset=utf-8")

    async def case_list(self, sub: str, q: str | None) -> str:
        key = (sub, q)
        if key not in self.statements:  # built once per user and term; the request path is asyncpg only
            self.statements[key] = case_list_statement(sub, self.tenant_id, q, explicit_tenant=not self.rls)
        sql, args = self.statements[key]
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            if self.rls:
                async with conn.transaction():
                    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", self.tenant_id)
                    rows, names = await self._read(conn, sql, args)
            else:
                rows, names = await self._read(conn, sql, args)
        more = len(rows) > PAGE_SIZE
        return self.template.render(rows=rows[:PAGE_SIZE], more=more, assignees=names, q=q,
                                    status_labels=self.status_labels)

    async def _read(self, conn: asyncpg.Connection, sql: str, args: list[Any]):
        rows = await conn.fetch(sql, *args)
        names: dict[uuid.UUID, list[str]] = defaultdict(list)
        for r in await conn.fetch(ASSIGNEES_SQL, self.tenant_id, [r["id"] for r in rows[:PAGE_SIZE]]):
            names[r["case_id"]].append(r["display_name"] or "—")
        return rows, names

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # the same pool size as the app's engine (core.database.create_engine: 10 + 10 overflow)
                self.pool = await asyncpg.create_pool(self.database_url, min_size=2, max_size=20)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _respond(send, status: int, body: bytes, content_type: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def create_bare_app() -> BareCaseList:
    return BareCaseList(os.environ["KYOSEI_BENCH_BARE_URL"], os.environ["KYOSEI_BENCH_BARE_TENANT"],
                        os.environ.get("KYOSEI_BENCH_BARE_RLS") == "1")
