"""Fault drill: the database's disk is full.

A real "No space left on device", not a simulated error: ``support_case`` is moved into a tablespace on a small
tmpfs, the tmpfs is filled to the last byte, and the table's existing pages are packed, so the next case PostgreSQL
has to store needs a new page and gets ENOSPC (SQLSTATE 53100 disk_full). WAL and every other table stay on the
cluster's own disk, so PostgreSQL itself keeps running, as it does when a tablespace volume fills up.

What staff must see: a 相談受付 (intake) that cannot be stored is answered with a clear Japanese 503 (a page in the
browser, problem+json in the API), none of its rows exist afterwards (the household and people were written before
the case and must be gone too), what was stored earlier still reads, and once space is freed the same intake goes
through without restarting anything.

Packing the pages: a superuser transaction inserts copies of an existing case (nullable columns emptied, so each
copy is no larger than any real case) until PostgreSQL itself answers disk_full, and keeps that transaction open:
its rows are invisible to the app, cannot be pruned while it is open, and vanish with its ROLLBACK.

Needs root (mount) like the embedded PostgreSQL set-up under root; everything is undone in ``finally`` blocks:
the transaction rolled back, the table moved back to pg_default, the tablespace dropped, the tmpfs unmounted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import os
import pwd
import subprocess
import uuid

import asyncpg
import pytest

from core import wareki
from core.audit.chain import verify_chain
from infra.database.embedded import SYSTEM_USER
from infra.database.provision import DATABASE, connect, with_database
from tests.sessions import open_session

TENANT = "394017"  # 中土佐町
TABLESPACE = "kyosei_disk_full_drill"
DISK_FULL_TITLE = "データベースの容量が不足しています"


@pytest.fixture()
def small_disk(pg_server):
    """A 16 MB tmpfs the PostgreSQL server may write to, next to its data directory (a path it can reach)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; CI and `make test` run as root")
    mount_point = pg_server.data_dir.parent / f"disk-full-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    owner = pwd.getpwnam(SYSTEM_USER)
    options = f"size=16m,mode=0700,uid={owner.pw_uid},gid={owner.pw_gid}"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.fail(f"cannot mount a tmpfs for the drill: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)
        mount_point.rmdir()


def fill(mount_point) -> None:
    """Take every free byte of the tmpfs (as root, in a file of its own)."""
    filler = mount_point / "filler"
    stat = os.statvfs(mount_point)
    with filler.open("wb", buffering=0) as f:
        os.posix_fallocate(f.fileno(), 0, stat.f_bavail * stat.f_frsize)
        block = b"\0" * 4096
        while True:  # whatever fallocate's rounding left over
            try:
                f.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    assert os.statvfs(mount_point).f_bavail == 0


def free(mount_point) -> None:
    (mount_point / "filler").unlink(missing_ok=True)


def intake(token: str) -> dict:
    return {
        "received_on": (wareki.today() - dt.timedelta(days=2)).isoformat(),
        "receiving_staff": "山本 花子",
        "route": "counter",
        "household_label": f"容量試験{token}世帯",
        "members": [
            {"name": f"容量 一郎{token}", "kana": "ようりょう いちろう", "birth_date": "1968-03-03", "sex": "male"},
            {"name": f"容量 ハル{token}", "kana": "ようりょう はる", "relationship": "母", "birth_date": "1939-09-09"},
        ],
        "problems": ["withdrawal", "care"],
        "fields": ["elderly"],
        "summary": f"ディスク満杯の訓練 {token}",
        "consent_given": True,
    }


def intake_form(token: str, csrf: str) -> dict:
    """The same intake as the browser's 相談受付 form sends it."""
    body = intake(token)
    form = {"csrf_token": csrf, "received_on": body["received_on"], "receiving_staff": body["receiving_staff"],
            "route": body["route"], "household_label": body["household_label"], "problems": body["problems"],
            "fields": body["fields"], "summary": body["summary"], "consent_given": "true"}
    for i, member in enumerate(body["members"]):
        form.update({f"members-{i}-{k}": v for k, v in member.items()})
    form["members-0-relationship"] = "本人"
    return form


async def rows_of(conn, token: str) -> dict[str, int]:
    """Rows of the intake ``token`` (as superuser, so row-level security hides nothing)."""
    return {
        "household": await conn.fetchval("SELECT count(*) FROM household WHERE tenant_id = $1 AND label = $2",
                                         TENANT, f"容量試験{token}世帯"),
        "person": await conn.fetchval("SELECT count(*) FROM person WHERE tenant_id = $1 AND name LIKE $2",
                                      TENANT, f"%{token}"),
        "household_membership": await conn.fetchval(
            """SELECT count(*) FROM household_membership m JOIN person p ON (p.tenant_id, p.id) = (m.tenant_id, m.person_id)
               WHERE m.tenant_id = $1 AND p.name LIKE $2""", TENANT, f"%{token}"),
        "support_case": await conn.fetchval("SELECT count(*) FROM support_case WHERE tenant_id = $1 AND summary = $2",
                                            TENANT, f"ディスク満杯の訓練 {token}"),
    }


async def pack_pages(filler: asyncpg.Connection, template_case: str) -> int:
    """In ``filler``'s open transaction, add copies of ``template_case`` until PostgreSQL answers disk_full."""
    columns = await filler.fetch(
        """SELECT column_name, is_nullable = 'YES' AS nullable FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = 'support_case' ORDER BY ordinal_position""")
    names = ", ".join(c["column_name"] for c in columns)
    values = ", ".join(
        "gen_random_uuid()" if c["column_name"] == "id" else
        "$2" if c["column_name"] == "case_number" else
        "NULL" if c["nullable"] else c["column_name"]
        for c in columns
    )
    insert = f"INSERT INTO support_case ({names}) SELECT {values} FROM support_case WHERE id = $1::uuid"
    for n in range(20000):
        try:
            async with filler.transaction():  # a savepoint: the refused row is undone, the others stay
                await filler.execute(insert, template_case, f"FULL-{n:06d}")
        except asyncpg.DiskFullError:
            return n
    raise AssertionError("support_case never filled up: is it really in the small tablespace?")


@pytest.mark.slow
def test_full_disk_refuses_an_intake_clearly_and_keeps_everything_consistent(app, database_urls, pg_server,
                                                                             small_disk):
    from litestar.testing import AsyncTestClient

    session = open_session(database_urls, TENANT, ("staff", "coordinator"))
    superuser_url = with_database(pg_server.superuser_url, DATABASE)
    api_headers = {"X-CSRF-Token": session.csrf, "Accept": "application/json"}
    html_headers = {"Accept": "text/html"}
    earlier, refused, refused_form = (uuid.uuid4().hex[:10] for _ in range(3))

    async def drill():
        admin = await connect(superuser_url)
        filler = await connect(superuser_url)
        async with AsyncTestClient(app=app) as client:
            client.cookies.set("kyosei_session", session.raw)
            response = await client.post("/api/cases", json=intake(earlier), headers=api_headers)
            assert response.status_code == 201, response.text
            earlier_id = response.json()["id"]
            moved = False
            await admin.execute(f"CREATE TABLESPACE {TABLESPACE} LOCATION '{small_disk}'")
            try:
                await admin.execute(f"ALTER TABLE support_case SET TABLESPACE {TABLESPACE}")
                moved = True
                await admin.execute("VACUUM support_case")  # its free-space map exists before the disk is full
                fill(small_disk)
                transaction = filler.transaction()
                await transaction.start()
                try:
                    # The filler stands in for the disk filling up, not for a writer of cases: without triggers its
                    # rows mark no count summary (migration 0019y), whose mark the app's intake would otherwise wait
                    # for until the filler commits (writers of one municipality's count queue on its mark).
                    await filler.execute("SET LOCAL session_replication_role = replica")
                    await pack_pages(filler, earlier_id)
                    log_size = pg_server.log_file.stat().st_size

                    # The API: problem+json 503 that says what is wrong, and a hint to retry later.
                    response = await client.post("/api/cases", json=intake(refused), headers=api_headers)
                    assert response.status_code == 503, response.text
                    assert response.headers["content-type"].startswith("application/problem+json")
                    assert response.json()["title"] == DISK_FULL_TITLE
                    assert "Retry-After" in response.headers
                    # The browser's 相談受付 form: a Japanese page, not a 500 and not a half-saved case.
                    page = await client.post("/cases/", data=intake_form(refused_form, session.csrf),
                                             headers=html_headers, follow_redirects=False)
                    assert page.status_code == 503
                    assert page.headers["content-type"].startswith("text/html")
                    assert DISK_FULL_TITLE in page.text and "保存できませんでした" in page.text
                    # It was the disk, for real: PostgreSQL logged ENOSPC for both.
                    with pg_server.log_file.open("rb") as log:
                        log.seek(log_size)
                        assert log.read().decode("utf-8", "replace").count("No space left on device") >= 2

                    # Nothing of either request exists, although household and people (on the other disk) were
                    # written before the case was refused.
                    for token in (refused, refused_form):
                        counts = await rows_of(admin, token)
                        assert counts == dict.fromkeys(counts, 0), counts
                    # What was stored before still reads, in the API and in the browser.
                    shown = await client.get(f"/api/cases/{earlier_id}", headers=api_headers)
                    assert shown.status_code == 200 and shown.json()["summary"] == f"ディスク満杯の訓練 {earlier}"
                    shown_page = await client.get(f"/cases/{earlier_id}", headers=html_headers)
                    assert shown_page.status_code == 200 and f"容量 一郎{earlier}" in shown_page.text

                    # An operator frees space: the same requests go through, no restart of anything.
                    free(small_disk)
                    response = await client.post("/api/cases", json=intake(refused), headers=api_headers)
                    assert response.status_code == 201, response.text
                    page = await client.post("/cases/", data=intake_form(refused_form, session.csrf),
                                             headers=html_headers, follow_redirects=False)
                    assert page.status_code == 303, page.text
                    for token in (refused, refused_form):
                        assert await rows_of(admin, token) == {"household": 1, "person": 2,
                                                               "household_membership": 2, "support_case": 1}
                finally:
                    await transaction.rollback()
            finally:
                free(small_disk)
                if moved:
                    await admin.execute("ALTER TABLE support_case SET TABLESPACE pg_default")
                await admin.execute(f"DROP TABLESPACE {TABLESPACE}")
                await filler.close()
                await admin.close()

    asyncio.run(drill())

    async def tidy():
        conn = await connect(superuser_url)
        try:
            return (await conn.fetchval("SELECT reltablespace FROM pg_class WHERE oid = 'support_case'::regclass"),
                    await conn.fetchval("SELECT count(*) FROM pg_tablespace WHERE spcname = $1", TABLESPACE))
        finally:
            await conn.close()

    assert asyncio.run(tidy()) == (0, 0)  # back on the cluster's own disk, drill tablespace gone
    report = asyncio.run(verify_chain(database_urls.owner))
    assert not [b for b in report.breaks if b.tenant_id == TENANT], report.breaks


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.InsufficientResourcesError,  # 53000
    asyncpg.exceptions.DiskFullError,  # 53100
    asyncpg.exceptions.OutOfMemoryError,  # 53200
    asyncpg.exceptions.TooManyConnectionsError,  # 53300
    asyncpg.exceptions.ConfigurationLimitExceededError,  # 53400, e.g. temp_file_limit exceeded
])
@pytest.mark.parametrize("wrapped", [False, True], ids=["asyncpg", "sqlalchemy"])
def test_every_insufficient_resources_error_is_a_japanese_503(error, wrapped):
    """SQLSTATE class 53 means "the database cannot take this now", never a bug: 503 with Retry-After, not 500."""
    from litestar import Litestar, get
    from litestar.testing import TestClient
    from sqlalchemy.exc import DBAPIError

    from ui.errors import exception_handlers
    from ui.templating import template_config

    def fail():
        orig = error("the server's own words")
        # SQLAlchemy wraps what asyncpg raises; the handler must see the SQLSTATE through the wrapper too.
        raise DBAPIError("INSERT INTO support_case …", None, orig) if wrapped else orig

    @get("/api/save")
    async def api_save() -> None:
        fail()

    @get("/save")
    async def page_save() -> None:
        fail()

    app = Litestar(route_handlers=[api_save, page_save], template_config=template_config(),
                   exception_handlers=exception_handlers(), debug=False)
    with TestClient(app=app) as client:
        api = client.get("/api/save")
        page = client.get("/save", headers={"Accept": "text/html"})
    assert api.status_code == 503 and page.status_code == 503
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.headers["retry-after"] and page.headers["retry-after"]
    assert api.json()["title"].startswith("データベース") and "データベース" in page.text
    assert "the server's own words" not in api.text + page.text
