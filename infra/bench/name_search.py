"""EXPLAIN ANALYZE of the case list's name search on the benchmark data (docs/benchmarks.md, issue 18).

    KYOSEI_DATA_DIR=var-bench KYOSEI_PG_PORT=5518 .venv/bin/python -m infra.bench.name_search \
        [--scale 1.0] [--tenant 392014] [--query 高橋 --query ﾀｶﾊｼ ...]

Brings up the configured database (as ``kyosei db upgrade`` does), fills it with ``infra.bench.generate`` when it
holds no generated cases yet, then prints the plan of the app's own statement (``core.cases.search._filtered``,
compiled with its parameters) for each query, three ways:

- ``superuser, keys only``: the key lookup alone (``person`` rows of the tenant whose keys contain the query's key),
  without row-level security: what the trigram indexes on the search keys can do;
- ``app, coordinator``: the app role with the tenant bound (RLS on), a coordinator (sees every case);
- ``app, staff``: the same for a staff member (sees the cases they are assigned to).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from sqlalchemy.dialects import postgresql

from core.auth.principal import Principal
from core.cases.models import SupportCase
from core.cases.search import CaseQuery, _filtered
from core.text_rules import like_pattern, search_key
from infra.database.provision import connect

QUERIES = ("高橋", "ﾀｶﾊｼ", "髙橋", "たかはし", "山本 花")


def statement(principal: Principal, q: str) -> str:
    stmt = _filtered(principal, CaseQuery(q=q)).order_by(SupportCase.id.desc()).limit(51)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return sql.replace("%%", "%")  # the dialect doubles % for its own parameter style; asyncpg sends it as is


async def explain(url: str, tenant: str | None, sql: str) -> str:
    conn = await connect(url)
    try:
        async with conn.transaction():
            if tenant is not None:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
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
    args = parser.parse_args()

    from core.cli import _seed, database_up
    from infra.bench.generate import generate
    from infra.database.provision import with_user

    with database_up() as (server, urls):
        superuser = with_user(server.embedded.superuser_url, "postgres", database="kyosei") if server.embedded \
            else urls.owner
        _seed(urls, demo=False)
        if not asyncio.run(_has_generated_cases(superuser)):
            asyncio.run(generate(superuser, 42, args.scale))
        sub = asyncio.run(staff_sub(superuser, args.tenant))
        coordinator = Principal(sub=str(uuid.uuid4()), username="bench", display_name="bench", tenant_id=args.tenant,
                                tenant_name=None, roles=frozenset({"staff", "coordinator"}))
        staff = Principal(sub=sub, username="bench", display_name="bench", tenant_id=args.tenant, tenant_name=None,
                          roles=frozenset({"staff"}))
        for q in args.query or QUERIES:
            pattern = like_pattern(search_key(q)).replace("'", "''")
            keys_only = (f"SELECT id FROM person WHERE tenant_id = '{args.tenant}' AND (name_key LIKE '{pattern}' "
                         f"OR kana_key LIKE '{pattern}')")
            for label, url, tenant, sql in (("superuser, keys only", superuser, None, keys_only),
                                            ("app, coordinator", urls.app, args.tenant, statement(coordinator, q)),
                                            ("app, staff", urls.app, args.tenant, statement(staff, q))):
                print(f"\n=== {q!r} — {label} ===\n{asyncio.run(explain(url, tenant, sql))}")


async def _has_generated_cases(url: str) -> bool:
    conn = await connect(url)
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM support_case WHERE created_by = 'kyosei-generator')"))
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
