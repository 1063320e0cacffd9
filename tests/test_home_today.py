"""The home page shows each role today's work (issue 19), never 「表示する項目はまだありません」 when there is some."""

from __future__ import annotations

import datetime as dt
import re

from core.wareki import today
from tests.sessions import login, open_session
from tests.test_cases_pages import intake_form

HTML = {"accept": "text/html"}


def card(html: str, key: str) -> str:
    found = re.search(rf'<article class="panel today-card" id="today-{key}".*?</article>', html, re.S)
    assert found, f"no card {key}"
    return found.group(0)


def test_a_coordinator_sees_the_new_consultation_without_a_worker_and_its_review_date(client, database_urls):
    coordinator = login(client, open_session(database_urls, "394017", ("staff", "coordinator"), display_name="山本 花子"))
    created = client.post("/cases", data=intake_form(coordinator.csrf), headers=HTML, follow_redirects=False)
    assert created.status_code == 303
    case_url = created.headers["location"]
    number = re.search(r"ケース番号 (\S+)）", client.get(case_url, headers=HTML).text).group(1)

    home = client.get("/", headers=HTML).text
    assert "表示する項目はまだありません" not in home
    assert f'href="{case_url}">ケース {number}</a>' in card(home, "intake")
    assert f"ケース {number}" not in card(home, "unassigned")  # whoever takes the intake is its worker

    # a consultation entered without a worker (an import, a worker who left) waits on the coordinator's home
    from core.cases import service
    from tests.cases_support import intake_body, unit_of_work

    async def unowned(session):
        return (await service.create_intake(session, intake_body())).case_number

    orphan = unit_of_work(database_urls, "394017", unowned)
    assert f"ケース {orphan}" in card(client.get("/", headers=HTML).text, "unassigned")
    assert f"ケース {number}" not in card(home, "review")  # no plan yet, so no review date

    review_on = today() + dt.timedelta(days=3)

    async def plan_due(session):  # what agreeing a plan with a review date leaves on the case
        case = await service.get_case(session, case_url.rsplit("/", 1)[-1], for_update=True)
        case.review_on = review_on

    unit_of_work(database_urls, "394017", plan_due)
    review = card(client.get("/", headers=HTML).text, "review")
    assert f"ケース {number}" in review and review_on.isoformat() in review
    assert "山田" not in card(client.get("/", headers=HTML).text, "intake")  # numbers only: no names on home


def test_a_tenant_admin_sees_break_glass_plugin_errors_and_surveys(client, database_urls):
    login(client, open_session(database_urls, "394017", ("tenant-admin",), display_name="管理 太郎"))
    home = client.get("/", headers=HTML).text
    for key in ("setup", "break-glass", "plugin-errors", "surveys"):
        card(home, key)
    assert "見直し期限が近いケース" not in home  # not a case worker


def test_a_new_municipalitys_first_admin_sees_the_setup_steps(client, database_urls):
    # a municipality with nothing set up yet: its admin's home lists what to do first instead of an empty page
    from tests.db import fetch

    fetch(database_urls.owner, "INSERT INTO tenant (tenant_id, status) VALUES ('394106', 'active') "
                               "ON CONFLICT (tenant_id) DO NOTHING")
    login(client, open_session(database_urls, "394106", ("tenant-admin",), display_name="新任 管理者"))
    home = client.get("/", headers=HTML).text
    assert "表示する項目はまだありません" not in home
    setup = card(home, "setup")
    assert "関係機関を登録する" in setup and "交付金の年度を登録する" in setup
    assert "職員を招待して役割を設定する" in setup and 'href="/admin/staff"' in setup  # the staff page (#16)


def test_the_prefecture_sees_survey_deadlines_and_the_years_schedule(client, database_urls):
    login(client, open_session(database_urls, "390003", ("prefecture-admin",), display_name="県 職員"))
    home = client.get("/", headers=HTML)
    assert home.status_code == 200
    card(home.text, "survey-deadlines")
    card(home.text, "schedule")
