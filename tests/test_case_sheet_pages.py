"""The structured assessment, the issues a plan addresses and the 事業 of a case, through the plain HTML forms;
the older free-text-only assessment still works, and an unknown item or another case's issue is refused."""

from __future__ import annotations

import re

import pytest

from core.wareki import today
from tests.sessions import login, open_session
from tests.test_cases_pages import intake_form, post

TENANT = "394017"
HTML = {"accept": "text/html"}


@pytest.fixture()
def worker(client, database_urls):
    return login(client, open_session(database_urls, TENANT, ("staff",), display_name="中村 健"))


def test_sheet_items_issues_and_businesses_through_the_forms(client, worker):
    created = post(client, "/cases", intake_form(worker.csrf, lead_business="outreach", businesses=["multi_agency"]))
    assert created.status_code == 303
    case_url = created.headers["location"]
    page = client.get(case_url, headers=HTML).text
    assert "アウトリーチ等を通じた継続的支援事業" in page and "多機関協働事業" in page
    assert 'name="section.life_history"' in page and "生活歴" in page
    person = re.findall(r'name="item-(\d)-person_id" value="([0-9a-f-]+)"', page)[0][1]

    unknown = post(client, case_url + "/assessments", {"csrf_token": worker.csrf, "assessed_on": today().isoformat(),
                                                       "section.hobby": "釣り"})
    assert unknown.status_code == 422 and "知らない項目" in unknown.text
    done = post(client, case_url + "/assessments", {
        "csrf_token": worker.csrf, "assessed_on": today().isoformat(), "item-0-person_id": person,
        "item-0-field": "poverty", "item-0-problem": "家賃の滞納", "section.housing": "築40年の借家、家賃3万円",
        "section.strengths": "畑仕事が好き"})
    assert done.status_code == 303
    page = client.get(case_url, headers=HTML).text
    assert "築40年の借家、家賃3万円" in page and "畑仕事が好き" in page
    issue = re.search(r'name="issue_ids" value="([0-9a-f-]+)"', page).group(1)

    foreign = post(client, case_url + "/plans", {"csrf_token": worker.csrf, "goals": "家賃の分納",
                                                 "issue_ids": "00000000-0000-0000-0000-000000000000"})
    assert foreign.status_code == 422 and "アセスメントにない課題" in foreign.text
    planned = post(client, case_url + "/plans", {"csrf_token": worker.csrf, "goals": "家賃の分納を大家と相談",
                                                 "issue_ids": issue})
    assert planned.status_code == 303
    assert "取り組む課題" in client.get(case_url, headers=HTML).text

    # the free-text-only assessment (before the national items existed) is still accepted
    free = post(client, case_url + "/assessments", {"csrf_token": worker.csrf, "assessed_on": today().isoformat(),
                                                    "summary": "見立てのみ記録"})
    assert free.status_code == 303
