"""Closed-loop load inside one process: N tasks calling the same coroutine back to back, timed per call.

Used by the database-side benchmarks (``infra.bench.name_search``, ``infra.bench.prefecture_aggregates``), which
measure what a page's data costs without the HTTP stack (``infra.bench.load`` measures whole pages).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable


async def closed_loop(users: int, duration: float, one: Callable[[int, int], Awaitable[str]]) -> dict[str, list[float]]:
    """``users`` tasks calling ``await one(user, i)`` (it returns a label for what it ran) back to back: a warm-up of
    a quarter of ``duration`` (at most 5 s), then ``duration`` seconds measured; ms per call by label."""
    timings: dict[str, list[float]] = defaultdict(list)

    async def user(n: int, stop: float, record: bool) -> None:
        i = n
        while time.perf_counter() < stop:
            started = time.perf_counter()
            label = await one(n, i)
            i += 1
            if record:
                timings[label].append((time.perf_counter() - started) * 1000)

    warm = time.perf_counter() + min(5.0, duration / 4)
    await asyncio.gather(*(user(n, warm, False) for n in range(users)))
    stop = time.perf_counter() + duration
    await asyncio.gather(*(user(n, stop, True) for n in range(users)))
    return timings


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (ms)."""
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[94], cuts[98]


def table(timings: dict[str, list[float]], what: str) -> str:
    """A markdown table of the timings by label, and all together."""
    lines = [f"| {what} | calls | p50 | p95 | p99 |", "|---|---|---|---|---|"]
    for label, values in [*sorted(timings.items()), ("all", [v for vs in timings.values() for v in vs])]:
        p50, p95, p99 = percentiles(values)
        lines.append(f"| {label} | {len(values)} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
    return "\n".join(lines)


def uptime() -> str:
    """The machine's load when a measurement starts: on a busy machine the times are not the code's."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


async def fetch_value(url: str, sql: str):
    """One value from a fresh connection (the benchmarks' questions about their data)."""
    from infra.database.provision import connect

    conn = await connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()
