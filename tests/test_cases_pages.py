"""相談支援 pages with plain forms (no JavaScript): the whole flow for one household of two members across two
fields, bad input re-rendered with messages and nothing written, the search-as-you-type block, break-the-glass."""

from __future__ import annotations

import re

import pytest

from core.wareki import today
from tests.sessions import list_in_directory, login, open_session
from tests.test_cases_api import counts

TENANT = "394017"
HTML = {"accept": "text/html"}


@pytest.fixture()
def worker(client, database_urls):
    return login(client, open_session(database_urls, TENANT, ("staff",), display_name="中村 健"))


def intake_form(csrf: str, **override) -> dict:
    form = {
        "csrf_token": csrf, "received_on": today().isoformat(), "receiving_staff": "中村 健", "route": "visit",
        "members-0-name": "山田 太郎", "members-0-kana": "やまだ たろう", "members-0-birth_date": "1972-04-01",
        "members-0-sex": "male", "members-0-address": "中土佐町久礼", "members-0-phone": "0889-52-0000",
        "members-1-name": "山田 ハナ", "members-1-kana": "やまだ はな", "members-1-relationship": "母",
        "members-1-birth_date": "1941-06-10", "members-1-sex": "female",
        "problems": ["withdrawal", "care"], "fields": ["elderly", "poverty"], "tags": "8050 ひきこもり",
        "summary": "母の介護と本人のひきこもり", "consent_given": "true",
    }
    form.update(override)
    return form


def post(client, url, data):
    return client.post(url, data=data, headers=HTML, follow_redirects=False)


def decide_as_the_municipality(client, database_urls, worker, case_url) -> None:
    """支援決定 is the municipality's: the staff member is refused on the page, naming the rule; the town's
    団体管理者 decides and the case page shows who decided."""
    page = client.get(case_url, headers=HTML).text
    assert "プランの合意を記録して支援決定する" not in page and 'name="to_status" value="decided"' not in page
    assert "支援決定は市町村が行います" in page
    refused = post(client, case_url + "/transitions", {"csrf_token": worker.csrf, "to_status": "decided"})
    assert refused.status_code == 403 and "支援決定は市町村が行います" in refused.text and "団体管理者" in refused.text
    assert "status--planning" in refused.text  # the case page, re-rendered with the refusal; nothing moved
    mayor = login(client, open_session(database_urls, TENANT, ("staff", "tenant-admin"), display_name="町 決定"))
    list_in_directory(database_urls, mayor, "町 決定")
    assert post(client, case_url + "/access", {"csrf_token": mayor.csrf, "reason": "支援決定のため"}).status_code == 303
    decided = post(client, case_url + "/transitions", {"csrf_token": mayor.csrf, "to_status": "decided"})
    assert decided.status_code == 303, decided.text[:2000]
    page = client.get(case_url, headers=HTML).text
    assert "status--decided" in page and "町 決定（" in page  # who decided, with when, in the flow panel
    login(client, worker)


def test_the_whole_flow_with_plain_forms(client, worker, database_urls):
    page = client.get("/cases/new", headers=HTML)
    assert page.status_code == 200 and "相談受付・申込票" in page.text and 'name="csrf_token"' in page.text
    created = post(client, "/cases", intake_form(worker.csrf))
    assert created.status_code == 303, created.text
    case_url = created.headers["location"]
    page = client.get(case_url, headers=HTML)
    assert page.status_code == 200 and "山田 ハナ" in page.text and "受付" in page.text
    assert re.search(r"令和\d+年\d+月\d+日（\d{4}-\d{2}-\d{2}）", page.text)  # jdate
    person_ids = re.findall(r'name="item-(\d)-person_id" value="([0-9a-f-]+)"', page.text)
    assert len(person_ids) == 2

    steps = [
        ("/assessments", {"assessed_on": today().isoformat(), "item-0-person_id": person_ids[0][1],
                          "item-0-field": "poverty", "item-0-problem": "長期のひきこもり",
                          "item-1-person_id": person_ids[1][1], "item-1-field": "elderly",
                          "item-1-problem": "介護保険未申請"}, "アセスメント"),
        ("/plans", {"goals": "母の介護サービス開始と本人の居場所づくり", "review_on": "2099-03-31",
                    "role-0-role": "介護保険の申請支援"}, "プラン作成"),
        ("/plan-agreement", {"agreed_on": today().isoformat(), "note": "本人・関係機関との面談で合意"}, "プラン作成"),
        ("/transitions", {"to_status": "decided"}, "municipality"),
        ("/transitions", {"to_status": "supporting"}, "支援中"),
        ("/records", {"recorded_on": today().isoformat(), "kind": "visit", "body": "自宅を訪問。母と面談。"}, "支援中"),
        ("/transitions", {"to_status": "evaluation"}, "評価"),
        ("/evaluations", {"evaluated_on": today().isoformat(), "achievement": "achieved", "summary": "介護サービス開始",
                          "next_step": "close"}, "評価"),
        ("/transitions", {"to_status": "closed", "reason": "目標を達成"}, "終結"),
    ]
    for path, data, status in steps:
        if status == "municipality":
            decide_as_the_municipality(client, database_urls, worker, case_url)
            continue
        response = post(client, case_url + path, {"csrf_token": worker.csrf, **data})
        assert response.status_code == 303, (path, response.status_code, response.text[:2000])
        page = client.get(case_url, headers=HTML)
        assert f'status--' in page.text and status in page.text, path
    assert "自宅を訪問。母と面談。" in page.text and "目標を達成" in page.text
    assert "長期のひきこもり" in page.text and "介護保険未申請" in page.text


def test_bad_form_input_is_shown_on_the_form_and_writes_nothing(client, worker, pg_server):
    cases = [
        ({"members-0-name": ""}, "氏名を入力してください。"),
        ({"members-0-birth_date": "2999-01-01"}, "生年月日に未来の日付は入力できません。"),
        ({"members-0-kana": "山田たろう"}, "ふりがなに漢字は使えません。"),
        ({"summary": "あ" * 10_000}, "相談内容は4,000文字以内で入力してください"),
        ({"members-1-name": "山田 ハナ😀"}, "氏名に絵文字は使えません。"),
        ({"received_on": "2025/04/01"}, "受付日は 2025-04-01 または 令和7年4月1日（R7.4.1） の形で"),
    ]
    before = counts(pg_server)
    for override, message in cases:
        response = post(client, "/cases", intake_form(worker.csrf, **override))
        assert response.status_code == 422, override
        assert message in response.text, override
        assert 'aria-invalid="true"' in response.text
        assert "山田" in response.text or "members-0-name" in override  # what was typed comes back
    assert counts(pg_server) == before


def test_a_refused_step_is_explained_on_the_case_page(client, worker, pg_server):
    case_url = post(client, "/cases", intake_form(worker.csrf)).headers["location"]
    post(client, case_url + "/transitions", {"csrf_token": worker.csrf, "to_status": "assessment"})
    refused = post(client, case_url + "/transitions", {"csrf_token": worker.csrf, "to_status": "planning"})
    assert refused.status_code == 409 and "アセスメントが記録されていないため" in refused.text
    no_reason = post(client, case_url + "/transitions", {"csrf_token": worker.csrf, "to_status": "closed"})
    assert no_reason.status_code == 422 and "終結の理由を入力してください。" in no_reason.text
    before = counts(pg_server)
    empty = post(client, case_url + "/records", {"csrf_token": worker.csrf, "recorded_on": "", "kind": "visit", "body": ""})
    assert empty.status_code == 422 and "日付を入力してください。" in empty.text and "内容を入力してください。" in empty.text
    assert counts(pg_server) == before


def test_search_as_you_type_answers_the_results_block(client, worker):
    post(client, "/cases", intake_form(worker.csrf))
    full = client.get("/cases", params={"q": "やまだ"}, headers=HTML)
    assert full.status_code == 200 and "<html" in full.text and "山田 太郎" in full.text
    assert "HX-Request" in full.headers["vary"]
    block = client.get("/cases", params={"q": "太郎"}, headers={**HTML, "HX-Request": "true", "HX-Target": "case-results"})
    assert block.status_code == 200 and "<html" not in block.text and block.text.lstrip().startswith('<div id="case-results">')
    assert "山田 太郎" in block.text and "HX-Request" in block.headers["vary"]
    none = client.get("/cases", params={"q": "該当なし"}, headers={**HTML, "HX-Request": "true", "HX-Target": "case-results"})
    assert "該当するケースはありません" in none.text


def test_outside_the_team_the_case_page_asks_for_a_reason(client, database_urls, worker):
    case_url = post(client, "/cases", intake_form(worker.csrf)).headers["location"]
    other = login(client, open_session(database_urls, TENANT, ("staff",)))
    asked = client.get(case_url, headers=HTML)
    assert asked.status_code == 403 and "閲覧の理由" in asked.text and "山田" not in asked.text
    empty = post(client, case_url + "/access", {"csrf_token": other.csrf, "reason": ""})
    assert empty.status_code == 422 and "閲覧の理由を入力してください。" in empty.text
    opened = post(client, case_url + "/access", {"csrf_token": other.csrf, "reason": "救急搬送の連絡を受けたため"})
    assert opened.status_code == 303
    assert client.get(case_url, headers=HTML).status_code == 200


def test_household_and_agency_pages(client, database_urls, worker):
    case_url = post(client, "/cases", intake_form(worker.csrf)).headers["location"]
    page = client.get(case_url, headers=HTML)
    household_url = re.search(r'href="(/households/[0-9a-f-]+)"', page.text).group(1)
    assert "山田 ハナ" in client.get(household_url, headers=HTML).text
    bad = post(client, household_url + "/members", {"csrf_token": worker.csrf, "name": "山田 次郎", "kana": "ジロウ山田",
                                                    "relationship": "弟"})
    assert bad.status_code == 422 and "ふりがなに漢字は使えません" in bad.text
    added = post(client, household_url + "/members", {"csrf_token": worker.csrf, "name": "山田 次郎", "kana": "やまだ じろう",
                                                      "relationship": "弟"})
    assert added.status_code == 303
    assert "山田 次郎" in client.get(household_url, headers=HTML).text
    assert client.get("/households", headers=HTML).status_code == 200
    coordinator = login(client, open_session(database_urls, TENANT, ("staff", "coordinator")))
    created = post(client, "/agencies", {"csrf_token": coordinator.csrf, "name": "中土佐町地域包括支援センター", "field": "elderly"})
    assert created.status_code == 303
    listing = client.get("/agencies", headers=HTML)
    assert "中土佐町地域包括支援センター" in listing.text
    bad_agency = post(client, "/agencies", {"csrf_token": coordinator.csrf, "name": ""})
    assert bad_agency.status_code == 422 and "機関名を入力してください。" in bad_agency.text
    assert client.get("/cases/counts", headers=HTML).status_code == 200


def test_a_multi_agency_case_page_sends_the_plan_agreement_to_the_meeting(client, worker):
    from tests.cases_support import intake_body

    client.headers["X-CSRF-Token"] = worker.csrf
    case_id = client.post("/api/cases", json=intake_body(lead_business="multi_agency")).json()["id"]
    person = client.get(f"/api/cases/{case_id}").json()["person_id"]
    assert client.post(f"/api/cases/{case_id}/assessments", json={
        "assessed_on": today().isoformat(), "items": [{"person_id": person, "field": "elderly", "problem": "介護"}]}
    ).status_code == 201
    assert client.post(f"/api/cases/{case_id}/plans", json={"goals": "生活の安定"}).status_code == 201
    page = client.get(f"/cases/{case_id}", headers=HTML).text
    assert "/plan-agreement" not in page and "多機関協働事業のケースのプランは、重層的支援会議で合意します" in page
    refused = post(client, f"/cases/{case_id}/plan-agreement", {"csrf_token": worker.csrf})
    assert refused.status_code == 409 and "重層的支援会議で合意します" in refused.text
    assert client.get(f"/api/cases/{case_id}").json()["plans"][0]["agreed_on"] is None


def test_a_closed_form_of_the_case_page_comes_when_opened_and_without_javascript_by_its_link(
        client, worker, database_urls, pg_server):
    """The forms behind a closed <details> (分野・タグ, 同意, and once written アセスメント and プラン) are not in the page:
    opening one fetches it (htmx, ``hx-trigger="toggle once"``); without JavaScript its link opens the page with
    that form open. A form sent back with errors is in the page, open. Only a reader who may write gets one."""
    created = post(client, "/cases", intake_form(worker.csrf))
    case_url = created.headers["location"]
    page = client.get(case_url, headers=HTML).text
    for name, action in (("labels", "/labels"), ("consent", "/consents")):
        assert f'hx-get="{case_url}?open={name}" hx-trigger="toggle once"' in page
        assert f'href="{case_url}?open={name}#{name}"' in page and f'action="{case_url}{action}"' not in page
    assert f'action="{case_url}/assessments"' in page  # no assessment yet: that form is open from the start

    # opened in the browser: the form alone, with its token and today's date, the case's own members to choose;
    # the names it shows are a read of the case, in the audit log like the page's
    reads = _case_reads(pg_server, case_url, worker.sub)
    form = client.get(case_url, params={"open": "consent"}, headers={**HTML, "HX-Request": "true"})
    assert _case_reads(pg_server, case_url, worker.sub) == reads + 1
    assert form.status_code == 200 and "<html" not in form.text
    assert f'action="{case_url}/consents"' in form.text and f'value="{worker.csrf}"' in form.text
    assert f'name="given_on" type="date" value="{today().isoformat()}"' in form.text and "山田 ハナ" in form.text
    # without JavaScript: the whole page, that form open where the link pointed
    plain = client.get(case_url, params={"open": "consent"}, headers=HTML).text
    assert "<html" in plain and f'action="{case_url}/consents"' in plain
    assert re.search(r'<details open><summary>同意を記録する</summary>', plain)
    # sent back with errors: in the page, open, with what was typed
    refused = post(client, case_url + "/labels", {"csrf_token": worker.csrf, "fields": ["elderly"], "tags": "x" * 300})
    assert refused.status_code == 422 and '<details id="labels" open>' in refused.text
    assert 'name="tags" type="text" value="' + "x" * 300 in refused.text

    # a form that is not on offer is not sent: an unknown name, or a reader who may not write
    assert client.get(case_url, params={"open": "nothing"}, headers={**HTML, "HX-Request": "true"}).status_code == 404
    assert client.get(case_url, params={"open": "nothing"}, headers=HTML).status_code == 200  # the page, as it is
    # the 団体管理者 reads the case (緊急閲覧, with a reason) but does not write in it
    admin = login(client, open_session(database_urls, TENANT, ("tenant-admin",), display_name="町 管理"))
    assert post(client, case_url + "/access", {"csrf_token": admin.csrf, "reason": "確認のため"}).status_code == 303
    assert "同意を記録する" not in client.get(case_url, headers=HTML).text
    closed = client.get(case_url, params={"open": "consent"}, headers={**HTML, "HX-Request": "true"})
    assert closed.status_code == 404 and "この入力欄は開けません" in closed.text
    assert f'action="{case_url}/consents"' not in closed.text


def _case_reads(pg_server, case_url: str, actor: str) -> int:
    from infra.database.provision import DATABASE, with_user
    from tests.db import fetch

    [row] = fetch(with_user(pg_server.superuser_url, "postgres", database=DATABASE),
                  "SELECT count(*) AS n FROM audit_event WHERE action = 'read' AND object_type = 'case' "
                  "AND object_id = $1 AND actor_sub = $2", case_url.rsplit("/", 1)[1], actor)
    return row["n"]
