"""The case forms print from the case: each PDF carries its fixed headings and the case's data in an embedded
font, draws without tofu (rendered to PNG by poppler), marks 要配慮個人情報, and every print is audited. A plan
without 本人同意 says so in its consent box."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from core.documents.case_forms import FORM_TITLES, NO_CONSENT
from core.documents.glyphs import GETA, printable
from core.wareki import today
from tests.cases_support import intake_body
from tests.conftest import saved_as
from tests.pdf_support import assert_fonts_embedded, first_page_png, pdf_text, raw_text
from tests.sessions import login, open_session

NO_CONSENT_TEXT = unicodedata.normalize("NFKC", NO_CONSENT)

pytestmark = pytest.mark.slow
TENANT = "394017"

HEADINGS = {
    "intake": ("相談受付・申込票", "受付日", "相談経路", "本人氏名", "世帯構成", "相談内容", "情報共有についての同意"),
    "assessment": ("アセスメントシート", "本人の基本情報", "生活歴", "健康", "就労", "経済", "住まい", "社会参加",
                   "本人の強み", "課題の整理（分野別）", "見立て・総合所見"),
    "plan": ("支援プラン", "目標", "取り組む課題", "役割分担（関係機関）", "本人同意欄", "本人署名"),
    "evaluation": ("評価シート", "評価の対象としたプラン", "目標の達成状況", "今後の方針"),
    "closure": ("終結記録", "終結日", "終結の理由", "最終の評価", "経過（状態の変更）"),
}


def _pdf(client, case_id, kind) -> bytes:
    response = client.get(f"/cases/{case_id}/forms/{kind}.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert saved_as(response).startswith(FORM_TITLES[kind] + "_")  # e.g. アセスメントシート_2026-0001.pdf
    return response.content


def _check_page(pdf: bytes, kind: str, tmp: Path) -> str:
    assert_fonts_embedded(pdf)
    first_page_png(pdf, tmp / kind)
    raw = raw_text(pdf)
    # No tofu: every character that reached the page is one an installed font draws.
    assert [ch for ch in raw if not printable(ch)] == []
    text = pdf_text(pdf)
    for heading in HEADINGS[kind]:
        assert unicodedata.normalize("NFKC", heading) in text, (kind, heading)
    assert "要配慮個人情報" in text and "中土佐町" in text and "山田 太郎" in text
    return text


def test_the_five_case_forms_print_from_the_case(client, database_urls, pg_server, tmp_path):
    # the town's own account holder works the case through (支援決定 is the municipality's: tenant-admin)
    session = login(client, open_session(database_urls, TENANT, ("staff", "coordinator", "tenant-admin")))
    client.headers["X-CSRF-Token"] = session.csrf
    out = Path(os.environ.get("KYOSEI_FORMS_PNG_DIR", tmp_path))
    case_id = client.post("/api/cases", json=intake_body(businesses=["outreach"])).json()["id"]
    agency = client.post("/api/agencies", json={"name": "地域包括支援センター"}).json()["id"]
    members = {m["relationship"]: m["id"] for m in client.get(f"/api/cases/{case_id}").json()["members"]}
    day = today().isoformat()
    assert client.post(f"/api/cases/{case_id}/assessments", json={
        "assessed_on": day, "summary": "母の介護負担と本人の孤立が重なっている",
        "sections": {"life_history": "高校卒業後に県外で就職、10年前に帰郷", "health": "腰痛で通院中",
                     "strengths": "料理が得意で、母の食事を毎日作っている"},
        "items": [{"person_id": members["本人"], "field": "poverty", "problem": "長期のひきこもりと無収入"},
                  {"person_id": members["母"], "field": "elderly", "problem": "介護保険が未申請"}],
    }).status_code == 201
    issues = client.get(f"/api/cases/{case_id}").json()["assessments"][0]["items"]
    care = next(i["id"] for i in issues if i["problem"] == "介護保険が未申請")
    assert client.post(f"/api/cases/{case_id}/plans", json={
        "goals": "母の介護サービスを始め、本人が週1回居場所に通う", "review_on": "2099-03-31", "issue_ids": [care],
        "roles": [{"agency_id": agency, "role": "介護保険の申請支援", "actions": "要介護認定の申請に同行"}],
    }).status_code == 201

    plan_pdf = _pdf(client, case_id, "plan")
    text = _check_page(plan_pdf, "plan", out)
    assert NO_CONSENT_TEXT in text.replace("\n", "")
    assert "介護保険が未申請" in text and "長期のひきこもり" not in text  # only the issue the plan addresses

    assert client.post(f"/api/cases/{case_id}/consents", json={
        "given_on": day, "purpose": "支援プランの共有", "agency_ids": [agency], "items": ["plan", "basic"],
        "method": "written", "person_id": members["本人"]}).status_code == 201
    assert client.post(f"/api/cases/{case_id}/plan-agreement", json={"note": "本人・関係機関との面談で合意", "decide": True}).status_code == 200
    for status in ("supporting",):
        assert client.post(f"/api/cases/{case_id}/transitions", json={"to_status": status}).status_code == 200
    assert client.post(f"/api/cases/{case_id}/evaluations", json={
        "evaluated_on": day, "achievement": "partly", "summary": "母のサービスは開始、本人の通所は月2回",
        "next_step": "close"}).status_code == 201
    assert client.post(f"/api/cases/{case_id}/transitions", json={
        "to_status": "closed", "reason": "目標をおおむね達成し、地域の見守りに移行"}).status_code == 200

    texts = {kind: _check_page(_pdf(client, case_id, kind), kind, out) for kind in HEADINGS}
    intake = texts["intake"]
    assert "山田 ハナ" in intake and "昭和47年4月1日" in intake
    assert "■ひきこもり・不登校" in intake.replace(" ", "") and "□DV・虐待" in intake.replace(" ", "")
    assert "アウトリーチ等を通じた継続的支援事業" in intake and "包括的相談支援事業" in intake
    assert GETA in intake and "🙏" not in intake  # the emoji no font draws is set as 〓, not tofu
    assessment = texts["assessment"]
    assert "10年前に帰郷" in assessment and "料理が得意" in assessment and "介護保険が未申請" in assessment
    plan = texts["plan"].replace("\n", "")
    assert NO_CONSENT_TEXT not in plan and "地域包括支援センター" in plan and "書面" in plan
    assert "支援プランの共有" in plan and "プラン" in plan and "令和" in plan
    assert "一部達成" in texts["evaluation"] and "月2回" in texts["evaluation"]
    assert "地域の見守りに移行" in texts["closure"]

    from infra.database.provision import DATABASE, with_user
    from tests.db import fetch

    printed = fetch(with_user(pg_server.superuser_url, "postgres", database=DATABASE),
                    "SELECT reason FROM audit_event WHERE action = 'export' AND object_id = $1 AND actor_sub = $2",
                    case_id, session.sub)
    assert sorted(e["reason"] for e in printed) == sorted(["form=plan", *(f"form={k}" for k in HEADINGS)])


def test_unknown_form_and_outsiders_are_refused(client, database_urls):
    session = login(client, open_session(database_urls, TENANT, ("staff",)))
    client.headers["X-CSRF-Token"] = session.csrf
    case_id = client.post("/api/cases", json=intake_body()).json()["id"]
    assert client.get(f"/cases/{case_id}/forms/unknown.pdf", headers={"accept": "text/html"}).status_code == 404
    outsider = login(client, open_session(database_urls, TENANT, ("staff",)))
    client.headers["X-CSRF-Token"] = outsider.csrf
    refused = client.get(f"/cases/{case_id}/forms/intake.pdf", headers={"accept": "text/html"})
    assert refused.status_code == 403 and "application/pdf" not in refused.headers["content-type"]
