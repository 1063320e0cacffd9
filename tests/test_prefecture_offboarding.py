"""Offboarding: a complete export of one tenant, import into an empty database with identical row counts, then
deletion with a receipt — all found generically from pg_catalog, run as the owner role."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.conftest import run
from tests.db import fetch
from tests.isolation import _grant_unit_of_work

CODE = "393070"  # 芸西村
IMPORT_DB = "kyosei_import"


def _onboard(urls, code):
    from tenants.lifecycle import prefecture_unit_of_work
    from tenants.onboarding import register_tenant

    async def go():
        async with prefecture_unit_of_work(urls.app, "offboarding-test") as session:
            return await register_tenant(session, code)

    return run(go())


def _make_tenant_data(urls, code):
    """Rows in several tenant tables: grant year and ledgers, audit trail, survey delivery and answers."""
    from core.audit.trail import AuditAction, record
    from core.grants import service as grants
    from core.prefecture import service as prefecture
    from tenants.lifecycle import prefecture_unit_of_work

    async def grant_rows(session):
        year = await grants.create_year(session, {"fiscal_year": 2032})
        for n in range(3):
            await grants.add_entry(session, grants.LEDGERS["expenditure"], year.id, {
                "business": "community", "field": "child", "category": "委託料", "amount": 1000 * (n + 1),
                "voucher_number": f"G-{n}", "voucher_date": "2032-05-01", "payee": "芸西村社会福祉協議会",
                "description": "居場所づくり"})
        await grants.add_entry(session, grants.LEDGERS["caseload"], year.id, {
            "period_month": "2032-06", "business": "outreach", "field": "poverty", "count": 8})
        await record(session, AuditAction.CREATE, "grant_fiscal_year", str(year.id))

    _grant_unit_of_work(urls, code, grant_rows)

    async def survey():
        async with prefecture_unit_of_work(urls.app, "offboarding-test") as session:
            s = await prefecture.create_survey(session, {"title": "書き出しテスト", "fiscal_year": "2032"}, "t")
            await prefecture.add_question(session, s, {"kind": "text", "label": "取組"})
            await prefecture.add_question(session, s, {"kind": "choice", "label": "段階", "choices": "検討中\n実施"})
            await prefecture.send_survey(session, s, [code])
            return s.id, [q.id for q in await prefecture.questions(session, s.id)]

    survey_id, question_ids = run(survey())

    async def answer(session):
        await prefecture.save_answers(session, str(survey_id), {f"q-{question_ids[0]}": "サロン「ほっと」", f"q-{question_ids[1]}": "実施"},
                                      "t", submit=True)

    _grant_unit_of_work(urls, code, answer)


@pytest.fixture(scope="module")
def import_urls(pg_server, database_urls):
    """A second, empty database on the same server, migrated to the same revision (as the superuser sets up)."""
    from core import migrate
    from tests.db import empty_database

    urls = empty_database(pg_server.superuser_url, database_urls.owner, database_urls.app, IMPORT_DB)
    migrate.upgrade(urls)
    return urls


def test_export_then_import_into_an_empty_database_gives_identical_row_counts(database_urls, import_urls, tmp_path):
    from tenants.offboarding import (
        ArchiveError, delete_tenant_rows, export_tenant, import_archive, receipt_path, tenant_row_counts,
    )

    assert _onboard(database_urls, CODE) in ("created", "already")
    _make_tenant_data(database_urls, CODE)
    source = run(tenant_row_counts(database_urls.owner, CODE))
    populated = {t for t, n in source.items() if n}
    assert {"grant_fiscal_year", "grant_expenditure", "grant_caseload_count", "audit_event",
            "survey_recipient", "survey_answer"} <= populated

    exported = run(export_tenant(database_urls.owner, CODE, tmp_path / "geisei.zip"))
    print(f"\nexport of {sum(source.values())} rows took {exported.seconds:.3f}s")
    with zipfile.ZipFile(exported.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["format"] == "kyosei-tenant-archive" and manifest["tenant_id"] == CODE
        assert manifest["schema_revision"] == fetch(database_urls.owner, "SELECT version_num FROM alembic_version")[0][0]
        assert {t["name"]: t["rows"] for t in manifest["tables"]} == source
        first = json.loads(archive.read("tables/survey_answer.jsonl").decode().splitlines()[0])
        assert first["tenant_id"] == CODE
    # Only this tenant's rows: every line of every file names it.
    with zipfile.ZipFile(exported.path) as archive:
        for entry in manifest["tables"]:
            for line in archive.read(entry["file"]).decode().splitlines():
                assert json.loads(line)["tenant_id"] == CODE

    imported = run(import_archive(import_urls.owner, exported.path))
    assert imported == source
    assert fetch(import_urls.owner, "SELECT status FROM tenant WHERE tenant_id = $1", CODE)[0]["status"] == "active"
    # The audit chain came over with its recorded hashes (user triggers are off during the import).
    chain = "SELECT seq, hash FROM audit_event WHERE tenant_id = $1 ORDER BY seq"
    original = [tuple(r) for r in fetch(database_urls.owner.replace("kyosei_owner", "postgres"), chain, CODE)]
    assert original and [tuple(r) for r in fetch(import_urls.owner.replace("kyosei_owner", "postgres"), chain, CODE)] == original
    with pytest.raises(ArchiveError) as again:  # a second import finds the tenant's rows already there
        run(import_archive(import_urls.owner, exported.path))
    assert "既にあります" in str(again.value)

    receipt = run(delete_tenant_rows(database_urls.owner, CODE, exported.path))
    assert receipt.deleted_rows == source and receipt.archive_sha256 == exported.sha256
    assert set(run(tenant_row_counts(database_urls.owner, CODE)).values()) == {0}
    assert fetch(database_urls.owner, "SELECT status FROM tenant WHERE tenant_id = $1", CODE)[0]["status"] == "offboarded"
    receipt_path(exported.path).write_text(receipt.to_json(), encoding="utf-8")
    assert json.loads(receipt_path(exported.path).read_text())["total_rows"] == sum(source.values())


def test_tenant_tables_are_discovered_from_pg_catalog(database_urls):
    from infra.database.provision import connect
    from tenants.offboarding import GLOBAL_TABLES, TRANSIENT_TABLES, tenant_tables

    async def go():
        conn = await connect(database_urls.owner)
        try:
            return await tenant_tables(conn)
        finally:
            await conn.close()

    tables = run(go())
    with_tenant = {r["table_name"] for r in fetch(
        database_urls.owner,
        "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'tenant_id'")}
    assert set(tables) == with_tenant - GLOBAL_TABLES - TRANSIENT_TABLES
    assert tables.index("grant_fiscal_year") < tables.index("grant_expenditure")  # parents first
    assert tables.index("survey_recipient") < tables.index("survey_answer")


def test_a_damaged_archive_is_refused(tmp_path):
    from tenants.offboarding import ArchiveError, read_archive

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("manifest.json", json.dumps({
            "format": "kyosei-tenant-archive", "format_version": 1, "tenant_id": CODE, "tenant_name": "芸西村",
            "tenant_status": "active", "schema_revision": "x", "exported_at": "now",
            "tables": [{"name": "survey_answer", "file": "tables/survey_answer.jsonl", "columns": [], "rows": 1,
                        "sha256": "0" * 64}]}))
        archive.writestr("tables/survey_answer.jsonl", '{"tenant_id": "393070"}\n')
    with pytest.raises(ArchiveError):
        read_archive(bad)
