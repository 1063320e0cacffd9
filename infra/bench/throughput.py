"""Throughput benchmark with ``wrk``: requests per second per core of the hot pages, beside a minimal reference.

    .venv/bin/python -m infra.bench.throughput                       # everything, defaults below
    .venv/bin/python -m infra.bench.throughput --apps before=/tmp/kyosei-before,after=. --workers 1 \\
        --connections 10 --endpoints case_list,search_partial --flame docs/benchmarks

One command, safe to re-run on a quiet machine:

- ``wrk`` (Debian package) is installed with apt-get when it is missing (as root; otherwise it says what to run).
- An embedded PostgreSQL 18 under ``--data-dir`` (default ``var/bench-throughput``) gets the migrations and
  ``infra.bench.generate`` data at ``--scale`` (default 1.0, every municipality: about 1.6 million rows) the first
  time; later runs reuse it (delete the folder to start over).
- Each app in ``--apps`` (``label=checkout folder``; default ``current=.``: this checkout) runs as production runs
  it, ``uvicorn --factory core.app:create_app`` with ``--workers N`` (what ``kyosei serve`` starts), from that
  folder, for each ``N`` in ``--workers``. The reference page (``infra.bench.reference``: Litestar + SQLAlchemy,
  12 rows, no auth) runs beside them with the same worker count, and so does, when the endpoint ``floor`` or
  ``floor_search`` is asked for, the bare floor of ``infra.bench.load`` (the staff list's own SQL through asyncpg
  and Jinja, RLS on, no framework, session, ORM or audit), to compare the app's latency with at
  ``--connections 1,10``. All of them are up at once and measured endpoint by endpoint in ``--rounds`` short
  turns of alternating order, so that a before/after pair is taken under the same machine load (requests summed
  over the turns; latency percentiles: the median turn's).
- Requests rotate over ``--users`` 高知市 staff sessions (each with their own cases), created the way the login
  callback creates them; the meeting page and the coordinator's list use a coordinator's session.
- Every measurement records the 1-minute load average before it (``uptime``) and the CPU time each request cost
  the app (all its processes) and PostgreSQL, read from /proc: on a shared machine, compare pairs taken together
  and CPU per request rather than absolute req/s.
- ``--flame DIR`` records a py-spy flame graph of each app (all its workers) during each endpoint's run
  at the first connection count, as ``DIR/flame-<label>-<endpoint>.svg``.

Prints a markdown table; ``--json FILE`` keeps every number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from infra.bench.load import COOKIE, HTMX, KOCHI_CITY, SEARCH_TERMS, Stack, cpu_seconds, stop_process
from infra.database.embedded import free_port
from infra.database.provision import connect

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ("reference", "floor", "floor_search", "case_list", "list_partial", "search_partial", "case_detail",
             "meeting", "timetable", "api_cases", "case_list_coordinator", "search_coordinator")
LABELS = {
    "reference": "reference page (Litestar + SQLAlchemy, 12 rows, no auth)",
    "floor": "bare floor: the staff list's SQL, asyncpg + Jinja, RLS on (infra.bench.bare)",
    "floor_search": "bare floor of the search partial: its SQL, asyncpg + Jinja, RLS on",
    "case_list": "case list `/cases` (staff)",
    "list_partial": "case-list partial `/cases` (htmx, 50 rows: the page's table alone)",
    "search_partial": "search partial `/cases?q=…` (htmx)",
    "case_detail": "case page `/cases/{id}`",
    "meeting": "meeting page `/meetings/{id}` (coordinator)",
    "timetable": "hub timetable `/programs/hubs/{id}`",
    "api_cases": "JSON `GET /api/cases`",
    "case_list_coordinator": "case list, coordinator (all of 高知市)",
    "search_coordinator": "name search partial, coordinator (高橋, ﾀｶﾊｼ, 髙橋, たかはし, 山本 花)",
}
# A coordinator's name search sees all 25,000 cases of 高知市: the lookups of migrations 0019x (three characters or
# more) and 0023 (two) serve it. The terms of infra/bench/name_search.py, so the two benchmarks can be read together.
COORDINATOR_TERMS = ("高橋", "ﾀｶﾊｼ", "髙橋", "たかはし", "山本 花")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is not installed: run `sudo apt-get install wrk` (Debian package) and start again")
    print("installing wrk (Debian package)", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env={**os.environ,
                   "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("apt-get did not install wrk")


# -- data ---------------------------------------------------------------------------------------------------------


class BenchData(Stack):
    """``infra.bench.load``'s stack on a kept folder: generated once, reused by later runs."""

    def __init__(self, scale: float, seed: int, folder: Path, port: int | None):
        from infra.database.embedded import EmbeddedPostgres

        super().__init__(scale, seed, folder)
        self.server = EmbeddedPostgres(folder / "pg", port or free_port())

    def prepare(self) -> None:
        from core import migrate
        from infra.database.provision import provision_embedded

        marker = self.workdir / "generated.json"
        if not marker.exists():
            self.start_database()
            marker.write_text(json.dumps({"scale": self.scale, "rows": self.rows}))
            return
        self.server.start()
        self.urls = asyncio.run(provision_embedded(self.server.superuser_url, "bench-app-password"))
        migrate.upgrade(self.urls)  # a newer checkout may bring migrations
        print(f"reusing {self.workdir} ({json.loads(marker.read_text())['rows']:,} rows)", flush=True)

    async def meeting_ids(self) -> list[str]:
        conn = await connect(self.superuser_url)
        try:
            return [str(r["id"]) for r in await conn.fetch(
                "SELECT id FROM meeting WHERE tenant_id = $1 ORDER BY id DESC LIMIT 40", KOCHI_CITY)]
        finally:
            await conn.close()


# -- servers ------------------------------------------------------------------------------------------------------


@dataclass
class Server:
    label: str
    process: subprocess.Popen
    base_url: str
    log: Path

    def answered_since(self, offset: int) -> int:
        """Requests the app logged as answered since ``offset`` of its log (wrk does not count those it gave up
        on at the end of a turn; their CPU is in the turn all the same). 0 for a server that logs none."""
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().count(b'"event": "request"')


def start_server(label: str, factory: str, folder: Path, workers: int, env: dict[str, str], log: Path) -> Server:
    port = free_port()
    environment = {**os.environ, "KYOSEI_ENV": "dev", "LOG_FORMAT": "json", "LOG_LEVEL": "info",
                   "KYOSEI_PUBLIC_URL": f"http://127.0.0.1:{port}", "KYOSEI_WORKERS": str(workers),
                   "PYTHONPATH": str(folder), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--workers", str(workers), "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=folder, env=environment, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{label} exited with {process.returncode}; see {log}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return Server(label, process, base, log)
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"{label} did not answer /healthz within 90 s; see {log}")
    except BaseException:  # Ctrl-C included: a server that never got into the caller's hands is stopped here
        stop_process(process, timeout=30)
        raise


def stop(server: Server) -> None:
    stop_process(server.process, timeout=30)


# -- requests -----------------------------------------------------------------------------------------------------


def requests_for(endpoint: str, users, coordinator, targets, meetings: list[str]) -> list[tuple[str, dict]]:
    """(path, headers) the wrk script rotates through for ``endpoint``."""
    def cookie(user) -> dict:
        return {"Cookie": f"{COOKIE}={user.session}"}

    out: list[tuple[str, dict]] = []
    for n in range(120):
        user = users[n % len(users)]
        if endpoint == "reference":
            out.append(("/reference", {}))
        elif endpoint == "floor":
            out.append((f"/cases?user={user.sub}", {}))
        elif endpoint == "floor_search":  # the search partial's requests, one for one
            out.append((f"/cases?user={user.sub}&q={SEARCH_TERMS[n % len(SEARCH_TERMS)]}", {}))
        elif endpoint == "case_list":
            out.append(("/cases", cookie(user)))
        elif endpoint == "list_partial":  # what the list's filters ask for: the table alone, the floor's rows
            out.append(("/cases", {**cookie(user), **HTMX}))
        elif endpoint == "search_partial":
            out.append((f"/cases?q={SEARCH_TERMS[n % len(SEARCH_TERMS)]}", {**cookie(user), **HTMX}))
        elif endpoint == "case_detail":
            out.append((f"/cases/{user.case_ids[n % len(user.case_ids)]}", cookie(user)))
        elif endpoint == "meeting":
            out.append((f"/meetings/{meetings[n % len(meetings)]}", cookie(coordinator)))
        elif endpoint == "timetable":
            out.append((f"/programs/hubs/{targets.hub_ids[n % len(targets.hub_ids)]}", cookie(user)))
        elif endpoint == "api_cases":
            out.append(("/api/cases", cookie(user)))
        elif endpoint == "case_list_coordinator":
            out.append(("/cases", cookie(coordinator)))
        elif endpoint == "search_coordinator":
            # as typed: lua_script percent-encodes the path (the space too)
            out.append((f"/cases?q={COORDINATOR_TERMS[n % len(COORDINATOR_TERMS)]}", {**cookie(coordinator), **HTMX}))
    return out


def lua_script(requests: list[tuple[str, dict]]) -> str:
    def lua_string(value: str) -> str:
        return json.dumps(value, ensure_ascii=True)  # a JSON string of ASCII is a valid Lua string literal

    def lua_headers(headers: dict) -> str:
        return "{" + ", ".join(f"[{lua_string(k)}]={lua_string(v)}" for k, v in headers.items()) + "}"

    # Paths percent-encoded (kana search terms): wrk's LuaJIT has no \u escapes.
    entries = ",\n".join(f"{{{lua_string(quote(path, safe='/?=&'))}, {lua_headers(headers)}}}"
                          for path, headers in requests)
    return f"""local reqs = {{
{entries}
}}
local n = 0
request = function()
  n = n + 1
  local r = reqs[(n % #reqs) + 1]
  return wrk.format("GET", r[1], r[2])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%d}}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean))
end
"""


@dataclass
class Measurement:
    app: str
    workers: int
    endpoint: str
    connections: int
    requests_per_second: float
    per_worker: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    status_errors: int
    socket_errors: int
    load_before: float  # 1-minute load average when the run started
    cores: int
    # CPU time per request (all the app's processes; PostgreSQL's): what a request costs whatever else the machine
    # runs, so the steadiest before/after figure on a shared machine. 1000 / app_cpu_ms is the req/s one fully
    # available core would give if the app were the only limit.
    app_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0


def combine(label: str, workers: int, endpoint: str, connections: int, runs: list[dict], loads: list[float],
            cores: int) -> Measurement:
    """The turns of one app as one measurement: requests over time summed; latency percentiles as the median of
    the turns' (wrk reports percentiles, not the distribution); load as the mean of the turns' starts."""
    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    seconds = sum(r["duration_us"] for r in runs) / 1e6
    rps = sum(r["requests"] for r in runs) / seconds
    answered = sum(r["answered"] for r in runs) or 1
    return Measurement(label, workers, endpoint, connections, round(rps, 1), round(rps / workers, 1),
                       median([r["p50_us"] / 1000 for r in runs]), median([r["p95_us"] / 1000 for r in runs]),
                       median([r["p99_us"] / 1000 for r in runs]), sum(r["status_errors"] for r in runs),
                       sum(r["socket_errors"] for r in runs), round(sum(loads) / len(loads), 2), cores,
                       round(sum(r["app_cpu"] for r in runs) * 1000 / answered, 2),
                       round(sum(r["db_cpu"] for r in runs) * 1000 / answered, 2))


def drain(pid: int, timeout: float = 120.0) -> float:
    """Wait until the app (all its workers) is idle again (under 5 % of a core over 0.5 s); seconds waited."""
    began = time.monotonic()
    used = cpu_seconds(pid, with_children=True)
    while time.monotonic() - began < timeout:
        time.sleep(0.5)
        now = cpu_seconds(pid, with_children=True)
        if now - used < 0.025:
            break
        used = now
    return round(time.monotonic() - began, 1)


def record_flame(server: Server, output: Path, seconds: float, append: bool) -> subprocess.Popen:
    """py-spy on the server and all its workers for ``seconds``; later turns go to their own file next to it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if append:  # py-spy cannot add to a flame graph: the first turn's graph is the one kept
        output = Path(tempfile.mkdtemp(prefix="kyosei-flame-")) / output.name
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.process.pid), "--subprocesses",
         "--rate", "200", "--duration", f"{max(1, round(seconds))}", "--nonblocking", "--output", str(output),
         # a ``.txt`` output holds collapsed stacks (one line per stack and its count), for reading by script
         "--format", "raw" if output.suffix == ".txt" else "flamegraph"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def run_wrk(wrk: str, url: str, script: Path, connections: int, seconds: float) -> dict:
    result = subprocess.run(
        # wrk takes whole seconds only (3.33s is a usage error): --duration 10 --rounds 3 gives turns of 3 s
        [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 60)
    line = next((line for line in result.stdout.splitlines() if line.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {result.stdout}\n{result.stderr}")
    return json.loads(line[len("WRKJSON "):])


def check_answers(base_url: str, requests: list[tuple[str, dict]], what: str) -> None:
    """Every distinct request answers 200 before it is measured: no benchmark of error pages."""
    for path, headers in {p: h for p, h in requests}.items():
        response = httpx.get(base_url + path, headers=headers, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"{what}: {path} answered {response.status_code}")


def measure(wrk: str, servers: list[Server], workers: int, endpoint: str, connections: int, script: Path, args,
            db_pid: int, flames: Path | None) -> list[Measurement]:
    """One endpoint at one connection count on each server, in short turns of alternating order, so that a burst of
    other work on the machine falls on the before and the after alike."""
    for server in servers:
        run_wrk(wrk, server.base_url, script, connections, args.warmup)
    runs: dict[str, list[dict]] = {server.label: [] for server in servers}
    loads: dict[str, list[float]] = {server.label: [] for server in servers}
    seconds = args.duration / args.rounds
    for turn in range(args.rounds):
        for server in (servers if turn % 2 == 0 else servers[::-1]):
            flame = None
            if flames is not None:
                flame = record_flame(server, flames / f"flame-{server.label}-{endpoint}.{args.flame_format}", seconds, turn > 0)
            loads[server.label].append(os.getloadavg()[0])
            app_cpu, db_cpu = cpu_seconds(server.process.pid, with_children=True), cpu_seconds(db_pid, True)
            offset = server.log.stat().st_size
            run = run_wrk(wrk, server.base_url, script, connections, seconds)
            # Requests wrk gave up on at the end of the turn still run: their CPU belongs to this turn, and the
            # next turn (or app) must not start inside that backlog.
            run["drain_seconds"] = drain(server.process.pid)
            run["app_cpu"] = cpu_seconds(server.process.pid, with_children=True) - app_cpu
            run["db_cpu"] = cpu_seconds(db_pid, with_children=True) - db_cpu
            run["answered"] = server.answered_since(offset) or run["requests"]
            runs[server.label].append(run)
            if flame is not None:
                flame.wait(timeout=seconds + 60)
    return [combine(server.label, workers, endpoint, connections, runs[server.label], loads[server.label],
                    os.cpu_count() or 1) for server in servers]


# -- main ---------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default="current=.", help="label=folder,… (checkouts to compare)")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--connections", default="10,50")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds measured per app and run (all turns)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3, help="turns per app, alternating order")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "var" / "bench-throughput")
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("KYOSEI_PG_PORT", 0)) or None,
                        help="port of the benchmark's PostgreSQL (default KYOSEI_PG_PORT, else a free one)")
    parser.add_argument("--flame", type=Path, default=None, help="folder for py-spy flame graphs")
    parser.add_argument("--flame-format", choices=("svg", "txt"), default="svg",
                        help="svg: flame graph; txt: collapsed stacks to read with a script")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    wrk = ensure_wrk()
    apps = [(label, Path(folder).resolve()) for label, folder in (a.split("=", 1) for a in args.apps.split(","))]
    endpoints = [e for e in args.endpoints.split(",") if e]
    unknown = [e for e in endpoints if e not in ENDPOINTS]
    if unknown:
        sys.exit(f"unknown endpoints: {', '.join(unknown)} (known: {', '.join(ENDPOINTS)})")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    data = BenchData(args.scale, args.seed, args.data_dir, args.pg_port)
    work = Path(tempfile.mkdtemp(prefix="kyosei-wrk-"))
    results: list[Measurement] = []
    try:
        data.prepare()
        assert data.urls is not None
        profiles = asyncio.run(data.users(args.users))
        users, coordinator = profiles["staff"], profiles["coordinator"][0]
        targets = asyncio.run(data.targets())
        meetings = asyncio.run(data.meeting_ids())
        db_pid = data.server.running_pid() or 0
        for workers in (int(w) for w in args.workers.split(",")):
            servers: list[Server] = []
            reference: Server | None = None
            floor: Server | None = None
            try:
                for label, folder in apps:
                    servers.append(start_server(label, "core.app:create_app", folder, workers, {
                        "DATABASE_APP_URL": data.urls.app, "KYOSEI_DATA_DIR": str(work / label),
                        "KYOSEI_PG_PORT": str(data.server.port)}, work / f"{label}-{workers}.log"))
                reference = start_server("reference", "infra.bench.reference:create_reference_app", PROJECT_ROOT,
                                         workers, {"KYOSEI_BENCH_REFERENCE_URL": data.urls.app},
                                         work / f"reference-{workers}.log")
                if {"floor", "floor_search"} & set(endpoints):  # the list with nothing around it, to compare latency
                    floor = start_server("floor", "infra.bench.bare:create_bare_app", PROJECT_ROOT, workers, {
                        "KYOSEI_BENCH_BARE_URL": data.urls.app, "KYOSEI_BENCH_BARE_TENANT": KOCHI_CITY,
                        "KYOSEI_BENCH_BARE_RLS": "1"}, work / f"floor-{workers}.log")
                for endpoint in endpoints:
                    requests = requests_for(endpoint, users, coordinator, targets, meetings)
                    script = work / f"{endpoint}.lua"
                    script.write_text(lua_script(requests))
                    beside = {"reference": reference, "floor": floor, "floor_search": floor}
                    measured = [beside[endpoint]] if endpoint in beside else servers
                    for server in measured:
                        check_answers(server.base_url, requests, f"{server.label} {endpoint}")
                    for c_index, connections in enumerate(int(c) for c in args.connections.split(",")):
                        flames = args.flame if c_index == 0 else None
                        for m in measure(wrk, measured, workers, endpoint, connections, script, args, db_pid, flames):
                            results.append(m)
                            print(f"{m.app:>10} w={workers} {endpoint:<22} c={connections:<3} "
                                  f"{m.requests_per_second:8.1f} req/s ({m.per_worker:.1f}/worker) p50 {m.p50_ms:.1f} "
                                  f"p95 {m.p95_ms:.1f} ms cpu/request app {m.app_cpu_ms:.2f} db {m.db_cpu_ms:.2f} ms "
                                  f"errors {m.status_errors}+{m.socket_errors} load {m.load_before:.2f}", flush=True)
            finally:
                for server in servers:
                    stop(server)
                for extra in (reference, floor):
                    if extra is not None:
                        stop(extra)
    finally:
        data.server.stop()  # the kept cluster stops with the benchmark, whatever happened
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in results], indent=1, ensure_ascii=False))


def print_table(results: list[Measurement]) -> None:
    print("\n| app | workers | endpoint | connections | req/s | req/s per worker | p50 ms | p95 ms | p99 ms "
          "| app CPU ms/req | db CPU ms/req | non-2xx | load (1 min) |\n" + "|---" * 13 + "|")
    for m in results:
        print(f"| {m.app} | {m.workers} | {LABELS[m.endpoint]} | {m.connections} | {m.requests_per_second:.1f} | "
              f"{m.per_worker:.1f} | {m.p50_ms:.1f} | {m.p95_ms:.1f} | {m.p99_ms:.1f} | {m.app_cpu_ms:.2f} | "
              f"{m.db_cpu_ms:.2f} | {m.status_errors + m.socket_errors} | {m.load_before:.2f} |")


if __name__ == "__main__":
    main()
