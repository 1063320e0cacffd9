"""Benchmark (not a test): what row-level security costs on one tenant's queries.

    .venv/bin/python -m infra.bench.rls [--cases 150000] [--rounds 400]

Starts a throwaway embedded PostgreSQL, applies the real migrations, fills ``household``/``person``/
``support_case`` for the 34 municipalities with sizes skewed like real ones (Kochi city largest), then runs the
same tenant queries (a) as the application role behind RLS and (b) as a role that bypasses RLS, both with the
application's own ``tenant_id = $1`` filter, interleaved, and prints median and p95 latency and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from core import migrate
from infra.database.embedded import EmbeddedPostgres, free_port
from infra.database.provision import DATABASE, connect, provision_embedded, with_database
from tenants.registry import load_registry
from tenants.seed import seed_registry

QUERIES = {
    "case list page (status filter, newest first, 50 rows)": (
        "SELECT id, case_number, status, received_on FROM support_case "
        "WHERE tenant_id = $1 AND status = 'supporting' ORDER BY received_on DESC LIMIT 50"
    ),
    "status counts of the tenant": "SELECT status, count(*) FROM support_case WHERE tenant_id = $1 GROUP BY status",
    "one case by id": "SELECT * FROM support_case WHERE tenant_id = $1 AND id = $2",
}


def weights() -> dict[str, int]:
    """Relative size per municipality: Kochi city about a third of the population, villages tiny."""
    sizes = {}
    for m in load_registry():
        if m.is_prefecture:
            continue
        sizes[m.code] = 300 if m.code == "392014" else {"city": 30, "town": 8, "village": 2}[m.kind.value]
    return sizes


async def fill(superuser_db_url: str, total_cases: int) -> dict[str, int]:
    sizes = weights()
    scale = total_cases / sum(sizes.values())
    counts = {code: max(20, int(w * scale)) for code, w in sizes.items()}
    conn = await connect(superuser_db_url)
    try:
        for code, n in counts.items():
            await conn.execute(
                """
                WITH h AS (
                  INSERT INTO household (tenant_id, label, id)
                  SELECT $1, '世帯' || g, gen_random_uuid() FROM generate_series(1, $2) g RETURNING id
                ), numbered AS (SELECT id, row_number() OVER () AS g FROM h),
                p AS (
                  INSERT INTO person (tenant_id, name, kana, id)
                  SELECT $1, '山田 太郎' || g, 'やまだ たろう', gen_random_uuid() FROM numbered RETURNING id
                ), pn AS (SELECT id, row_number() OVER () AS g FROM p)
                INSERT INTO support_case (tenant_id, case_number, household_id, person_id, status, received_on,
                  receiving_staff, route, problems, fields, tags, consent_at_intake, created_by, id)
                SELECT $1, 'C' || n.g, n.id, pn.id,
                       (ARRAY['intake','assessment','planning','decided','supporting','evaluation','closed'])[1 + n.g % 7],
                       DATE '2021-04-01' + (n.g % 1800)::int, '担当', 'counter', ARRAY['care'], ARRAY['elderly'],
                       ARRAY['8050'], true, 'bench', gen_random_uuid()
                FROM numbered n JOIN pn ON pn.g = n.g
                """,
                code,
                n,
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return counts


async def measure(app_url: str, bypass_url: str, tenant: str, rounds: int) -> list[tuple[str, float, float, float, float]]:
    app = await connect(app_url)
    bypass = await connect(bypass_url)
    try:
        case_id = await bypass.fetchval("SELECT id FROM support_case WHERE tenant_id = $1 LIMIT 1", tenant)
        results = []
        for label, sql in QUERIES.items():
            args = (tenant, case_id) if "$2" in sql else (tenant,)
            timings = {"rls": [], "bypass": []}
            for i in range(rounds + 20):
                for name, conn in (("rls", app), ("bypass", bypass)) if i % 2 else (("bypass", bypass), ("rls", app)):
                    async with conn.transaction():
                        if name == "rls":
                            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
                        started = time.perf_counter()
                        await conn.fetch(sql, *args)
                        elapsed = (time.perf_counter() - started) * 1000
                    if i >= 20:  # warm-up rounds are not counted
                        timings[name].append(elapsed)
            med = {k: statistics.median(v) for k, v in timings.items()}
            p95 = {k: statistics.quantiles(v, n=20)[-1] for k, v in timings.items()}
            results.append((label, med["bypass"], med["rls"], p95["bypass"], p95["rls"]))
        return results
    finally:
        await app.close()
        await bypass.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150_000)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--tenant", default="392014")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kyosei-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg", free_port())
        server.start()
        try:
            urls = asyncio.run(provision_embedded(server.superuser_url, "bench"))
            migrate.upgrade(urls)
            asyncio.run(seed_registry(urls.owner))
            began = time.perf_counter()
            counts = asyncio.run(fill(with_database(server.superuser_url, DATABASE), args.cases))
            rows = sum(counts.values())
            print(f"filled {rows} cases (+ as many households and people) in {time.perf_counter() - began:.1f} s; "
                  f"tenant {args.tenant} holds {counts[args.tenant]}")
            results = asyncio.run(measure(urls.app, with_database(server.superuser_url, DATABASE), args.tenant, args.rounds))
        finally:
            server.destroy()
    print(f"\n| query | median without RLS | median with RLS | p95 without | p95 with | median ratio |")
    print("|---|---|---|---|---|---|")
    for label, med_b, med_r, p95_b, p95_r in results:
        print(f"| {label} | {med_b:.3f} ms | {med_r:.3f} ms | {p95_b:.3f} ms | {p95_r:.3f} ms | {med_r / med_b:.3f} |")


if __name__ == "__main__":
    main()
