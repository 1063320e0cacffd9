"""EXPLAIN ANALYZE and load of the case list's name search on the benchmark data (docs/benchmarks.md, issues 18, 23).

    KYOSEI_DATA_DIR=var-bench KYOSEI_PG_PORT=5518 .venv/bin/python -m infra.bench.name_search \
        [--scale 1.0] [--tenant 392014] [--query 高橋 --query ﾀｶﾊｼ ...] [--users 10 --duration 20]

Brings up the configured database (as ``kyosei db upgrade`` does), fills it with ``infra.bench.generate`` when it
holds no generated cases yet, then prints the plan of the app's own statement (``core.cases.search._filtered``,
compiled with its parameters) for each query, three ways:

- ``inside the lookup``: the statement of ``household_ids_by_member_name_key`` (migration 0019x), or for a key of
  two characters ``household_ids_by_member_name_pair`` (0023), as their owner role ``kyosei_name_search`` sees it:
  what a coordinator's search runs through the trigram indexes or the index of two-character runs;
- ``app, coordinator``: the app role with the tenant bound (RLS on), a coordinator (sees every case);
- ``app, staff``: the same for a staff member (sees the cases they are assigned to).

With ``--users N`` (N > 0) it then runs the search as the app does it (``core.cases.search.search_cases`` through the
app role's SQLAlchemy engine, tenant bound, audited) for a coordinator with N concurrent users for ``--duration``
seconds, the queries taking turns, and prints p50/p95/p99 per query. It prints ``uptime`` first: on a busy machine
the times are not the code's.
"""

from __future__ import annotations

import argparse
import asyncio
import unicodedata
import uuid

from sqlalchemy.dialects import postgresql

from core.auth.principal import Principal
from core.cases.search import FULL_ROWS, PAIR, CaseQuery, _filtered, _Shape, _statement
from core.text_rules import like_pattern, search_key
from infra.bench.closed_loop import closed_loop, table, uptime
from infra.database.provision import NAME_SEARCH_ROLE, connect

QUERIES = ("高橋", "ﾀｶﾊｼ", "髙橋", "たかはし", "山本 花")


def statement(principal: Principal, q: str) -> str:
    return _sql(*_filtered(principal, CaseQuery(q=q), limit=51))


def walled_statement(coordinator: Principal, q: str) -> str:
    """A coordinator's search as it was before migration 0019x: the member keys compared under RLS (the path staff
    members still take), for comparison in the same run."""
    typed = unicodedata.normalize("NFKC", q).strip()
    shape = _Shape("coordinator", name="members", case_number=True)
    return _sql(_statement(shape, FULL_ROWS, limit=51),
                {"name_pattern": like_pattern(search_key(q)), "number_pattern": like_pattern(typed)})


def _sql(stmt, params: dict) -> str:
    """The statement with its parameters written in (EXPLAIN takes no parameters)."""
    sql = str(stmt.params(**params).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return sql.replace("%%", "%")  # the dialect doubles % for its own parameter style; asyncpg sends it as is


# The lookups' own statements (migration 0026), for EXPLAIN as their owner role.
LOOKUP = ("SELECT k.household_id FROM public.household_member_keys k WHERE k.tenant_id = '{tenant}' "
          "AND k.keys LIKE '{pattern}' ESCAPE '\\'")
PAIR_LOOKUP = ("SELECT k.household_id FROM public.household_member_keys k WHERE k.tenant_id = '{tenant}' "
               "AND name_key_pairs(k.keys) @> ARRAY['{key}']")


async def explain(url: str, tenant: str | None, sql: str, role: str | None = None) -> str:
    conn = await connect(url)
    try:
        async with conn.transaction():
            if tenant is not None:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            if role is not None:
                await conn.execute(f"SET LOCAL ROLE {role}")
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            return "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


async def staff_sub(url: str, tenant: str) -> str:
    conn = await connect(url)
    try:
        return await conn.fetchval("SELECT user_sub FROM case_assignee WHERE tenant_id = $1 AND ended_at IS NULL "
                                   "GROUP BY user_sub ORDER BY count(*) DESC LIMIT 1", tenant)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tenant", default="392014", help="municipality code (default 高知市, the largest)")
    parser.add_argument("--query", action="append", help=f"search terms (default: {', '.join(QUERIES)})")
    parser.add_argument("--users", type=int, default=10, help="concurrent coordinators for the load run (0: none)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    args = parser.parse_args()

    from core.cli import database_up
    from infra.bench.generate import fill_once
    from infra.database.provision import with_user

    with database_up() as (server, urls):
        superuser = with_user(server.embedded.superuser_url, "postgres", database="kyosei") if server.embedded \
            else urls.owner
        fill_once(urls, superuser, args.scale)
        sub = asyncio.run(staff_sub(superuser, args.tenant))
        coordinator = Principal(sub=str(uuid.uuid4()), username="bench", display_name="bench", tenant_id=args.tenant,
                                tenant_name=None, roles=frozenset({"staff", "coordinator"}))
        staff = Principal(sub=sub, username="bench", display_name="bench", tenant_id=args.tenant, tenant_name=None,
                          roles=frozenset({"staff"}))
        for q in args.query or QUERIES:
            key = search_key(q)
            lookup = PAIR_LOOKUP.format(tenant=args.tenant, key=key.replace("'", "''")) if len(key) == PAIR else \
                LOOKUP.format(tenant=args.tenant, pattern=like_pattern(key).replace("'", "''"))
            for label, url, tenant, sql, role in (
                    ("inside the lookup (kyosei_name_search)", superuser, args.tenant, lookup, NAME_SEARCH_ROLE),
                    ("app, coordinator", urls.app, args.tenant, statement(coordinator, q), None),
                    ("app, staff", urls.app, args.tenant, statement(staff, q), None)):
                print(f"\n=== {q!r} — {label} ===\n{asyncio.run(explain(url, tenant, sql, role))}")
        queries = args.query or QUERIES
        if args.users > 0:
            runs = (("statement, through the lookups (0019x, 0023)", lambda q: statement(coordinator, q)),
                    ("statement, member keys under RLS (before)", lambda q: walled_statement(coordinator, q)),
                    ("search_cases (ORM, assignees, audit, commit)", None))
            for label, sql_of in runs:
                print(f"\n{uptime()}")
                if sql_of is None:
                    timings = asyncio.run(load(urls.app, coordinator, queries, args.users, args.duration))
                else:
                    statements = {q: sql_of(q) for q in queries}
                    timings = asyncio.run(load_statements(urls.app, args.tenant, statements, args.users, args.duration))
                print(f"coordinator search in {args.tenant}, {label}: {args.users} users, {args.duration:.0f} s (ms)")
                print(table(timings, "query"))


async def load_statements(app_url: str, tenant: str, statements: dict[str, str], users: int,
                          duration: float) -> dict[str, list[float]]:
    """The compiled statements alone, as the app role in a transaction bound to ``tenant``, one connection a user."""
    conns = [await connect(app_url) for _ in range(users)]
    queries = list(statements)

    async def one(n: int, i: int) -> str:
        q = queries[i % len(queries)]
        async with conns[n].transaction():
            await conns[n].execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            await conns[n].fetch(statements[q])
        return q

    try:
        return await closed_loop(users, duration, one)
    finally:
        for conn in conns:
            await conn.close()


async def load(app_url: str, coordinator: Principal, queries, users: int, duration: float) -> dict[str, list[float]]:
    """``users`` coordinators searching back to back (closed loop), each its own connection; ms per search."""
    from core.audit.trail import bind_actor
    from core.cases.search import search_cases
    from core.database import create_engine, session_factory
    from core.tenancy.context import tenant_scope

    engine = create_engine(app_url, pool_size=users)
    sessions = session_factory(engine)

    async def one(n: int, i: int) -> str:
        q = queries[i % len(queries)]
        with tenant_scope(coordinator.tenant_id):
            bind_actor(coordinator.sub)
            async with sessions() as session, session.begin():
                await search_cases(session, coordinator, CaseQuery(q=q))
        return q

    try:
        return await closed_loop(users, duration, one)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
