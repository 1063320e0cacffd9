"""Consent is read where case data is read (issue #16): an agency sees a shared case only while a consent in force
names it, and only the items that consent allows — on the page, in the JSON API and in the CSV alike."""

from __future__ import annotations

import datetime as dt

import pytest

from core.wareki import today
from tests.cases_support import intake_body
from tests.db import fetch
from tests.sessions import as_user, open_session

TENANT = "394017"


@pytest.fixture()
def shared_case(client, database_urls):
    """A case recorded by a coordinator and shared with 地域包括支援センター, where 中村 健 works, under a consent
    that allows 基本情報 and プラン only. Returns (case id, consent id, the agency worker's session)."""
    worker = open_session(database_urls, TENANT, ("staff",), display_name="中村 健")
    as_user(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    case_id = client.post("/api/cases", json=intake_body()).json()["id"]
    agency = client.post("/api/agencies", json={"name": "地域包括支援センター"}).json()["id"]
    assert client.post(f"/api/agencies/{agency}/staff", json={"user_sub": worker.sub, "display_name": "中村 健"}
                       ).status_code == 201
    consent = client.post(f"/api/cases/{case_id}/consents", json={
        "given_on": (today() - dt.timedelta(days=10)).isoformat(), "purposes": ["information_sharing"],
        "agency_ids": [agency], "items": ["plan"]})
    assert consent.status_code == 201, consent.text
    assert consent.json()["items"] == ["basic", "plan"]  # 基本情報 is part of every consent
    assert client.post(f"/api/cases/{case_id}/agencies", json={"agency_id": agency}).status_code == 201
    assert client.post(f"/api/cases/{case_id}/records", json={
        "recorded_on": today().isoformat(), "kind": "visit", "body": "自宅を訪問し母の様子を確認"}).status_code == 201
    return case_id, consent.json()["id"], worker


def sees(client, case_id: str) -> dict[str, bool]:
    """Whether the case reaches the user through the page, the API document, the list and the CSV."""
    csv_text = client.get("/api/cases/export.csv").content.decode("utf-8-sig")
    listed = [i for i in client.get("/api/cases").json()["items"] if i["id"] == case_id]
    return {
        "api": client.get(f"/api/cases/{case_id}").status_code == 200,
        "page": client.get(f"/cases/{case_id}").status_code == 200,
        "list": bool(listed),
        "csv": f"\r\n{CASE_NUMBERS[case_id]}," in csv_text,
    }


CASE_NUMBERS: dict[str, str] = {}


def remember_number(database_urls, case_id: str) -> None:
    CASE_NUMBERS[case_id] = fetch(database_urls.owner, "SELECT case_number FROM support_case WHERE id = $1::uuid",
                                  case_id, tenant=TENANT)[0]["case_number"]


def test_the_agency_reads_only_the_items_its_consent_allows(client, database_urls, shared_case):
    case_id, _, worker = shared_case
    remember_number(database_urls, case_id)
    as_user(client, worker)
    assert sees(client, case_id) == {"api": True, "page": True, "list": True, "csv": True}
    body = client.get(f"/api/cases/{case_id}").json()
    assert body["members"][0]["name"] == "山田 太郎"  # 基本情報
    assert "summary" not in body and "problems" not in body  # 相談内容 is outside the consent
    assert body["records"] == [] and body["assessments"] == []
    assert body["hidden_items"] == ["consultation", "assessment", "records"]
    page = client.get(f"/cases/{case_id}").text
    assert "母の介護と本人のひきこもり" not in page and "自宅を訪問し" not in page
    assert "本人の同意の範囲外のため、次の情報は表示しません: 相談内容、アセスメント、支援経過記録・評価" in page


def test_a_revoked_consent_ends_the_agency_access_at_once(client, database_urls, shared_case):
    case_id, consent_id, worker = shared_case
    remember_number(database_urls, case_id)
    coordinator = as_user(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    assert client.post(f"/api/consents/{consent_id}/revocation", json={"reason": "本人の申し出"}).status_code == 200
    as_user(client, worker)
    assert sees(client, case_id) == {"api": False, "page": False, "list": False, "csv": False}
    assert client.get(f"/api/cases/{case_id}").json()["type"] == "urn:kyosei:problem:break-glass-required"
    assert coordinator  # the coordinator who revoked still sees it, by role
    as_user(client, coordinator)
    assert client.get(f"/api/cases/{case_id}").status_code == 200


def test_an_expired_consent_ends_the_agency_access_although_the_sharing_row_remains(client, database_urls, shared_case):
    case_id, consent_id, worker = shared_case
    remember_number(database_urls, case_id)
    as_user(client, worker)
    assert sees(client, case_id)["api"]
    # time passes: the consent's end date was yesterday (the sharing row is untouched)
    fetch(database_urls.owner, "UPDATE consent SET expires_on = $1 WHERE id = $2::uuid",
          today() - dt.timedelta(days=1), consent_id, tenant=TENANT)
    assert fetch(database_urls.owner, "SELECT count(*) AS n FROM case_agency WHERE case_id = $1::uuid AND ended_at IS NULL",
                 case_id, tenant=TENANT)[0]["n"] == 1
    assert sees(client, case_id) == {"api": False, "page": False, "list": False, "csv": False}


def test_the_list_judges_consents_on_the_day_it_is_asked_not_the_day_its_query_was_first_built(
        client, database_urls, shared_case, monkeypatch):
    """The list's statement is built once and kept (core.cases.search); the day a consent is judged on must be a
    parameter of each request. A consent ending today lists the case today and not tomorrow, in the same process."""
    import core.cases.search as search

    case_id, consent_id, worker = shared_case
    fetch(database_urls.owner, "UPDATE consent SET expires_on = $1 WHERE id = $2::uuid", today(), consent_id,
          tenant=TENANT)
    as_user(client, worker)

    def listed() -> bool:
        return any(i["id"] == case_id for i in client.get("/api/cases").json()["items"])

    assert listed()
    monkeypatch.setattr(search, "today", lambda: today() + dt.timedelta(days=1))
    assert not listed()


def test_a_consent_names_its_purposes_by_code_and_sharing_checks_them(client, database_urls, shared_case):
    case_id, _, _ = shared_case
    as_user(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    reference = client.get("/api/cases/reference").json()["consent_purposes"]
    assert reference["participation_support"] == "参加支援" and reference["disaster_evacuation"] == "防災・避難支援"
    refused = client.get(f"/api/cases/{case_id}/sharing", params={"purpose": "participation_support"}).json()
    assert refused["allowed"] is False and "「参加支援」が含まれていません" in refused["reason_ja"]
    assert client.get(f"/api/cases/{case_id}/sharing", params={"purpose": "information_sharing"}).json()["allowed"]
    unknown = client.post(f"/api/cases/{case_id}/consents", json={
        "given_on": today().isoformat(), "purposes": ["marketing"], "agency_ids": [], "meeting_kinds": ["core_meeting"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "purposes"
    page = client.get(f"/cases/{case_id}").text
    assert "関係機関との情報共有" in page  # the recorded consent's purposes, by name
    # the form to record one offers the purposes by code (opened from its <details>, as htmx fetches it)
    form = client.get(f"/cases/{case_id}", params={"open": "consent"}, headers={"HX-Request": "true"}).text
    assert 'name="purposes" value="participation_support"' in form and "参加支援" in form


def test_the_agency_prints_only_the_forms_of_the_items_its_consent_allows(client, database_urls, shared_case,
                                                                          monkeypatch, pg_server):
    """The printed forms are the case file of their reader, like the page: under a consent for 基本情報・プラン the
    相談受付票 (相談内容) and the 評価シート/終結記録 (支援経過・評価) are refused, and the page links only the plan."""
    import ui.cases.forms

    async def as_html(html: str) -> bytes:  # the form's HTML instead of Chromium's PDF: what the paper would say
        return html.encode()

    monkeypatch.setattr(ui.cases.forms, "html_to_pdf", as_html)
    case_id, _, worker = shared_case
    as_user(client, worker)
    intake = client.get(f"/cases/{case_id}/forms/intake.pdf", headers={"accept": "text/html"})
    assert intake.status_code == 403, intake.text[:300]
    assert "母の介護と本人のひきこもり" not in intake.text and "相談内容" in intake.text
    for kind in ("assessment", "evaluation", "closure"):
        assert client.get(f"/cases/{case_id}/forms/{kind}.pdf", headers={"accept": "text/html"}).status_code == 403
    plan = client.get(f"/cases/{case_id}/forms/plan.pdf")
    assert plan.status_code == 200 and "山田 太郎" in plan.content.decode()
    page = client.get(f"/cases/{case_id}").text
    assert f"/cases/{case_id}/forms/plan.pdf" in page and f"/cases/{case_id}/forms/intake.pdf" not in page
    from infra.database.provision import DATABASE, with_user

    denied = fetch(with_user(pg_server.superuser_url, "postgres", database=DATABASE),
                   "SELECT reason FROM audit_event WHERE action = 'denied' AND object_id = $1", case_id)
    assert "form=intake: outside consent" in {d["reason"] for d in denied}


def test_every_document_that_carries_the_case_row_keeps_the_consent_scope(client, database_urls, shared_case,
                                                                          pg_server):
    """The case row travels in more documents than the case's own: the household document (its cases) and the
    answers to a change of labels or status. Each leaves out 相談内容 for the agency under a consent for
    基本情報・プラン, as the case document does; the household document's cases are audited reads."""
    case_id, _, worker = shared_case
    household_id = fetch(database_urls.owner, "SELECT household_id FROM support_case WHERE id = $1::uuid", case_id,
                         tenant=TENANT)[0]["household_id"]
    as_user(client, worker)
    household = client.get(f"/api/households/{household_id}")
    assert household.status_code == 200
    (row,) = [c for c in household.json()["cases"] if c["id"] == case_id]
    assert row["case_number"] and "summary" not in row and "problems" not in row and "problem_labels" not in row
    assert "母の介護と本人のひきこもり" not in household.text
    changed = client.patch(f"/api/cases/{case_id}", json={"fields": ["elderly"], "tags": ["見守り"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["tags"] == ["見守り"] and "summary" not in changed.json()
    assert "母の介護と本人のひきこもり" not in changed.text
    from infra.database.provision import DATABASE, with_user

    reads = fetch(with_user(pg_server.superuser_url, "postgres", database=DATABASE),
                  "SELECT reason FROM audit_event WHERE action = 'read' AND object_type = 'case' AND object_id = $1 "
                  "AND actor_sub = $2", case_id, worker.sub)
    assert "household basis=agency" in {r["reason"] for r in reads}


def test_status_and_referral_reasons_stay_inside_the_consent_scope(client, database_urls, shared_case):
    """A status change's reason (a meeting's decision note becomes one) is 支援経過, a referral's reason and answer
    are 相談内容: the agency under a consent for 基本情報・プラン sees the change and the referral, not the text,
    on the page and in the document alike; a coordinator reads both. The rows themselves are not changed."""
    case_id, _, worker = shared_case
    coordinator = as_user(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    moved = client.post(f"/api/cases/{case_id}/transitions",
                        json={"to_status": "assessment", "reason": "重層的支援会議で決定: 借金の整理を優先"})
    assert moved.status_code == 200, moved.text
    agency = client.get(f"/api/cases/{case_id}").json()["agencies"][0]["agency_id"]
    referred = client.post(f"/api/cases/{case_id}/referrals",
                           json={"to_agency_id": agency, "reason": "多重債務と督促状の相談を引き継ぐため"})
    assert referred.status_code == 201, referred.text
    secrets = ("借金の整理を優先", "多重債務と督促状")

    body = client.get(f"/api/cases/{case_id}").json()
    assert [h["reason"] for h in body["history"]][-1] == "重層的支援会議で決定: 借金の整理を優先"
    assert body["referrals"][0]["reason"] == "多重債務と督促状の相談を引き継ぐため"
    page = client.get(f"/cases/{case_id}").text
    assert all(s in page for s in secrets)

    as_user(client, worker)
    body = client.get(f"/api/cases/{case_id}").json()
    assert [h["to_status"] for h in body["history"]] == ["intake", "assessment"]
    assert [h["reason"] for h in body["history"]] == [None, None]
    assert body["referrals"][0]["to_agency_id"] == agency and body["referrals"][0]["reason"] is None
    assert set(body["referrals"][0]) == set(referred.json()) - {"tenant_id"}  # the same columns, the text blanked
    page = client.get(f"/cases/{case_id}").text
    assert not any(s in page for s in secrets)
    assert "紹介の理由は本人の同意の範囲外のため表示しません。" in page
    answered = client.post(f"/api/referrals/{referred.json()['id']}/decline", json={"reason": "債務の相談は別窓口"})
    assert answered.status_code == 200, answered.text  # the answer to the answer is read the same way
    assert answered.json()["status"] == "declined" and answered.json()["reason"] is None

    as_user(client, coordinator)  # the rows were read, never changed (no autoflush of a blanked reason)
    referral = client.get(f"/api/cases/{case_id}").json()["referrals"][0]
    assert (referral["reason"], referral["response_reason"]) == ("多重債務と督促状の相談を引き継ぐため", "債務の相談は別窓口")
    assert fetch(database_urls.owner, "SELECT reason FROM case_status_change WHERE case_id = $1::uuid "
                 "AND to_status = 'assessment'", case_id, tenant=TENANT)[0]["reason"] == "重層的支援会議で決定: 借金の整理を優先"
