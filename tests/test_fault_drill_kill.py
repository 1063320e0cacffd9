"""Fault drill: the app process is killed (SIGKILL) in the middle of a multi-row write.

相談受付 (POST /api/cases) writes, in one transaction, a household, its members (person + household_membership
each), the case, its first status change, its 主担当 and several audit rows. The drill makes that request stop half
way, kills the app with SIGKILL while it waits, and checks after a restart that none of its rows exist, that the
audit chain has no hole, and that the very same request then goes through exactly once.

How "half way" is made deterministic: a superuser connection of the test holds ``LOCK TABLE support_case IN ACCESS
EXCLUSIVE MODE``. The intake writes the household and the people first and only then touches ``support_case`` (to
number the case and insert it), so the request blocks right there with its first rows written but not committed.
The test sees that in pg_locks before it pulls the trigger. Nothing is installed in the database; the lock is the
whole trick and ends with the test's transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from core import wareki
from core.audit.chain import verify_chain
from infra.database.embedded import free_port
from infra.database.provision import DATABASE, connect, with_database
from tests.sessions import open_session

pytestmark = pytest.mark.slow

KYOSEI = str(Path(sys.executable).parent / "kyosei")
TENANT = "394017"  # 中土佐町


class AppProcess:
    """``kyosei run --no-keycloak`` as its own OS process, so that it can really be killed."""

    def __init__(self, database_urls, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.database_urls = database_urls
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KYOSEI_", "DATABASE_", "KEYCLOAK_"))}
        env.update(
            DATABASE_URL=self.database_urls.owner,
            DATABASE_APP_URL=self.database_urls.app,
            KYOSEI_PORT=str(self.port),
            KYOSEI_DATA_DIR=str(self.data_dir),
            LOG_FORMAT="json",
            # one process serves, so the process killed is the one holding the request (with several workers
            # uvicorn's supervisor would be killed and the worker that holds it would live on)
            KYOSEI_WORKERS="1",
        )
        self.starts += 1
        log = (self.data_dir / f"app-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen([KYOSEI, "run", "--no-keycloak"], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the app exited with {self.proc.returncode}; see {self.data_dir}/app-{self.starts}.log")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the app did not become ready; see {self.data_dir}/app-{self.starts}.log")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture()
def app_process(database_urls, tmp_path):
    app = AppProcess(database_urls, tmp_path)
    try:
        yield app
    finally:
        app.stop()


def intake(token: str) -> dict:
    """A household of three: every value that ends up in a row carries ``token``, so the rows can be counted."""
    return {
        "received_on": (wareki.today() - dt.timedelta(days=2)).isoformat(),
        "receiving_staff": "山本 花子",
        "route": "counter",
        "household_label": f"強制終了試験{token}世帯",
        "members": [
            {"name": f"試験 一郎{token}", "kana": "しけん いちろう", "relationship": "本人", "birth_date": "1970-05-05",
             "sex": "male", "address": "高知県高岡郡中土佐町久礼2-2"},
            {"name": f"試験 ミツ{token}", "kana": "しけん みつ", "relationship": "母", "birth_date": "1940-01-01"},
            {"name": f"試験 二郎{token}", "kana": "しけん じろう", "relationship": "弟"},
        ],
        "problems": ["withdrawal", "care"],
        "fields": ["elderly"],
        "summary": f"強制終了の訓練 {token}",
        "consent_given": True,
    }


async def rows_of(conn, token: str) -> dict[str, int]:
    """What exists of the request ``token`` (as superuser: row-level security does not hide anything from it)."""
    households = await conn.fetch("SELECT id FROM household WHERE tenant_id = $1 AND label = $2",
                                  TENANT, f"強制終了試験{token}世帯")
    people = await conn.fetch("SELECT id FROM person WHERE tenant_id = $1 AND name LIKE $2", TENANT, f"%{token}")
    cases = await conn.fetch("SELECT id FROM support_case WHERE tenant_id = $1 AND summary = $2",
                             TENANT, f"強制終了の訓練 {token}")
    ids = [r["id"] for r in (*households, *people, *cases)]
    return {
        "household": len(households),
        "person": len(people),
        "household_membership": await conn.fetchval(
            "SELECT count(*) FROM household_membership WHERE tenant_id = $1 AND person_id = ANY($2::uuid[])",
            TENANT, [r["id"] for r in people]),
        "support_case": len(cases),
        "case_status_change": await conn.fetchval(
            "SELECT count(*) FROM case_status_change WHERE tenant_id = $1 AND case_id = ANY($2::uuid[])",
            TENANT, [r["id"] for r in cases]),
        "case_assignee": await conn.fetchval(
            "SELECT count(*) FROM case_assignee WHERE tenant_id = $1 AND case_id = ANY($2::uuid[])",
            TENANT, [r["id"] for r in cases]),
        "audit_event": await conn.fetchval(
            "SELECT count(*) FROM audit_event WHERE tenant_id = $1 AND object_id = ANY($2::text[])",
            TENANT, [str(i) for i in ids]),
    }


async def blocked_backend(observer, timeout: float = 30) -> int:
    """The app's backend that waits for the test's lock on support_case (its pid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = await observer.fetchval(
            """SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
               WHERE a.usename = 'kyosei_app' AND NOT l.granted AND l.relation = 'support_case'::regclass""")
        if pid:
            return pid
        await asyncio.sleep(0.05)
    raise AssertionError("the intake never reached support_case: nothing waits for the test's lock")


async def backend_gone(observer, pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while await observer.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"backend {pid} of the killed app is still there after the lock was released")
        await asyncio.sleep(0.05)


def test_killing_the_app_mid_intake_leaves_nothing_half_written(app_process, database_urls, pg_server):
    session = open_session(database_urls, TENANT, ("staff", "coordinator"))
    superuser_url = with_database(pg_server.superuser_url, DATABASE)
    token = uuid.uuid4().hex[:10]
    body = intake(token)
    headers = {"X-CSRF-Token": session.csrf, "Accept": "application/json"}
    cookies = {"kyosei_session": session.raw}
    app_process.start()

    async def drill():
        locker = await connect(superuser_url)
        observer = await connect(superuser_url)
        try:
            last_audit = await observer.fetchval("SELECT max(seq) FROM audit_event WHERE tenant_id = $1", TENANT)
            await locker.execute("BEGIN")
            await locker.execute("LOCK TABLE support_case IN ACCESS EXCLUSIVE MODE")
            async with httpx.AsyncClient(cookies=cookies, timeout=60) as http:
                request = asyncio.create_task(http.post(f"{app_process.url}/api/cases", json=body, headers=headers))
                pid = await blocked_backend(observer)
                # Half way for real: the transaction already wrote (it has an xid and holds row-exclusive locks on
                # the tables it inserted into) and waits for support_case.
                written = {r["relname"] for r in await observer.fetch(
                    """SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                       WHERE l.pid = $1 AND l.granted AND l.mode = 'RowExclusiveLock'""", pid)}
                # (its audit rows go in at commit, core/audit/trail.py, so audit_event is not among them yet)
                assert {"household", "person", "household_membership"} <= written, written
                assert await observer.fetchval("SELECT backend_xid IS NOT NULL FROM pg_stat_activity WHERE pid = $1",
                                               pid)
                await asyncio.to_thread(app_process.kill)
                # The client that sent the intake never got an answer: it cannot believe it was saved.
                with pytest.raises(httpx.TransportError):
                    await request
            # PostgreSQL does not notice a dead client while its backend waits for a lock: the half-done
            # transaction is still open at this point. Release the lock and let it run into the closed socket.
            assert await observer.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid)
            await locker.execute("ROLLBACK")
            await backend_gone(observer, pid)
            # Its audit rows went with it (they carry no token, but the tenant's trail did not grow).
            assert await observer.fetchval("SELECT max(seq) FROM audit_event WHERE tenant_id = $1", TENANT) == last_audit
            return await rows_of(observer, token)
        finally:
            await locker.close()
            await observer.close()

    after_kill = asyncio.run(drill())
    assert after_kill == dict.fromkeys(after_kill, 0), f"rows of the killed request survived: {after_kill}"

    app_process.start()  # a fresh process, as an operator (or systemd, or Kubernetes) would do
    # The same request is sent again: it goes through once, with every row it should have.
    response = httpx.post(f"{app_process.url}/api/cases", json=body, headers=headers, cookies=cookies, timeout=30)
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["summary"] == f"強制終了の訓練 {token}"
    shown = httpx.get(f"{app_process.url}/api/cases/{case['id']}", headers=headers, cookies=cookies, timeout=30)
    assert shown.status_code == 200
    assert sorted(m["name"] for m in shown.json()["members"]) == sorted(m["name"] for m in body["members"])

    async def after_retry():
        conn = await connect(superuser_url)
        try:
            return await rows_of(conn, token)
        finally:
            await conn.close()

    counts = asyncio.run(after_retry())
    assert counts["household"] == 1 and counts["support_case"] == 1 and counts["case_assignee"] == 1
    assert counts["person"] == 3 and counts["household_membership"] == 3 and counts["case_status_change"] == 1
    assert counts["audit_event"] >= 5  # household, three people, the case
    # The audit rows of the killed transaction left no hole in the tenant's hash chain (numbered by a trigger).
    report = asyncio.run(verify_chain(database_urls.owner))
    assert not [b for b in report.breaks if b.tenant_id == TENANT], report.breaks
