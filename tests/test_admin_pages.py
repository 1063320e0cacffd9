"""The tenant admin's break-glass review queue and the audit viewer (issue #16), through the pages."""

from __future__ import annotations

import pytest

from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)
from tests.cases_support import intake_body
from tests.conftest import run, saved_as
from tests.db import owner_fetch
from tests.sessions import as_user, list_in_directory, open_session

TENANT = "394017"


@pytest.fixture()
def opened_case(client, database_urls):
    """A case of a coordinator that 中村 健, outside the team, opened by breaking the glass."""
    as_user(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    case = client.post("/api/cases", json=intake_body(members=[
        {"name": "監査 対象子", "kana": "かんさ たいしょうこ", "birth_date": "1960-01-01"}])).json()
    outsider = as_user(client, open_session(database_urls, TENANT, ("staff",), display_name="中村 健"))
    list_in_directory(database_urls, outsider, "中村 健", "なかむら けん")
    assert client.post(f"/api/cases/{case['id']}/access", json={"reason": "夜間の緊急連絡に対応するため"}).status_code == 201
    assert client.get(f"/api/cases/{case['id']}").status_code == 200
    return case, outsider


def test_break_glass_openings_wait_in_the_admins_queue_until_reviewed(client, database_urls, opened_case):
    case, outsider = opened_case
    as_user(client, outsider)
    assert client.get("/admin/break-glass").status_code == 403  # staff do not review

    admin = as_user(client, open_session(database_urls, TENANT, ("staff", "tenant-admin")))
    # the admin's home (issue 19's cards) lists the opening waiting for review, with the way to the queue
    waiting = client.get("/").text.split('id="today-break-glass"')[1].split("</article>")[0]
    assert "確認を待っている緊急閲覧" in waiting and case["case_number"] in waiting
    assert 'href="/admin/break-glass"' in waiting
    page = client.get("/admin/break-glass").text
    assert case["case_number"] in page and "夜間の緊急連絡に対応するため" in page
    grant_id = page.split('id="grant-')[1].split('"')[0]

    no_note = client.post(f"/admin/break-glass/{grant_id}/review", data={"csrf_token": admin.csrf,
                                                                        "verdict": "needs_check"})
    assert no_note.status_code == 422 and "要確認とする理由" in no_note.text
    flagged = client.post(f"/admin/break-glass/{grant_id}/review", follow_redirects=False, data={
        "csrf_token": admin.csrf, "verdict": "needs_check", "note": "上長に経緯を確認する"})
    assert flagged.status_code == 303
    assert f'id="grant-{grant_id}" data-open="yes"' in client.get("/admin/break-glass").text  # still waiting
    settled = client.post(f"/admin/break-glass/{grant_id}/review", follow_redirects=False, data={
        "csrf_token": admin.csrf, "verdict": "appropriate", "note": "上長が確認済み"})
    assert settled.status_code == 303
    assert f'id="grant-{grant_id}"' not in client.get("/admin/break-glass").text
    history = client.get("/admin/break-glass?all=1").text
    assert f'id="grant-{grant_id}" data-open="no"' in history and "妥当" in history
    assert client.post(f"/admin/break-glass/{grant_id}/review", data={"verdict": "appropriate"},
                       headers={"X-CSRF-Token": "wrong"}).status_code == 403  # CSRF


def test_an_admin_does_not_review_their_own_opening(client, database_urls):
    as_user(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    case = client.post("/api/cases", json=intake_body()).json()
    admin = as_user(client, open_session(database_urls, TENANT, ("staff", "tenant-admin")))
    assert client.post(f"/api/cases/{case['id']}/access", json={"reason": "確認のため"}).status_code == 201
    page = client.get("/admin/break-glass").text
    grant_id = page.split('id="grant-')[-1].split('"')[0]
    refused = client.post(f"/admin/break-glass/{grant_id}/review", data={"csrf_token": admin.csrf,
                                                                        "verdict": "appropriate"})
    assert refused.status_code == 403 and "ほかの団体管理者が確認します" in refused.text


def test_the_auditor_finds_who_read_a_persons_record_in_one_search(client, database_urls, opened_case):
    case, outsider = opened_case
    as_user(client, outsider)
    assert client.get("/admin/audit").status_code == 403  # staff do not read the trail

    auditor = as_user(client, open_session(database_urls, TENANT, ("auditor",)))
    page = client.get("/admin/audit", params={"person": "たいしょうこ"})
    assert page.status_code == 200
    text = page.text
    assert "監査 対象子" in text  # whom the search covers
    assert "中村 健" in text and "緊急閲覧" in text and case["case_number"] in text
    only_breaks = client.get("/admin/audit", params={"person": "対象子", "action": "break_glass"}).text
    assert "夜間の緊急連絡に対応するため" in only_breaks
    export = client.get("/admin/audit/export.csv", params={"person": "対象子", "staff": "中村"})
    assert export.headers["content-type"] == "text/csv; charset=utf-8" and saved_as(export).startswith("監査ログ_")
    csv_text = export.content.decode("utf-8-sig")
    lines = csv_text.splitlines()
    assert lines[0] == "番号,日時,職員,職員ID,操作,対象の種類,対象,理由・内容"
    assert any("中村 健" in line and "緊急閲覧" in line for line in lines[1:])
    assert all(",中村 健," in line for line in lines[1:])  # the staff filter holds
    # the file that left is on the trail as an export (as the case list's CSV is), the searches as reads
    trail = run(owner_fetch(database_urls.owner, TENANT, "SELECT action, reason FROM audit_event WHERE tenant_id = $1 "
                            "AND actor_sub = $2 AND object_type = 'audit_event' ORDER BY seq", TENANT, auditor.sub))
    assert [r["action"] for r in trail] == ["read", "read", "export"]
    assert trail[-1]["reason"] == f"csv filters=person,staff rows={len(lines) - 1}"
    verified = client.get("/admin/audit", params={"verify": "1"}).text
    assert "改ざんは見つかりませんでした" in verified
    bad = client.get("/admin/audit", params={"since": "2026-13-01", "action": "steal"})
    assert bad.status_code == 422 and "日付は 2026-04-01 の形" in bad.text
    # real ISO days the search cannot turn into Tokyo midnights (year 1 in UTC, the day after 9999-12-31): refused
    # with the same kind of message, where both pages and the CSV used to fail with a server error
    for since, until in (("0001-01-01", ""), ("", "9999-12-31")):
        for path in ("/admin/audit", "/admin/audit/export.csv"):
            edge = client.get(path, params={"since": since, "until": until}, headers={"accept": "text/html"})
            assert edge.status_code == 422 and "日付は2000年から2100年までで入力してください" in edge.text, path


def test_another_municipalitys_auditor_sees_none_of_it(client, database_urls, opened_case):
    as_user(client, open_session(database_urls, "392049", ("auditor",)))
    text = client.get("/admin/audit", params={"person": "対象子"}).text
    assert "中村 健" not in text and "当てはまる記録はありません" in text


def test_plugin_roles_can_be_given_only_where_the_plugin_is_enabled(kyosei_plugin_app):
    from plugins import nakatosa

    plugin_app = kyosei_plugin_app(nakatosa, TENANT)
    with plugin_app.client(roles=("staff", "tenant-admin")) as client:
        roles = {r["code"]: r for r in client.get("/api/admin/roles").json()}
        assert roles["coordinator_a"]["label"] == "包括化推進員A" and roles["coordinator_a"]["base_role"] == "coordinator"
        assert roles["tenant-admin"]["label"] == "団体管理者"
    with plugin_app.client(roles=("staff", "tenant-admin"), tenant_id="392049") as other:
        assert "coordinator_a" not in {r["code"] for r in other.get("/api/admin/roles").json()}
    with plugin_app.client(roles=("staff",)) as staff_only:
        assert staff_only.get("/api/admin/roles").status_code == 403


def test_the_residents_an_auditor_looks_up_are_audited_reads(client, database_urls, opened_case, pg_server):
    """The person search shows the auditor the residents it matched (氏名): each is a READ of that person on the
    trail, by id, so the report of who saw a resident's data includes who looked them up here."""
    from infra.database.provision import DATABASE, with_user
    from tests.db import fetch

    auditor = as_user(client, open_session(database_urls, TENANT, ("auditor",)))
    assert "監査 対象子" in client.get("/admin/audit", params={"person": "たいしょうこ"}).text
    superuser = with_user(pg_server.superuser_url, "postgres", database=DATABASE)
    matched = {str(r["id"]) for r in fetch(
        superuser, "SELECT id FROM person WHERE tenant_id = $1 AND kana LIKE '%たいしょうこ%'", TENANT)}
    reads = fetch(superuser, "SELECT object_id, reason FROM audit_event WHERE action = 'read' "
                             "AND object_type = 'person' AND actor_sub = $1", auditor.sub)
    assert matched and {r["object_id"] for r in reads} == matched
    assert {r["reason"] for r in reads} == {"audit viewer person search"}
