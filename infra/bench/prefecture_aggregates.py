"""The prefecture's aggregates at N concurrent prefecture users, on small and large generated data (issue 23).

    KYOSEI_DATA_DIR=var/bench23 KYOSEI_PG_PORT=5524 .venv/bin/python -m infra.bench.prefecture_aggregates \\
        [--scale 1.0] [--small-scale 0.005] [--users 10] [--duration 20] [--rounds 2] [--fiscal-year 2025]

Brings up the configured database (as ``kyosei db upgrade`` does) and fills it with ``infra.bench.generate`` at
``--scale`` when it holds no generated cases; a second database on the same server, ``kyosei_bench_small``, gets
the same migrations and ``--small-scale`` data (kept for the next run; ``--small-database`` names it). Then, ``--rounds`` times, small and large
taking turns, N prefecture users call what the 市町村別集計 page and ``/api/prefecture/aggregates`` call:
``core.prefecture.aggregates.monthly_aggregates`` for one metric (the metrics taking turns) as the app role bound
to 高知県 (390003): ``prefecture_counts`` (the count summaries of migration 0019y) and the disclosure control.
No HTTP: ``infra.bench.load`` measures the page. Prints ``uptime`` before each run, p50/p95/p99 per size, the
large/small ratio, and the first call per metric (the complementary suppression is computed once per data, then
cached by the process).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from core.prefecture.aggregates import METRICS, monthly_aggregates
from infra.bench.closed_loop import closed_loop, fetch_value, percentiles, table, uptime
from infra.database.provision import APP_ROLE, DATABASE, OWNER_ROLE, DatabaseUrls, connect, with_database, with_user

PREFECTURE = "390003"


async def prefecture_calls(app_url: str, codes: list[str], fiscal_year: int, users: int,
                           duration: float) -> dict[str, list[float]]:
    from core.database import create_engine, session_factory
    from core.tenancy.context import tenant_scope

    engine = create_engine(app_url, pool_size=users)
    sessions = session_factory(engine)
    metrics = list(METRICS)

    async def one(n: int, i: int) -> str:
        metric = metrics[i % len(metrics)]
        with tenant_scope(PREFECTURE):
            async with sessions() as session, session.begin():
                await monthly_aggregates(session, fiscal_year, codes, [metric])
        return metric

    try:
        return await closed_loop(users, duration, one)
    finally:
        await engine.dispose()


async def first_calls(app_url: str, codes: list[str], fiscal_year: int) -> dict[str, float]:
    """ms of the first call per metric in this process (complementary suppression not cached yet)."""
    from core.database import create_engine, session_factory
    from core.tenancy.context import tenant_scope

    engine = create_engine(app_url, pool_size=1)
    result = {}
    try:
        for metric in METRICS:
            started = time.perf_counter()
            with tenant_scope(PREFECTURE):
                async with session_factory(engine)() as session, session.begin():
                    await monthly_aggregates(session, fiscal_year, codes, [metric])
            result[metric] = (time.perf_counter() - started) * 1000
    finally:
        await engine.dispose()
    return result


async def small_database(superuser_url: str, app_url: str, name: str) -> DatabaseUrls:
    """A second database ``name`` on the same server, set up as provisioning sets up ``kyosei``."""
    conn = await connect(with_database(superuser_url, "postgres"))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE} TEMPLATE template0 ENCODING 'UTF8' "
                               "LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C.UTF-8'")
            db = await connect(with_database(superuser_url, name))
            try:
                await db.execute(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
                await db.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
                await db.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
            finally:
                await db.close()
        await conn.execute(f"GRANT CONNECT ON DATABASE {name} TO {APP_ROLE}")
    finally:
        await conn.close()
    return DatabaseUrls(owner=with_user(superuser_url, OWNER_ROLE, database=name), app=with_database(app_url, name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="the large data (default 1.0, 1.6 million rows)")
    parser.add_argument("--small-scale", type=float, default=0.005, help="the small data (default 0.005)")
    parser.add_argument("--small-database", default="kyosei_bench_small",
                        help="where the small data lives (kept; another name for another --small-scale)")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per size and round")
    parser.add_argument("--rounds", type=int, default=2, help="turns per size (order alternating)")
    parser.add_argument("--fiscal-year", type=int, default=2025, help="年度 shown (default 2025, complete in the data)")
    args = parser.parse_args()

    from core import migrate
    from core.cli import database_up
    from core.prefecture import service
    from infra.bench.generate import fill_once

    with database_up() as (server, urls):
        if not server.embedded:
            raise SystemExit("this benchmark creates a second database: run it on the embedded server")
        superuser = with_user(server.embedded.superuser_url, "postgres", database=DATABASE)
        fill_once(urls, superuser, args.scale)
        small = asyncio.run(small_database(server.embedded.superuser_url, urls.app, args.small_database))
        migrate.upgrade(small)
        small_superuser = with_user(server.embedded.superuser_url, "postgres", database=args.small_database)
        fill_once(small, small_superuser, args.small_scale)
        codes = [m.code for m in service.municipalities()]
        sizes = {"small": small.app, "large": urls.app}
        rows = {name: asyncio.run(_rows(url)) for name, url in
                (("small", small_superuser), ("large", superuser))}

        print(f"prefecture aggregates, 年度 {args.fiscal_year}, {args.users} users, {args.duration:.0f} s × "
              f"{args.rounds} per size; small = scale {args.small_scale} ({rows['small']:,} rows), "
              f"large = scale {args.scale} ({rows['large']:,} rows)")
        for name, url in sizes.items():
            print(f"first call per metric, {name} (ms): " + ", ".join(
                f"{k} {v:.0f}" for k, v in asyncio.run(first_calls(url, codes, args.fiscal_year)).items()))
        measured: dict[str, list[float]] = {"small": [], "large": []}
        for r in range(args.rounds):
            for name in (("small", "large") if r % 2 == 0 else ("large", "small")):
                print(f"\n{uptime()}")
                timings = asyncio.run(prefecture_calls(sizes[name], codes, args.fiscal_year, args.users,
                                                       args.duration))
                print(f"{name}, round {r + 1} (ms):\n{table(timings, 'metric')}")
                measured[name] += [v for vs in timings.values() for v in vs]
        s50, s95, _ = percentiles(measured["small"])
        l50, l95, _ = percentiles(measured["large"])
        print(f"\n| data | calls | p50 | p95 |\n|---|---|---|---|\n| small | {len(measured['small'])} | {s50:.1f} | "
              f"{s95:.1f} |\n| large | {len(measured['large'])} | {l50:.1f} | {l95:.1f} |\n"
              f"| large/small | | {l50 / s50:.2f} | {l95 / s95:.2f} |")


async def _rows(url: str) -> int:
    return int(await fetch_value(url, "SELECT sum(n_live_tup) FROM pg_stat_user_tables"))


if __name__ == "__main__":
    main()
