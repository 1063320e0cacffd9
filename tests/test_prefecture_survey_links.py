"""実態調査: standard items pre-filled from the tenant's own records, and one-time links for municipalities that are
not tenants (answered once without an account, refused after the deadline); the prefecture sees both."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest
import structlog.testing

from core import wareki
from tests.cases_support import unit_of_work
from tests.db import fetch
from tests.sessions import login, open_session

OKAWA = "393649"  # 大川村: not a tenant in any test
NAKATOSA = "394017"
FY = 2033


def _prefecture(client, urls):
    return login(client, open_session(urls, "390003", ("prefecture-admin",), display_name="高知 県子"))


def _survey(client, pref, title, due_on=""):
    created = client.post("/prefecture/surveys", follow_redirects=False, data={
        "csrf_token": pref.csrf, "title": title, "fiscal_year": str(FY), "due_on": due_on})
    assert created.status_code == 303
    return created.headers["location"]


def _link(client, pref, survey_url, code=OKAWA):
    page = client.post(f"{survey_url}/links", data={"csrf_token": pref.csrf, "link_code": code})
    assert page.status_code == 200, page.text
    return re.search(r'id="new-link-url">https?://[^/]+(/survey-link/[^<]+)<', page.text).group(1)


def test_standard_items_prefilled_a_link_answered_once_and_the_prefecture_sees_both(client, database_urls):
    from core import counts

    pref = _prefecture(client, database_urls)
    survey_url = _survey(client, pref, "令和15年度 包括的支援体制実態調査")
    client.post(f"{survey_url}/standard-items", data={"csrf_token": pref.csrf})
    page = client.get(survey_url).text
    for item in ("体制の整備状況", "相談受付件数", "支援会議の開催回数", "参加支援：参加者数", "地域づくり：拠点数"):
        assert item in page
    # a link before sending is refused in words; a tenant is asked in the app, not by link
    early = client.post(f"{survey_url}/links", data={"csrf_token": pref.csrf, "link_code": OKAWA})
    assert early.status_code == 422 and "送付してから" in early.text
    client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": [NAKATOSA]})
    tenant_link = client.post(f"{survey_url}/links", data={"csrf_token": pref.csrf, "link_code": NAKATOSA})
    assert tenant_link.status_code == 422 and "利用中の団体" in tenant_link.text
    link = _link(client, pref, survey_url)
    assert fetch(database_urls.owner, "SELECT count(*) AS n FROM survey_invitation WHERE token_hash = $1",
                 link.rsplit("/", 1)[-1], tenant="390003")[0]["n"] == 0  # only the hash is kept

    # 大川村 answers without an account: a missing answer is refused in words and nothing is stored
    client.cookies.clear()
    form = client.get(link)
    assert form.status_code == 200 and "大川村" in form.text and "アカウントは不要" in form.text
    names = re.findall(r'name="(q-[0-9a-f-]+)"', form.text)
    assert len(names) == 9
    refused = client.post(link, data={names[1]: "十二"})
    assert refused.status_code == 422 and "数値" in refused.text
    answers = {n: "" for n in names}
    answers.update({names[0]: "検討中", names[1]: "12", names[8]: "研修の機会がほしい"})
    sent = client.post(link, data={"responder": "大川村 健康福祉課", **answers}, follow_redirects=False)
    assert sent.status_code == 303
    assert "回答を受け付けました" in client.get(link).text
    again = client.post(link, data={"responder": "だれか", **answers})
    assert again.status_code == 410  # one time only
    assert client.get("/survey-link/not-a-real-link").status_code == 404
    with structlog.testing.capture_logs() as logged:
        client.get(link)
    paths = [entry.get("path") for entry in logged if entry.get("event") == "request"]
    assert paths == ["/survey-link/[secret]"]  # the link's secret never reaches a log

    # 中土佐町 reviews answers filled in from its own records of the 年度, then sends them
    async def own_count(session):
        return await counts.consultations_received(session, *counts.fiscal_year_period(FY))

    expected = unit_of_work(database_urls, NAKATOSA, own_count)
    nakatosa = login(client, open_session(database_urls, NAKATOSA, ("tenant-admin",)))
    survey_id = survey_url.rsplit("/", 1)[-1]
    review = client.get(f"/survey/{survey_id}").text
    assert "記録から自動入力" in review
    assert re.search(rf'name="{names[1]}" inputmode="decimal" value="{expected}"', review)
    client.post(f"/survey/{survey_id}", data={"csrf_token": nakatosa.csrf, "action": "submit",
                                             **{n: "" for n in names}, names[0]: "移行準備事業",
                                             names[1]: str(expected), names[8]: "手引書が役立った"})
    assert "提出済み" in client.get(f"/survey/{survey_id}").text

    login(client, pref)
    results = client.get(survey_url).text
    assert "2 / 2 団体" in results
    assert "研修の機会がほしい" in results and "手引書が役立った" in results
    assert "大川村" in results and "中土佐町" in results


def test_a_link_is_refused_after_the_deadline(client, database_urls):
    pref = _prefecture(client, database_urls)
    yesterday = (wareki.today() - dt.timedelta(days=2)).isoformat()
    survey_url = _survey(client, pref, "期限切れの調査", due_on=yesterday)
    client.post(f"{survey_url}/questions", data={"csrf_token": pref.csrf, "kind": "text", "label": "ご意見"})
    client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": [NAKATOSA]})
    link = _link(client, pref, survey_url)
    client.cookies.clear()
    page = client.get(link)
    assert "締め切られました" in page.text and 'id="answer-form"' not in page.text
    name = re.findall(r"q-[0-9a-f-]{36}", fetch(
        database_urls.owner, "SELECT 'q-' || id AS q FROM prefecture_survey_question WHERE survey_id = $1",
        survey_url.rsplit("/", 1)[-1])[0]["q"])[0]
    late = client.post(link, data={"responder": "大川村", name: "遅れました"})
    assert late.status_code == 410


def test_the_link_function_takes_only_the_survey_s_own_answers(client, database_urls):
    """The SECURITY DEFINER function itself refuses what the form would never send (called as the app role)."""
    from infra.database.provision import connect
    from tests.conftest import run

    pref = _prefecture(client, database_urls)
    survey_url = _survey(client, pref, "関数の確認")
    client.post(f"{survey_url}/questions", data={"csrf_token": pref.csrf, "kind": "text", "label": "ご意見"})
    client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": [NAKATOSA]})
    token = _link(client, pref, survey_url).rsplit("/", 1)[-1]

    async def call(answers: str):
        conn = await connect(database_urls.app)
        try:
            return await conn.fetchval("SELECT survey_link_answer($1, $2::jsonb, 'x')", token, answers)
        finally:
            await conn.close()

    for bad in ('["a"]', '{"00000000-0000-0000-0000-000000000000": "x"}', '{"k": 1}'):
        with pytest.raises(asyncpg.InvalidParameterValueError):
            run(call(bad))
    with pytest.raises(asyncpg.NoDataFoundError):
        run(_wrong_token(database_urls))
    # without a tenant, the app role sees no invitation at all
    assert fetch(database_urls.app, "SELECT count(*) AS n FROM survey_invitation")[0]["n"] == 0


async def _wrong_token(urls):
    from infra.database.provision import connect

    conn = await connect(urls.app)
    try:
        return await conn.fetchval("SELECT survey_link_answer('wrong', '{}'::jsonb, 'x')")
    finally:
        await conn.close()


def test_small_counts_of_people_in_the_answers_are_hidden_like_the_aggregates(client, database_urls):
    """Issue 17 holds for the 実態調査 too: an answer that is a count of people (相談受付件数, 参加者数) from 1 to 4 is
    shown as 秘匿, and no sum, mean, minimum or maximum gives it back; counts of meetings are shown as answered."""
    motoyama = "393410"  # 本山町: not a tenant in any test
    pref = _prefecture(client, database_urls)
    survey_url = _survey(client, pref, "小さな回答の秘匿")
    client.post(f"{survey_url}/standard-items", data={"csrf_token": pref.csrf})
    client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": [NAKATOSA]})
    for code, consultations, meetings in ((OKAWA, "3", "2"), (motoyama, "40", "6")):
        link = _link(client, pref, survey_url, code)
        client.cookies.clear()
        names = re.findall(r'name="(q-[0-9a-f-]+)"', client.get(link).text)
        answers = {n: "" for n in names}
        answers.update({names[1]: consultations, names[3]: meetings})
        assert client.post(link, data={"responder": "担当課", **answers}, follow_redirects=False).status_code == 303
        login(client, pref)
    page = client.get(survey_url).text
    sections = dict(re.findall(r'<h3>\d+\. ([^<]+)</h3>(.*?)</section>', page, re.S))
    consultations = sections["相談支援：相談受付件数（件）"]
    assert "秘匿" in consultations and ">40<" in consultations and ">3<" not in consultations
    assert "合計 " not in consultations and "平均 " not in consultations and "最小 " not in consultations
    meetings = sections["会議開催状況：支援会議の開催回数（回）"]
    assert ">2<" in meetings and "合計 8" in meetings and "秘匿" not in meetings


def test_a_number_answer_that_is_no_number_is_refused_in_words_by_link_and_in_the_app(client, database_urls):
    """float() reads "nan", "inf" and "1e999"; turning them into the stored text then failed (int(nan), int(inf)),
    a server error on the public link page and on the municipality's own answer form alike."""
    pref = _prefecture(client, database_urls)
    survey_url = _survey(client, pref, "令和15年度 数値の確認")
    client.post(f"{survey_url}/standard-items", data={"csrf_token": pref.csrf})
    client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": [NAKATOSA]})
    link = _link(client, pref, survey_url)
    client.cookies.clear()
    names = re.findall(r'name="(q-[0-9a-f-]+)"', client.get(link).text)
    for typed in ("nan", "inf", "-Infinity", "1e999"):
        refused = client.post(link, data={"responder": "大川村 健康福祉課", names[0]: "検討中", names[1]: typed})
        assert refused.status_code == 422 and "数値を入力してください" in refused.text, (typed, refused.status_code)
    assert "回答を受け付けました" not in client.get(link).text  # the link is still open: nothing was taken
    nakatosa = login(client, open_session(database_urls, NAKATOSA, ("tenant-admin",)))
    survey_id = survey_url.rsplit("/", 1)[-1]
    for action in ("save", "submit"):
        refused = client.post(f"/survey/{survey_id}", data={"csrf_token": nakatosa.csrf, "action": action,
                                                           names[0]: "検討中", names[1]: "inf"})
        assert refused.status_code == 422 and "数値を入力してください" in refused.text, action


def test_two_link_requests_at_once_leave_one_live_link(client, database_urls):
    """invite_by_link looks for the municipality's link and then inserts one: two requests at the same moment (a
    double click without htmx) both found none, and the village had two live one-time links. The database's unique
    index (migration 0022) refuses the second (409 in the app), so one link stands."""
    from core.prefecture import service
    from tests.races import two_at_once

    pref = _prefecture(client, database_urls)
    survey_url = _survey(client, pref, "令和15年度 同時のリンク発行")
    client.post(f"{survey_url}/standard-items", data={"csrf_token": pref.csrf})
    client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": [NAKATOSA]})
    survey_id = survey_url.rsplit("/", 1)[-1]

    async def make_link(session):
        await service.invite_by_link(session, await service.get_survey(session, survey_id), OKAWA, pref.sub)

    assert two_at_once(database_urls, "390003", pref.sub, make_link) == ["23505", "done"]  # unique_violation

    async def links(session):
        return await service.invitations(session, await service.get_survey(session, survey_id))

    assert [i.municipality_code for i in unit_of_work(database_urls, "390003", links)] == [OKAWA]
