"""Load benchmark (not a test): the real app under 1, 10 and 50 logged-in users, on benchmark data.

    .venv/bin/python -m infra.bench.load [--users 1,10,50] [--duration 15] [--scale 1.0] [--small-scale 0.005]
                                         [--think 0] [--pool-size N] [--endpoints …] [--no-baseline] [--json FILE]

Two throwaway embedded PostgreSQL servers get the migrations and ``infra.bench.generate`` data, a small one
(``--small-scale``, about 17,000 rows) and a large one (``--scale``, about 1.6 million rows); on each the app runs
as production runs it (``uvicorn --factory``, one process, JSON request logs) in a subprocess, so the load driver
does not share its interpreter. Sessions are created the way the login callback creates them (no Keycloak): each
virtual user is a different staff member of 高知市 with their own cases, or a prefecture admin.

Each user runs a loop on its own connection (httpx.AsyncClient): next request when the last answered (after
``--think`` seconds, ±50 %, if given), for ``--duration`` seconds after ``--warmup``; only requests started inside
the window count, and one still unanswered ``GRACE`` seconds after it is abandoned and reported as unanswered.
Endpoints: the case list page, the search-as-you-type partial (kana prefixes as typed, ``HX-Request``), a case
page, a hub's weekly timetable, the JSON case list, the prefecture aggregates page, and (one user) the case list of
a coordinator. With one user the small and the large data take turns (``--rounds``), to compare the sizes under
the same conditions; 10 and 50 users run on the large data only.

Then, at the large size:
- the floor: the same case-list SQL (``infra.bench.bare``) through asyncpg and a Jinja2 template in a bare ASGI
  app with no session, CSRF, ORM, RLS or audit, under the same load;
- row-level security on and off: the bare app as the application role behind the wall vs. a role that bypasses
  it (page level), and the list and search statements alone, interleaved on one connection (query level).

Prints markdown tables (and ``--json FILE`` keeps every number). CPU use of the app process, PostgreSQL and the
driver is read from /proc during each run, to show what was saturated. ``--pool-size`` is an experiment knob.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from infra.bench.bare import case_list_statement
from infra.bench.generate import AS_OF, generate
from infra.database.embedded import EmbeddedPostgres, free_port
from infra.database.provision import DATABASE, DatabaseUrls, connect, provision_embedded, with_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KOCHI_CITY = "392014"
PREFECTURE = "390003"
COOKIE = "kyosei_session"
# What staff type into the search box, one keystroke after the other (htmx sends after a 300 ms pause): kana of
# common surnames, two to five characters. Two characters cannot use the trigram index (see core/cases/search.py).
SEARCH_TERMS = ("やま", "やまも", "やまもと", "おかば", "おかばやし", "たな", "たなか", "はまだ", "にしむ", "にしむら",
                "こまつ", "かたお", "かたおか", "みょうじ", "ちかもり", "ヤマサキ", "すずき", "やました")
SINGLE_USER_ONLY = ("case_list_coordinator",)


def benchmark_app():
    """The app exactly as ``uvicorn --factory core.app:create_app`` builds it, on the benchmark's database.

    ``KYOSEI_BENCH_POOL_SIZE`` (``--pool-size``) is an experiment only: it swaps the engine factory the app's
    lifespan calls for one with that pool size (and as much overflow), to see what a larger pool changes.
    """
    import core.app
    from core.settings import Settings

    pool_size = os.environ.get("KYOSEI_BENCH_POOL_SIZE")
    if pool_size:
        from core.database import create_engine

        core.app.create_engine = lambda url, **options: create_engine(url, **{**options, "pool_size": int(pool_size)})
    return core.app.create_app(Settings.from_env(), app_database_url=os.environ["KYOSEI_BENCH_APP_URL"])


# -- what one virtual user sends ------------------------------------------------------------------------------------


@dataclass
class VirtualUser:
    session: str  # the cookie value
    sub: str
    case_ids: list[str] = field(default_factory=list)


@dataclass
class Targets:
    """What the requests point at, read from the generated data."""

    hub_ids: list[str]
    fiscal_year: int


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    profile: str  # which users: "staff", "coordinator", "prefecture"
    request: Callable[[VirtualUser, Targets, int], tuple[str, dict[str, str]]]


HTMX = {"HX-Request": "true", "HX-Target": "case-results", "HX-Current-URL": "http://127.0.0.1/cases"}

ENDPOINTS = (
    Endpoint("case_list", "case list page `/cases`", "staff", lambda u, t, n: ("/cases", {})),
    Endpoint("search_partial", "search partial `/cases?q=…` (htmx, kana)", "staff",
             lambda u, t, n: (f"/cases?q={SEARCH_TERMS[n % len(SEARCH_TERMS)]}", HTMX)),
    Endpoint("case_detail", "case page `/cases/{id}`", "staff",
             lambda u, t, n: (f"/cases/{u.case_ids[n % len(u.case_ids)]}", {})),
    Endpoint("timetable", "hub timetable `/programs/hubs/{id}`", "staff",
             lambda u, t, n: (f"/programs/hubs/{t.hub_ids[n % len(t.hub_ids)]}", {})),
    Endpoint("api_cases", "JSON API `GET /api/cases`", "staff", lambda u, t, n: ("/api/cases", {})),
    Endpoint("prefecture_aggregates", "prefecture aggregates `/prefecture/aggregates`", "prefecture",
             lambda u, t, n: (f"/prefecture/aggregates?fiscal_year={t.fiscal_year}", {})),
    Endpoint("case_list_coordinator", "case list, coordinator (every case of 高知市)", "coordinator",
             lambda u, t, n: ("/cases", {})),
)
BARE_LIST = Endpoint("bare_list", "bare case list", "staff", lambda u, t, n: (f"/cases?user={u.sub}", {}))


# -- CPU use, from /proc ----------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, CPU seconds used, CPU seconds of its exited children) of a process, or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / tick, (int(rest[13]) + int(rest[14])) / tick


def cpu_seconds(pid: int, with_children: bool = False) -> float:
    """CPU seconds of ``pid``; with its children (PostgreSQL's backends are the postmaster's children), both the
    live ones and those that exited (which the postmaster reaped: its cutime/cstime), so the sum only grows."""
    own = _stat(pid)
    if own is None:
        return 0.0
    total = own[1] + (own[2] if with_children else 0.0)
    if with_children:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                child = _stat(int(entry.name))
                if child and child[0] == pid:
                    total += child[1]
    return total


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM (the server's graceful stop), SIGKILL if it is still there after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- one data size: PostgreSQL, data, app -----------------------------------------------------------------------------


class Stack:
    """A throwaway PostgreSQL with generated data, and the app (or the bare baseline) in a subprocess."""

    def __init__(self, scale: float, seed: int, workdir: Path):
        self.scale = scale
        self.seed = seed
        self.workdir = workdir
        self.server = EmbeddedPostgres(workdir / "pg", free_port())
        self.urls: DatabaseUrls | None = None
        self.rows = 0
        self.kochi_cases = 0
        self.load_seconds = 0.0
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    @property
    def superuser_url(self) -> str:
        return with_database(self.server.superuser_url, DATABASE)

    def start_database(self) -> None:
        from core import migrate
        from tenants.seed import seed_demo_tenants, seed_registry

        self.server.start()
        self.urls = asyncio.run(provision_embedded(self.server.superuser_url, "bench-app-password"))
        migrate.upgrade(self.urls)
        asyncio.run(seed_registry(self.urls.owner))
        asyncio.run(seed_demo_tenants(self.urls.owner, (PREFECTURE,)))
        began = time.perf_counter()
        counts = asyncio.run(generate(self.superuser_url, self.seed, self.scale, quiet=True))
        self.load_seconds = time.perf_counter() - began
        self.rows = sum(counts.values())
        self.kochi_cases = asyncio.run(self._count_cases(KOCHI_CITY))
        print(f"scale {self.scale}: {self.rows:,} rows generated and analysed in {self.load_seconds:.1f} s "
              f"(高知市: {self.kochi_cases:,} cases)", flush=True)

    async def _count_cases(self, tenant: str) -> int:
        conn = await connect(self.superuser_url)
        try:
            return await conn.fetchval("SELECT count(*) FROM support_case WHERE tenant_id = $1", tenant)
        finally:
            await conn.close()

    def start_server(self, factory: str, env: dict[str, str], name: str) -> None:
        port = free_port()
        environment = {
            **os.environ, "KYOSEI_ENV": "dev", "KYOSEI_DATA_DIR": str(self.workdir / "data"),
            "KYOSEI_PG_PORT": str(self.server.port), "KYOSEI_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "LOG_FORMAT": "json", "LOG_LEVEL": "info", **env,
        }
        log = (self.workdir / f"{name}.log").open("ab")
        # Like infra/deploy/k8s/kyosei.yaml: one uvicorn process (uvloop and httptools when installed).
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
             "--no-access-log", "--log-level", "warning"],
            env=environment, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.process.returncode}; see {self.workdir / f'{name}.log'}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer /healthz within 60 s")

    def start_app(self, pool_size: int | None = None) -> None:
        assert self.urls is not None
        env = {"KYOSEI_BENCH_APP_URL": self.urls.app}
        if pool_size:
            env["KYOSEI_BENCH_POOL_SIZE"] = str(pool_size)
        self.start_server("infra.bench.load:benchmark_app", env, "app")

    def settle(self, timeout: float = 90) -> float:
        """Wait until the server is ready again (``/readyz`` 200: a database connection within 2 s); seconds waited.
        After a run that left requests stuck, the next run must not start inside the same jam."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        return time.monotonic() - began

    def start_bare(self, rls: bool) -> None:
        assert self.urls is not None
        self.start_server("infra.bench.bare:create_bare_app", {
            "KYOSEI_BENCH_BARE_URL": self.urls.app if rls else self.superuser_url,
            "KYOSEI_BENCH_BARE_TENANT": KOCHI_CITY, "KYOSEI_BENCH_BARE_RLS": "1" if rls else "0",
        }, "bare-rls" if rls else "bare")

    def stop_server(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None

    def destroy(self) -> None:
        self.stop_server()
        self.server.destroy()

    # -- users ------------------------------------------------------------------------------------------------------

    async def users(self, count: int) -> dict[str, list[VirtualUser]]:
        """``count`` sessions per profile: distinct 高知市 staff (own cases), a coordinator, prefecture admins."""
        from core.auth.oidc import scoped_roles
        from core.auth.sessions import NewSession, SessionStore, SessionTimeouts
        from core.database import create_engine, utc_now

        assert self.urls is not None
        conn = await connect(self.superuser_url)
        try:
            staff = await conn.fetch(
                "SELECT d.user_sub, d.display_name FROM staff_directory d WHERE d.tenant_id = $1 AND EXISTS "
                "(SELECT 1 FROM case_assignee a WHERE a.tenant_id = d.tenant_id AND a.user_sub = d.user_sub "
                "AND a.ended_at IS NULL) ORDER BY d.user_sub", KOCHI_CITY)
            cases = {}
            for member in staff[:count]:
                cases[member["user_sub"]] = [str(r["case_id"]) for r in await conn.fetch(
                    "SELECT case_id FROM case_assignee WHERE tenant_id = $1 AND user_sub = $2 AND ended_at IS NULL "
                    "ORDER BY case_id DESC LIMIT 40", KOCHI_CITY, member["user_sub"])]
        finally:
            await conn.close()
        engine = create_engine(self.urls.app, pool_size=2)
        store = SessionStore(engine, SessionTimeouts(dt.timedelta(minutes=30), dt.timedelta(hours=10)))

        async def session(sub: str, name: str, tenant: str, roles: list[str]) -> str:
            raw, _ = await store.create(NewSession(
                user_sub=sub, username=f"bench-{sub[:8]}", display_name=name, organizations=[tenant], tenant_id=tenant,
                roles=scoped_roles(tenant, roles), keycloak_sid=None, id_token="not-a-real-id-token", refresh_token=None,
                access_expires_at=utc_now() + dt.timedelta(hours=10)))
            return raw

        try:
            result: dict[str, list[VirtualUser]] = {"staff": [], "coordinator": [], "prefecture": []}
            for i in range(count):
                member = staff[i % min(count, len(staff))]  # a small data set has fewer staff than users
                sub = member["user_sub"]
                result["staff"].append(VirtualUser(await session(sub, member["display_name"], KOCHI_CITY, ["staff"]),
                                                   sub, cases[sub]))
                result["prefecture"].append(VirtualUser(
                    await session(f"bench-pref-{i}", "高知 県子", PREFECTURE, ["prefecture-admin"]), f"bench-pref-{i}"))
            lead = staff[0]
            result["coordinator"].append(VirtualUser(
                await session(lead["user_sub"], lead["display_name"], KOCHI_CITY, ["staff", "coordinator"]),
                lead["user_sub"], cases[lead["user_sub"]]))
            return result
        finally:
            await engine.dispose()

    async def targets(self) -> Targets:
        from core.wareki import fiscal_year_of

        conn = await connect(self.superuser_url)
        try:
            hubs = [str(r["id"]) for r in await conn.fetch(
                "SELECT id FROM program_hub WHERE tenant_id = $1 ORDER BY id", KOCHI_CITY)]
        finally:
            await conn.close()
        return Targets(hubs, fiscal_year_of(AS_OF))


# -- driving load -----------------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    data: str  # "small", "large", "bare", "bare-rls"
    endpoint: str
    label: str
    users: int
    seconds: float
    latencies_ms: list[float]
    errors: int  # answered, but not with 200
    unanswered: int  # still waiting GRACE seconds after the window (then abandoned), whenever they started
    first_error: str | None
    bytes_per_response: int
    cpu_app: float  # share of one core over the window
    cpu_db: float
    cpu_driver: float
    settle_seconds: float = 0.0  # how long the server needed afterwards to answer /readyz again

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: int) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        if len(data) == 1:
            return data[0]
        return statistics.quantiles(data, n=100, method="inclusive")[p - 1]


GRACE = 5.0  # seconds a request may still take after the window before it is abandoned


def merge(parts: list[Measurement]) -> Measurement:
    """Runs of the same endpoint and size taken in turns (interleaved with the other size) as one measurement."""
    seconds = sum(m.seconds for m in parts)
    first = parts[0]
    return Measurement(
        first.data, first.endpoint, first.label, first.users, seconds, [x for m in parts for x in m.latencies_ms],
        sum(m.errors for m in parts), sum(m.unanswered for m in parts),
        next((m.first_error for m in parts if m.first_error), None),
        int(statistics.mean(m.bytes_per_response for m in parts)),
        sum(m.cpu_app * m.seconds for m in parts) / seconds, sum(m.cpu_db * m.seconds for m in parts) / seconds,
        sum(m.cpu_driver * m.seconds for m in parts) / seconds, max(m.settle_seconds for m in parts))


async def drive(stack: Stack, endpoint: Endpoint, users: list[VirtualUser], targets: Targets, concurrency: int,
                duration: float, warmup: float, data: str, think: float = 0.0) -> Measurement:
    """``concurrency`` users in closed loops against ``stack.base_url`` for ``warmup`` + ``duration`` seconds;
    each pauses ``think`` seconds (±50 %) after an answer (0: the next request at once)."""
    pause = random.Random(concurrency)  # jitter, so that thinking users do not march in step
    chosen = users[:concurrency]
    clients = [httpx.AsyncClient(base_url=stack.base_url, cookies={COOKIE: u.session}, timeout=120,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)) for u in chosen]
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    sizes: list[int] = []
    in_flight: dict[int, float] = {}  # user index → when its current request started
    began = time.perf_counter()
    measure_from = began + warmup
    deadline = measure_from + duration
    cpu: dict[str, float] = {}
    app_pid = stack.process.pid if stack.process else 0
    db_pid = stack.server.running_pid() or 0

    def snapshot(prefix: str) -> None:
        cpu[prefix + "app"] = cpu_seconds(app_pid)
        cpu[prefix + "db"] = cpu_seconds(db_pid, with_children=True)
        cpu[prefix + "driver"] = time.process_time()

    async def sampler() -> None:
        await asyncio.sleep(warmup)
        snapshot("start_")
        await asyncio.sleep(duration)
        snapshot("end_")

    async def user_loop(index: int, user: VirtualUser, client: httpx.AsyncClient) -> None:
        nonlocal errors, first_error
        n = index * 5  # users start at different points of the rotation
        while time.perf_counter() < deadline:
            url, headers = endpoint.request(user, targets, n)
            n += 1
            started = in_flight[index] = time.perf_counter()
            try:
                response = await client.get(url, headers=headers)
                ok = response.status_code == 200
                problem = None if ok else f"{response.status_code} {url}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, problem = False, f"{type(exc).__name__} {url}"
            del in_flight[index]
            elapsed = (time.perf_counter() - started) * 1000
            if measure_from <= started < deadline:
                if ok:
                    latencies.append(elapsed)
                    if len(sizes) < 50:
                        sizes.append(len(response.content))
                else:
                    errors += 1
                    first_error = first_error or problem
            if think:
                await asyncio.sleep(think * pause.uniform(.5, 1.5))

    tasks = [asyncio.ensure_future(user_loop(i, u, c)) for i, (u, c) in enumerate(zip(chosen, clients))]
    await sampler()
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline + GRACE - time.perf_counter()))
    # Requests still waiting GRACE seconds after the window are abandoned and counted: a server that stalls must
    # show up as such, not stretch the run (or the next one) by its own timeouts.
    unanswered = sum(1 for started in in_flight.values() if started < deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()
    share = {k: (cpu[f"end_{k}"] - cpu[f"start_{k}"]) / duration for k in ("app", "db", "driver")}
    settle = await asyncio.to_thread(stack.settle) if pending or errors else 0.0
    return Measurement(data, endpoint.key, endpoint.label, concurrency, duration, latencies, errors, unanswered,
                       first_error, int(statistics.mean(sizes)) if sizes else 0, share["app"], share["db"],
                       share["driver"], settle)


def show(m: Measurement) -> None:
    print(f"  {m.data:8} {m.endpoint:22} {m.users:3} users: {m.throughput:7.1f} req/s  p50 {m.percentile(50):7.1f} ms"
          f"  p95 {m.percentile(95):7.1f} ms  p99 {m.percentile(99):7.1f} ms  errors {m.errors}"
          f"  unanswered {m.unanswered}  cpu app {m.cpu_app:.0%} db {m.cpu_db:.0%} driver {m.cpu_driver:.0%}", flush=True)
    if m.first_error:
        print(f"    first error: {m.first_error[:300]}", flush=True)
    if m.settle_seconds > 1:
        print(f"    the server answered /readyz again only {m.settle_seconds:.0f} s later", flush=True)


class Driver:
    """One event loop (uvloop) for all runs, and the sessions and targets of each stack."""

    def __init__(self, think: float = 0.0):
        import uvloop

        self.think = think
        self.runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        self.users: dict[int, dict[str, list[VirtualUser]]] = {}
        self.targets: dict[int, Targets] = {}

    def prepare(self, stack: Stack, count: int) -> None:
        self.users[id(stack)] = self.runner.run(stack.users(count))
        self.targets[id(stack)] = self.runner.run(stack.targets())

    def run(self, stack: Stack, endpoint: Endpoint, concurrency: int, duration: float, warmup: float,
            data: str) -> Measurement:
        users = self.users[id(stack)][endpoint.profile]
        return self.runner.run(drive(stack, endpoint, users, self.targets[id(stack)], concurrency, duration, warmup,
                                     data, self.think))

    def close(self) -> None:
        self.runner.close()


def single_user(driver: Driver, endpoints: list[Endpoint], large: Stack, small: Stack | None, duration: float,
                warmup: float, rounds: int) -> list[Measurement]:
    """One user per endpoint; with a small stack, small and large take turns (``rounds`` each, order alternating)
    so that other work on the machine falls on both sizes alike."""
    results = []
    for endpoint in endpoints:
        if small is None:
            m = driver.run(large, endpoint, 1, duration, warmup, "large")
            show(m)
            results.append(m)
            continue
        parts: dict[str, list[Measurement]] = {"small": [], "large": []}
        for r in range(rounds):
            order = (("small", small), ("large", large)) if r % 2 == 0 else (("large", large), ("small", small))
            for name, stack in order:
                parts[name].append(driver.run(stack, endpoint, 1, duration / rounds, warmup / 2, name))
        for name in ("small", "large"):
            m = merge(parts[name])
            show(m)
            results.append(m)
    return results


def concurrent(driver: Driver, endpoints: list[Endpoint], stack: Stack, levels: list[int], duration: float,
               warmup: float, data: str) -> list[Measurement]:
    results = []
    for endpoint in endpoints:
        for level in levels:
            if endpoint.key in SINGLE_USER_ONLY and level > 1:
                continue
            m = driver.run(stack, endpoint, level, duration, warmup, data)
            show(m)
            results.append(m)
    return results


# -- row-level security at the query level ---------------------------------------------------------------------------


@dataclass
class QueryTiming:
    label: str
    median_off: float
    median_on: float
    p95_off: float
    p95_on: float


async def rls_queries(stack: Stack, subs: list[str], rounds: int) -> list[QueryTiming]:
    """The list and search statements of the case list, as the app role behind the wall (exactly what the app
    sends) and as a role that bypasses it (with the tenant written into every table), interleaved like
    infra/bench/rls.py; prepared statements on both sides, as SQLAlchemy's asyncpg driver uses them."""
    assert stack.urls is not None
    app = await connect(stack.urls.app)
    bypass = await connect(stack.superuser_url)
    results = []
    try:
        for label, q in (("case list statement (staff member, 50 newest visible)", None),
                         ("search statement, 3 kana (`やまも`)", "やまも"),
                         ("search statement, 2 kana (`やま`)", "やま")):
            timings: dict[str, list[float]] = {"on": [], "off": []}
            for i in range(rounds + 10):
                sub = subs[i % len(subs)]
                order = (("on", app), ("off", bypass)) if i % 2 else (("off", bypass), ("on", app))
                for name, conn in order:
                    sql, args = case_list_statement(sub, KOCHI_CITY, q, explicit_tenant=name == "off")
                    async with conn.transaction():
                        if name == "on":
                            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", KOCHI_CITY)
                        started = time.perf_counter()
                        await conn.fetch(sql, *args)
                        elapsed = (time.perf_counter() - started) * 1000
                    if i >= 10:  # warm-up rounds are not counted
                        timings[name].append(elapsed)
            p95 = {k: statistics.quantiles(v, n=20)[-1] for k, v in timings.items()}
            results.append(QueryTiming(label, statistics.median(timings["off"]), statistics.median(timings["on"]),
                                       p95["off"], p95["on"]))
    finally:
        await app.close()
        await bypass.close()
    return results


async def explain(stack: Stack, sub: str) -> str:
    """EXPLAIN ANALYZE of the list and search statements as the app runs them (app role, tenant bound)."""
    assert stack.urls is not None
    conn = await connect(stack.urls.app)
    out = []
    try:
        for q in (None, "やまも", "やま"):
            sql, args = case_list_statement(sub, KOCHI_CITY, q, explicit_tenant=False)
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", KOCHI_CITY)
                plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
            out.append(f"-- q = {q!r}\n" + "\n".join(r[0] for r in plan))
    finally:
        await conn.close()
    return "\n\n".join(out)


# -- report -----------------------------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return "—" if value != value else f"{value:.1f}"  # NaN: nothing was answered in the window


def ratio(a: float, b: float, digits: int = 2) -> str:
    return "—" if a != a or b != b or not b else f"{a / b:.{digits}f}"


def report(results: list[Measurement], bare: list[Measurement], bare_rls: list[Measurement], queries: list[QueryTiming],
           stacks: dict[str, Stack], args: argparse.Namespace) -> str:
    lines: list[str] = []
    out = lines.append
    large = [m for m in results if m.data == "large"]
    small = {m.endpoint: m for m in results if m.data == "small"}
    out(f"Data: large = scale {args.scale} ({stacks['large'].rows:,} rows, 高知市 {stacks['large'].kochi_cases:,} cases)"
        + (f", small = scale {args.small_scale} ({stacks['small'].rows:,} rows, 高知市 {stacks['small'].kochi_cases:,} "
           "cases)" if "small" in stacks else "")
        + f"; {args.duration:g} s measured per line after {args.warmup:g} s warm-up"
        + (f" (1 user: {args.rounds} turns per size)" if "small" in stacks else "")
        + (f"; app pool size {args.pool_size} (experiment)" if args.pool_size else "")
        + (f"; users pause {args.think:g} s (±50 %) after each answer" if args.think else "; no pause between requests")
        + f"; {os.cpu_count()} CPUs; load average at the end {os.getloadavg()[0]:.1f}.\n")
    out("| endpoint | users | req/s | p50 ms | p95 ms | p99 ms | errors | unanswered | CPU app / db / driver |")
    out("|---|---|---|---|---|---|---|---|---|")
    for m in large:
        out(f"| {m.label} | {m.users} | {m.throughput:.1f} | {ms(m.percentile(50))} | {ms(m.percentile(95))} | "
            f"{ms(m.percentile(99))} | {m.errors} | {m.unanswered} | "
            f"{m.cpu_app:.0%} / {m.cpu_db:.0%} / {m.cpu_driver:.0%} |")
    if bare:
        out("\nCase list: the app vs. the bare floor (same SQL, asyncpg + Jinja2, no session/RLS/ORM/audit):\n")
        out("| users | app req/s | bare req/s | bare/app throughput | app p50 | bare p50 | app p95 | bare p95 "
            "| app/bare p50 |")
        out("|---|---|---|---|---|---|---|---|---|")
        app_list = {m.users: m for m in large if m.endpoint == "case_list"}
        for b in bare:
            a = app_list.get(b.users)
            if a:
                out(f"| {b.users} | {a.throughput:.1f} | {b.throughput:.1f} | {ratio(b.throughput, a.throughput, 1)}× | "
                    f"{ms(a.percentile(50))} | {ms(b.percentile(50))} | {ms(a.percentile(95))} | "
                    f"{ms(b.percentile(95))} | {ratio(a.percentile(50), b.percentile(50), 1)}× |")
    if bare_rls:
        out("\nRow-level security, page level (the bare case list as the app role behind the wall vs. a bypass role):\n")
        out("| users | req/s off | req/s on | p50 off | p50 on | p95 off | p95 on | p50 on/off |")
        out("|---|---|---|---|---|---|---|---|")
        off = {m.users: m for m in bare}
        for on in bare_rls:
            o = off.get(on.users)
            if o:
                out(f"| {on.users} | {o.throughput:.1f} | {on.throughput:.1f} | {ms(o.percentile(50))} | "
                    f"{ms(on.percentile(50))} | {ms(o.percentile(95))} | {ms(on.percentile(95))} | "
                    f"{ratio(on.percentile(50), o.percentile(50))} |")
    if queries:
        out("\nRow-level security, query level (interleaved, one connection, ms):\n")
        out("| statement | median off | median on | p95 off | p95 on | median on/off |")
        out("|---|---|---|---|---|---|")
        for q in queries:
            out(f"| {q.label} | {q.median_off:.2f} | {q.median_on:.2f} | {q.p95_off:.2f} | {q.p95_on:.2f} | "
                f"{q.median_on / q.median_off:.2f} |")
    if small:
        out(f"\nData size, one user, sizes taking turns: small ({stacks['small'].rows:,} rows) vs. large "
            f"({stacks['large'].rows:,} rows):\n")
        out("| endpoint | p50 small | p50 large | p50 large/small | p95 small | p95 large | p95 large/small |")
        out("|---|---|---|---|---|---|---|")
        for m in large:
            s = small.get(m.endpoint)
            if s and m.users == 1:
                out(f"| {m.label} | {ms(s.percentile(50))} | {ms(m.percentile(50))} | "
                    f"{ratio(m.percentile(50), s.percentile(50))} | {ms(s.percentile(95))} | {ms(m.percentile(95))} | "
                    f"{ratio(m.percentile(95), s.percentile(95))} |")
    out("\nTargets:\n")
    partial = [m for m in large if m.endpoint == "search_partial"]
    if partial:
        top = max(partial, key=lambda m: m.users)
        p95 = top.percentile(95)
        verdict = "met" if p95 == p95 and p95 < 100 and not top.unanswered else "missed"
        out(f"- search partial p95 at {top.users} users: {ms(p95)} ms, {top.unanswered} unanswered "
            f"(target < 100 ms): {verdict}")
    if small:
        ratios = [(m.label, m.percentile(50) / small[m.endpoint].percentile(50)) for m in large
                  if m.users == 1 and m.endpoint in small]
        worst = max(ratios, key=lambda r: r[1])
        out(f"- large/small p50 at 1 user: worst {worst[1]:.2f} ({worst[0]}) (target ≤ 1.3): "
            f"{'met' if worst[1] <= 1.3 else 'missed'}")
    aggregates = [m for m in large if m.endpoint == "prefecture_aggregates" and m.users == 1]
    if aggregates:
        a = aggregates[0]
        out(f"- prefecture aggregates p95 at 1 user: {ms(a.percentile(95))} ms (target < 200 ms): "
            f"{'met' if a.percentile(95) < 200 else 'missed'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1,10,50", help="concurrency levels, comma-separated")
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per endpoint and level")
    parser.add_argument("--warmup", type=float, default=2, help="seconds before measuring starts")
    parser.add_argument("--scale", type=float, default=1.0, help="large data (1.0: about 1.6 million rows)")
    parser.add_argument("--small-scale", type=float, default=0.005, help="small data (about 17,000 rows); 0 skips it")
    parser.add_argument("--rounds", type=int, default=3, help="turns per size in the one-user comparison")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--endpoints", help=f"subset of: {', '.join(e.key for e in ENDPOINTS)}")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare app and the RLS comparison")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each user pauses after an answer (±50 %%); 0: closed loop, no pause")
    parser.add_argument("--pool-size", type=int, help="experiment: the app's pool size (default: the app's own)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the list and search")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    args = parser.parse_args()
    levels = [int(x) for x in args.users.split(",")]
    wanted = set(args.endpoints.split(",")) if args.endpoints else None
    endpoints = [e for e in ENDPOINTS if wanted is None or e.key in wanted]
    print(f"{platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
          f"Python {platform.python_version()}", flush=True)
    began = time.perf_counter()
    results: list[Measurement] = []
    bare: list[Measurement] = []
    bare_rls: list[Measurement] = []
    queries: list[QueryTiming] = []
    stacks: dict[str, Stack] = {}
    driver = Driver(args.think)
    with tempfile.TemporaryDirectory(prefix="kyosei-load-") as tmp:
        try:
            if args.small_scale > 0:
                stacks["small"] = Stack(args.small_scale, args.seed, Path(tmp) / "small")
            stacks["large"] = Stack(args.scale, args.seed, Path(tmp) / "large")
            for stack in stacks.values():
                stack.start_database()
                stack.start_app(args.pool_size)
                driver.prepare(stack, max(levels))
            large, small = stacks["large"], stacks.get("small")
            if 1 in levels:
                results += single_user(driver, endpoints, large, small, args.duration, args.warmup, args.rounds)
            if small is not None:
                small.destroy()
            results += concurrent(driver, endpoints, large, [n for n in levels if n > 1], args.duration, args.warmup,
                                  "large")
            large.stop_server()
            if not args.no_baseline:
                for rls, into in ((False, bare), (True, bare_rls)):
                    large.start_bare(rls)
                    into += concurrent(driver, [BARE_LIST], large, levels, args.duration, args.warmup,
                                       "bare-rls" if rls else "bare")
                    large.stop_server()
                subs = [u.sub for u in driver.users[id(large)]["staff"][:10]]
                queries = driver.runner.run(rls_queries(large, subs, rounds=100))
            if args.explain:
                print(driver.runner.run(explain(large, driver.users[id(large)]["staff"][0].sub)))
        finally:
            driver.close()
            for stack in stacks.values():
                stack.destroy()
    text = report(results, bare, bare_rls, queries, stacks, args)
    print("\n" + text)
    print(f"\nbenchmark took {(time.perf_counter() - began) / 60:.1f} min")
    if args.json:
        args.json.write_text(json.dumps({
            "args": {k: str(v) for k, v in vars(args).items()},
            "rows": {k: s.rows for k, s in stacks.items()},
            "measurements": [{**asdict(m), "p50": m.percentile(50), "p95": m.percentile(95), "p99": m.percentile(99),
                              "throughput": m.throughput} for m in results + bare + bare_rls],
            "queries": [asdict(q) for q in queries],
        }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
