"""The case JSON API over HTTP: intake, bad input writes nothing, break-the-glass, consent, CSV, prefecture wall."""

from __future__ import annotations

import csv
import io

import pytest

from tests.cases_support import intake_body
from tests.sessions import login, open_session

TENANT = "394017"
TABLES = ("support_case", "person", "household", "household_membership", "consent", "assessment", "agency")


def counts(pg_server) -> dict[str, int]:
    from infra.database.provision import DATABASE, with_user
    from tests.db import fetch

    url = with_user(pg_server.superuser_url, "postgres", database=DATABASE)
    return {t: fetch(url, f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in TABLES}


@pytest.fixture()
def staff(client, database_urls):
    session = login(client, open_session(database_urls, TENANT, ("staff",)))
    client.headers["X-CSRF-Token"] = session.csrf
    return session


def test_intake_creates_a_case_that_its_receiver_sees(client, staff):
    response = client.post("/api/cases", json=intake_body())
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "intake" and case["status_label"] == "受付"
    body = client.get(f"/api/cases/{case['id']}").json()
    assert [m["name"] for m in body["members"]] == ["山田 太郎", "山田 ハナ"]
    assert body["members"][1]["relationship"] == "母"
    assert body["summary"].endswith("🙏")  # free text keeps emoji
    assert {"to_status": "assessment", "label": "アセスメントへ進む", "needs_reason": False} in body["next_steps"]


BAD_INPUTS = [
    ("missing name", lambda b: b["members"][0].pop("name"), "members[0].name", "氏名を入力してください。"),
    ("future birth date", lambda b: b["members"][0].update(birth_date="2999-01-01"), "members[0].birth_date",
     "生年月日に未来の日付は入力できません。"),
    ("kanji in kana", lambda b: b["members"][0].update(kana="山田 たろう"), "members[0].kana",
     "ふりがなに漢字は使えません。ひらがなかカタカナで入力してください。"),
    ("10,000 characters", lambda b: b.update(summary="あ" * 10_000), "summary",
     "相談内容は4,000文字以内で入力してください（現在10,000文字）。"),
    ("emoji in a name", lambda b: b["members"][1].update(name="山田 ハナ😀"), "members[1].name", "氏名に絵文字は使えません。"),
    ("missing received date", lambda b: b.pop("received_on"), "received_on", "受付日を入力してください。"),
    ("unknown route", lambda b: b.update(route="fax"), "route", None),
    ("relation missing for a visitor", lambda b: b.update(visitor_name="佐藤 一"), "visitor_relation", None),
]


@pytest.mark.parametrize("label, spoil, field, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_intake_input_gets_japanese_field_messages_and_writes_nothing(client, staff, pg_server, label, spoil, field, message):
    body = intake_body()
    spoil(body)
    before = counts(pg_server)
    response = client.post("/api/cases", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert any(e["field"] == field and (message is None or e["message"] == message) for e in errors), errors
    assert counts(pg_server) == before


def test_malformed_json_is_a_400_in_japanese(client, staff, pg_server):
    before = counts(pg_server)
    response = client.post("/api/cases", content=b'{"received_on": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "body", "message": "JSONの形式が正しくありません。"}]
    assert client.post("/api/cases", json=[1, 2]).status_code == 400
    assert counts(pg_server) == before


def test_workflow_guard_over_http(client, staff):
    case_id = client.post("/api/cases", json=intake_body()).json()["id"]
    assert client.post(f"/api/cases/{case_id}/transitions", json={"to_status": "assessment"}).status_code == 200
    refused = client.post(f"/api/cases/{case_id}/transitions", json={"to_status": "planning"})
    assert refused.status_code == 409
    assert "アセスメントが記録されていない" in refused.json()["detail"]
    no_reason = client.post(f"/api/cases/{case_id}/transitions", json={"to_status": "suspended"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["message"] == "中断の理由を入力してください。"
    assert client.post(f"/api/cases/{case_id}/plans", json={"goals": "目標"}).status_code == 409


def _planned(client, **intake) -> str:
    case_id = client.post("/api/cases", json=intake_body(**intake)).json()["id"]
    person = client.get(f"/api/cases/{case_id}").json()["person_id"]
    assert client.post(f"/api/cases/{case_id}/assessments", json={
        "assessed_on": "2026-04-02", "items": [{"person_id": person, "field": "elderly", "problem": "介護"}]}
    ).status_code == 201
    assert client.post(f"/api/cases/{case_id}/plans", json={"goals": "生活の安定"}).status_code == 201
    return case_id


def test_support_decision_is_the_municipality_s_and_a_multi_agency_plan_is_agreed_at_the_meeting(client, staff):
    case_id = _planned(client)
    refused = client.post(f"/api/cases/{case_id}/plan-agreement", json={"decide": True})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert "支援決定は市町村が行います" in refused.json()["detail"]
    assert client.get(f"/api/cases/{case_id}").json()["plans"][0]["agreed_on"] is None  # nothing half-written
    early = client.post(f"/api/cases/{case_id}/transitions", json={"to_status": "decided"})
    assert early.status_code == 403 and "団体管理者" in early.json()["detail"]
    agreed = client.post(f"/api/cases/{case_id}/plan-agreement", json={"note": "本人・関係機関との面談で合意"})
    assert agreed.status_code == 200 and agreed.json()["agreed_on"]
    again = client.post(f"/api/cases/{case_id}/plan-agreement", json={})
    assert again.status_code == 409 and "すでに合意されています" in again.json()["detail"]
    assert client.post(f"/api/cases/{case_id}/transitions", json={"to_status": "decided"}).status_code == 403
    assert client.get(f"/api/cases/{case_id}").json()["status"] == "planning"

    multi = _planned(client, lead_business="multi_agency")
    at_meeting = client.post(f"/api/cases/{multi}/plan-agreement", json={})
    assert at_meeting.status_code == 409 and "重層的支援会議で合意します" in at_meeting.json()["detail"]


def test_sharing_outside_consent_is_refused_with_the_reason(client, database_urls, staff):
    case_id = client.post("/api/cases", json=intake_body()).json()["id"]
    admin = login(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    client.headers["X-CSRF-Token"] = admin.csrf
    inside = client.post("/api/agencies", json={"name": "地域包括支援センター"}).json()["id"]
    outside = client.post("/api/agencies", json={"name": "子育て世代包括支援センター"}).json()["id"]
    assert client.post(f"/api/cases/{case_id}/consents", json={
        "given_on": "2025-04-01", "purpose": "支援方針の検討", "agency_ids": [inside]}).status_code == 201
    refused = client.post(f"/api/cases/{case_id}/agencies", json={"agency_id": outside})
    assert refused.status_code == 409
    assert "「子育て世代包括支援センター」が含まれていません" in refused.json()["detail"]
    check = client.get(f"/api/cases/{case_id}/sharing", params={"meeting_kind": "multilayer_meeting"}).json()
    assert check["allowed"] is False and "重層的支援会議" in check["reason_ja"]
    assert client.post(f"/api/cases/{case_id}/agencies", json={"agency_id": inside}).status_code == 201


def test_break_the_glass_needs_a_reason_is_audited_and_listed_for_the_admin(client, database_urls, pg_server, staff):
    case_id = client.post("/api/cases", json=intake_body()).json()["id"]
    outsider = login(client, open_session(database_urls, TENANT, ("staff",)))
    client.headers["X-CSRF-Token"] = outsider.csrf
    refused = client.get(f"/api/cases/{case_id}")
    assert refused.status_code == 403 and refused.json()["type"] == "urn:kyosei:problem:break-glass-required"
    assert client.get("/api/cases", params={"q": "山田"}).json()["items"] == [] or all(
        i["id"] != case_id for i in client.get("/api/cases", params={"q": "山田"}).json()["items"])
    empty = client.post(f"/api/cases/{case_id}/access", json={"reason": ""})
    assert empty.status_code == 422 and empty.json()["errors"][0]["message"] == "閲覧の理由を入力してください。"
    assert client.post(f"/api/cases/{case_id}/access", json={"reason": "休日の緊急対応"}).status_code == 201
    assert client.get(f"/api/cases/{case_id}").status_code == 200

    from infra.database.provision import DATABASE, with_user
    from tests.db import fetch

    events = fetch(with_user(pg_server.superuser_url, "postgres", database=DATABASE),
                   "SELECT reason FROM audit_event WHERE action = 'break_glass' AND object_id = $1 AND actor_sub = $2",
                   case_id, outsider.sub)
    assert [e["reason"] for e in events] == ["休日の緊急対応"]
    assert client.get("/api/cases/access-grants").status_code == 403
    admin = login(client, open_session(database_urls, TENANT, ("tenant-admin",)))
    client.headers["X-CSRF-Token"] = admin.csrf
    listed = client.get("/api/cases/access-grants").json()
    assert any(g["case_id"] == case_id and g["reason"] == "休日の緊急対応" and g["user_sub"] == outsider.sub for g in listed)
    page = client.get("/cases/access-log")
    assert page.status_code == 200 and "休日の緊急対応" in page.text


def test_case_list_csv_reads_back_with_japanese_text(client, database_urls, pg_server):
    session = login(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    client.headers["X-CSRF-Token"] = session.csrf
    client.post("/api/cases", json=intake_body(tags=["CSV確認"]))
    for url in ("/api/cases/export.csv?tag=CSV確認", "/cases/export.csv?tag=CSV確認"):
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows and rows[0]["本人氏名"] == "山田 太郎" and rows[0]["ふりがな"] == "やまだ たろう"
        assert rows[0]["分野"] == "高齢・生活困窮" and rows[0]["状態"] == "受付" and "生年月日" in rows[0]
    staff = login(client, open_session(database_urls, TENANT, ("staff",)))
    client.headers["X-CSRF-Token"] = staff.csrf
    header = client.get("/api/cases/export.csv").content.decode("utf-8-sig").splitlines()[0]
    assert "生年月日" not in header and "本人氏名" in header
    from infra.database.provision import DATABASE, with_user
    from tests.db import fetch

    exports = fetch(with_user(pg_server.superuser_url, "postgres", database=DATABASE),
                    "SELECT count(*) AS n FROM audit_event WHERE action = 'export' AND actor_sub = $1", session.sub)
    assert exports[0]["n"] == 2


def test_prefecture_users_never_see_cases(client, database_urls):
    session = login(client, open_session(database_urls, "390003", ("prefecture-admin", "coordinator", "staff")))
    client.headers["X-CSRF-Token"] = session.csrf
    assert client.get("/api/cases").status_code == 403
    assert client.get("/cases", headers={"accept": "text/html"}).status_code == 403
    assert client.post("/api/cases", json=intake_body()).status_code == 403


def test_counts_api_answers_every_month(client, staff):
    body = client.get("/api/cases/counts", params={"fiscal_year": 2025}).json()
    assert body["label"] == "令和7年度（2025年度）" and len(body["months"]) == 12
    assert set(body["months"][0]["by_field"]["all"]) == {"new", "plans", "closed"}


def test_the_household_list_is_an_audited_read(client, database_urls, pg_server):
    """The household list shows labels and addresses (personal data): like the case list, each read of it — page or
    API — is one READ entry on the audit trail."""
    session = login(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    client.headers["X-CSRF-Token"] = session.csrf
    client.post("/api/cases", json=intake_body())
    assert client.get("/api/households").status_code == 200
    assert client.get("/households/", headers={"accept": "text/html"}).status_code == 200
    from infra.database.provision import DATABASE, with_user
    from tests.db import fetch

    reads = fetch(with_user(pg_server.superuser_url, "postgres", database=DATABASE),
                  "SELECT count(*) AS n FROM audit_event WHERE action = 'read' AND object_type = 'household_list' "
                  "AND actor_sub = $1", session.sub)
    assert reads[0]["n"] == 2


def test_a_page_size_no_integer_reader_takes_is_ignored_not_a_server_error(client, staff):
    """``limit=²`` passed str.isdigit() and then failed int(), as did 5,000 digits: each a 500 for the API client."""
    plain = client.get("/api/cases")
    assert plain.status_code == 200
    for limit in ("²", "9" * 5_000, "-1", "abc"):
        answer = client.get("/api/cases", params={"limit": limit})
        assert answer.status_code == 200 and answer.json()["items"] == plain.json()["items"], limit
