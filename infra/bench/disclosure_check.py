"""The disclosure checker over every table the prefecture sees, on generated data at any scale (issue 17).

    KYOSEI_DATA_DIR=var/bench17 KYOSEI_PG_PORT=5517 .venv/bin/python -m infra.bench.disclosure_check \\
        [--scale 1.0] [--fiscal-year 2024 --fiscal-year 2025 …]

Brings up the configured database (as ``kyosei db upgrade`` does) and fills it with ``infra.bench.generate`` at
``--scale`` when it holds no generated cases (scale 1.0: 高知市 about 25,000 cases, 1.6 million rows; kept for the
next run). Then, for each 年度 and each metric of the prefecture's aggregates, it reads the exact counts as the
prefecture does (``prefecture_counts``), builds the published table with its primary and complementary
suppression (``core.prefecture.aggregates.metric_table``) and asks the checker (``core.prefecture.disclosure.leaks``)
for any hidden cell whose interval, from everything published, is narrower than the threshold. Exit status 1 when
one is found. ``tests/test_disclosure_generated.py`` runs the same check at a small scale in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from infra.database.provision import DATABASE, connect, with_user

PREFECTURE = "390003"


async def exact_counts(app_url: str, fiscal_year: int) -> dict[str, list]:
    """metric → [(municipality, month, value)]: the unprotected counts, read as the prefecture (390003)."""
    conn = await connect(app_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", PREFECTURE)
            rows = await conn.fetch("SELECT metric, tenant_id, month, value FROM prefecture_counts($1)", fiscal_year)
    finally:
        await conn.close()
    found: dict[str, list] = {}
    for r in rows:
        found.setdefault(r["metric"], []).append((r["tenant_id"], r["month"], r["value"]))
    return found


def check_year(counts: dict[str, list], fiscal_year: int, codes: list[str]) -> list[tuple[str, int, int, list]]:
    """(metric, cells, hidden cells, leaks) for every metric of one 年度."""
    from core.prefecture.aggregates import METRICS, metric_table
    from core.prefecture.disclosure import leaks

    result = []
    for key, metric in METRICS.items():
        table = metric_table(metric, fiscal_year, codes, counts.get(key, []))
        result.append((key, len(table.published) + len(table.hidden), len(table.hidden),
                       leaks(table.published, table.hidden, table.relations())))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="generated data (default 1.0, 1.6 million rows)")
    parser.add_argument("--fiscal-year", type=int, action="append", dest="years",
                        help="年度 to check (repeatable; default 2024, 2025 and 2026)")
    args = parser.parse_args()

    from core.cli import database_up
    from core.prefecture import service
    from infra.bench.generate import fill_once

    with database_up() as (server, urls):
        if not server.embedded:
            raise SystemExit("the generator writes as the superuser: run this on the embedded server")
        superuser = with_user(server.embedded.superuser_url, "postgres", database=DATABASE)
        seconds_generating = fill_once(urls, superuser, args.scale)
        if seconds_generating is not None:
            print(f"generated scale {args.scale} in {seconds_generating:.0f} s")
        codes = [m.code for m in service.municipalities()]
        found = 0
        seconds: dict[int, float] = {}
        print("| 年度 | metric | cells | hidden | recoverable |\n|---|---|---|---|---|")
        for year in args.years or [2024, 2025, 2026]:
            counts = asyncio.run(exact_counts(urls.app, year))
            started = time.monotonic()
            checked = check_year(counts, year, codes)
            seconds[year] = time.monotonic() - started
            for key, cells, hidden, leaked in checked:
                print(f"| {year} | {key} | {cells} | {hidden} | {len(leaked)} |")
                found += len(leaked)
        print("\nsuppression and check per 年度: " + ", ".join(f"{y} {s:.1f} s" for y, s in seconds.items()))
        print(f"recoverable hidden cells: {found}")
        raise SystemExit(1 if found else 0)


if __name__ == "__main__":
    main()
