"""Grants JSON API: roles, field-level Japanese validation, closed years as 409, corrections, apportionment."""

from __future__ import annotations

import pytest

from tests.sessions import login, open_session

NAKATOSA = "394017"


@pytest.fixture()
def admin(client, database_urls):
    session = login(client, open_session(database_urls, NAKATOSA, ("staff", "tenant-admin")))
    client.headers["X-CSRF-Token"] = session.csrf
    return client


def make_year(client, fiscal_year: int) -> str:
    response = client.post("/api/grants/years", json={"fiscal_year": fiscal_year})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["label"] == f"令和{fiscal_year - 2018}年度（{fiscal_year}年度）"
    return body["id"]


def spending(amount, **extra):
    return {"business": "participation", "field": "disability", "category": "委託料", "amount": amount,
            "voucher_number": "2040-001", "voucher_date": "2040-06-30", "payee": "NPO法人くろしお",
            "description": "就労体験の委託", **extra}


def count_expenditures(client, year_id) -> int:
    return len(client.get(f"/api/grants/years/{year_id}/expenditures").json())


def test_bad_input_gets_field_level_japanese_messages_and_writes_nothing(admin):
    year_id = make_year(admin, 2040)
    url = f"/api/grants/years/{year_id}/expenditures"
    cases = [
        ({}, {"business", "category", "amount", "voucher_number", "voucher_date", "payee", "description"}),
        (spending(-5), {"amount"}),
        (spending(1.5), {"amount"}),
        (spending("12,000.5"), {"amount"}),
        (spending(True), {"amount"}),
        (spending(100, description="あ" * 10_000), {"description"}),
        (spending(100, business="bogus", field="pets"), {"business", "field"}),
        (spending(100, voucher_date="2041-04-01"), {"voucher_date"}),
        (spending(100, voucher_date="30/06/2040"), {"voucher_date"}),
        (spending(100, payee="a\x00b"), {"payee"}),
        (spending(100, payee=["list"]), {"payee"}),
    ]
    for body, fields in cases:
        response = admin.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["title"] == "入力内容に誤りがあります"
        assert {e["field"] for e in problem["errors"]} == fields, body
        assert all(e["message"] for e in problem["errors"])
    outside = admin.post(url, json=spending(100, voucher_date="2041-04-01")).json()["errors"][0]["message"]
    assert outside == "支出日は令和22年度（2040年度）の期間（2040年4月1日〜2041年3月31日）内にしてください。"
    long = admin.post(url, json=spending(100, description="あ" * 10_000)).json()["errors"][0]["message"]
    assert "500文字以内" in long

    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe", b'{"amount": 1e999999}'):
        response = admin.post(url, content=raw, headers={"content-type": "application/json"})
        assert response.status_code in (400, 422), raw
        assert response.json()["errors"]
    assert admin.post(url, content=b"{oops", headers={"content-type": "application/json"}).json()["errors"] == [
        {"field": "body", "message": "JSONの形式が正しくありません。"}
    ]
    assert count_expenditures(admin, year_id) == 0

    created = admin.post(url, json=spending("１２，０００"))  # full-width digits typed into a client: accepted
    assert created.status_code == 201 and created.json()["amount"] == 12_000
    assert count_expenditures(admin, year_id) == 1


def test_staff_read_only_coordinators_enter_admins_close(client, database_urls):
    staff = open_session(database_urls, NAKATOSA, ("staff",))
    coordinator = open_session(database_urls, NAKATOSA, ("staff", "coordinator"))
    admin = open_session(database_urls, NAKATOSA, ("tenant-admin",))

    login(client, admin)
    year_id = client.post("/api/grants/years", json={"fiscal_year": 2041}, headers={"X-CSRF-Token": admin.csrf}).json()["id"]

    login(client, staff)
    assert client.get(f"/api/grants/years/{year_id}").status_code == 200
    refused = client.post(f"/api/grants/years/{year_id}/expenditures", json=spending(1, voucher_date="2041-05-01"),
                          headers={"X-CSRF-Token": staff.csrf})
    assert refused.status_code == 403
    assert "コーディネーターまたは団体管理者" in refused.json()["detail"]

    login(client, coordinator)
    ok = client.post(f"/api/grants/years/{year_id}/expenditures", json=spending(1, voucher_date="2041-05-01"),
                     headers={"X-CSRF-Token": coordinator.csrf})
    assert ok.status_code == 201
    assert client.post(f"/api/grants/years/{year_id}/close", headers={"X-CSRF-Token": coordinator.csrf}).status_code == 403


def test_closed_year_answers_409_in_japanese(admin):
    year_id = make_year(admin, 2042)
    entry = admin.post(f"/api/grants/years/{year_id}/expenditures", json=spending(5_000, voucher_date="2042-05-01")).json()
    closed = admin.post(f"/api/grants/years/{year_id}/close")
    assert closed.status_code == 200 and closed.json()["status_label"] == "締め済み"

    refused = admin.post(f"/api/grants/years/{year_id}/expenditures", json=spending(1, voucher_date="2042-05-01"))
    assert refused.status_code == 409
    assert refused.json()["title"] == "締め済みの年度は変更できません"
    assert "令和24年度（2042年度）は締め済みのため、登録・訂正・取消はできません" in refused.json()["detail"]
    correction = admin.post(f"/api/grants/expenditures/{entry['id']}/corrections",
                            json={**spending(6_000, voucher_date="2042-05-01"), "reason": "誤記"})
    assert correction.status_code == 409
    assert admin.patch(f"/api/grants/years/{year_id}", json={"apportionment_rule": "caseload"}).status_code == 409
    assert count_expenditures(admin, year_id) == 1

    assert admin.post(f"/api/grants/years/{year_id}/reopen", json={}).status_code == 422
    assert admin.post(f"/api/grants/years/{year_id}/reopen", json={"reason": "補正"}).json()["status"] == "open"


def test_correction_through_the_api_shows_as_a_reversing_entry(admin):
    year_id = make_year(admin, 2043)
    entry = admin.post(f"/api/grants/years/{year_id}/expenditures", json=spending(8_000, voucher_date="2043-05-01")).json()
    missing_reason = admin.post(f"/api/grants/expenditures/{entry['id']}/corrections", json=spending(9_000, voucher_date="2043-05-01"))
    assert missing_reason.status_code == 422
    assert [e["field"] for e in missing_reason.json()["errors"]] == ["reason"]

    done = admin.post(f"/api/grants/expenditures/{entry['id']}/corrections",
                      json={**spending(9_000, voucher_date="2043-05-01"), "reason": "単価の誤り"})
    assert done.status_code == 201
    assert done.json()["reversal"]["amount"] == -8_000
    assert done.json()["reversal"]["reverses_id"] == entry["id"]
    assert done.json()["corrected"]["corrects_id"] == entry["id"]
    listed = admin.get(f"/api/grants/years/{year_id}/expenditures").json()
    assert [(e["amount"], e["status"]) for e in listed] == [(8_000, "訂正済み"), (-8_000, "取消行"), (9_000, "訂正後")]
    assert admin.get(f"/api/grants/years/{year_id}").json()["totals"]["expenditure"] == 9_000
    again = admin.post(f"/api/grants/expenditures/{entry['id']}/reversal", json={"reason": "二重"})
    assert again.status_code == 409


def test_apportionment_explains_each_share(admin):
    year_id = make_year(admin, 2044)
    admin.post(f"/api/grants/years/{year_id}/expenditures",
               json=spending(1_000_001, business="multi_agency", field=None, voucher_date="2044-04-30"))
    for field in ("elderly", "disability", "poverty"):
        r = admin.post(f"/api/grants/years/{year_id}/time-entries",
                       json={"staff_label": "推進員D", "period_month": "2044-04", "business": "multi_agency",
                             "field": field, "minutes": 40})
        assert r.status_code == 201, r.text
    body = admin.get(f"/api/grants/years/{year_id}/apportionment").json()
    multi = next(b for b in body["businesses"] if b["business"] == "multi_agency")
    shares = {f["field"]: f for f in multi["fields"]}
    assert [shares[f]["apportioned_yen"] for f in ("elderly", "disability", "poverty")] == [333_334, 333_334, 333_333]
    assert shares["elderly"]["share"] == "33.33%" and shares["elderly"]["weight"] == 40
    assert shares["elderly"]["entries"][0]["description"] == "推進員D 2044年04月 40分"
    assert body["total_yen"] == 1_000_001
    for share in body["cost_shares"]:
        assert sum(share["parts"].values()) == share["total_yen"]


def test_unknown_year_is_404_in_japanese(admin):
    response = admin.get("/api/grants/years/not-a-uuid")
    assert response.status_code == 404 and response.json()["detail"] == "指定された年度は見つかりません。"
    assert admin.post("/api/grants/expenditures/00000000-0000-0000-0000-000000000000/reversal",
                      json={"reason": "x"}).status_code == 404
