"""Roadmap board (seeded from the briefing's R3–R6 table, inline edit), back-office schedule, 実態調査 both sides."""

from __future__ import annotations

import re

from tests.sessions import login, open_session


def prefecture_login(client, urls):
    return login(client, open_session(urls, "390003", ("prefecture-admin",)))


def test_the_board_reproduces_the_briefings_r3_to_r6_table(client, database_urls):
    prefecture_login(client, database_urls)
    page = client.get("/prefecture/roadmap").text
    cells = re.findall(r'<td id="cell-(\d{6})-(\d{4})" data-phase="(\w+)"', page)
    plans = dict(re.findall(r'<td id="plan-(\d{6})" data-plan="(\d*)"', page))
    assert len({code for code, _, _ in cells}) == 34
    phases = {(code, int(year)): phase for code, year, phase in cells}

    def count(year, phase):
        return sum(1 for (c, y), p in phases.items() if y == year and p == phase)

    # R3: 7市町 run the 移行準備事業, 27市町村 are considering.
    assert count(2021, "preparation") == 7 and count(2021, "considering") == 27
    # The seven move to the 重層的支援体制整備事業 from R4 on.
    r3_preparers = {c for (c, y), p in phases.items() if y == 2021 and p == "preparation"}
    assert all(phases[(c, y)] == "implementation" for c in r3_preparers for y in (2022, 2023, 2024))
    # Of the 27: some start the 移行準備事業 in R4, the rest in R5 and reach the programme in R6.
    considering = {c for (c, y), p in phases.items() if y == 2021 and p == "considering"}
    r4_start = {c for c in considering if phases[(c, 2022)] == "preparation"}
    r5_start = {c for c in considering if phases[(c, 2023)] == "preparation"}
    assert r4_start and r5_start and r4_start | r5_start == considering
    assert all(phases[(c, 2024)] == "implementation" for c in r5_start)
    assert count(2024, "implementation") == 34
    # 地域福祉計画 revisions: 15 in R4, 10 in R5, 6 in R6.
    years = [int(v) for v in plans.values() if v]
    assert (years.count(2022), years.count(2023), years.count(2024)) == (15, 10, 6)
    # The Japanese labels of the summary table.
    assert "移行準備事業" in page and "重層的支援体制整備事業" in page and "令和3年度" in page


def test_a_cell_is_edited_inline_with_htmx_and_the_board_keeps_it(client, database_urls):
    session = prefecture_login(client, database_urls)
    code, year = "393037", 2022  # 田野町, R4
    edit = client.get(f"/prefecture/roadmap/phase/{code}/{year}?edit=1", headers={"HX-Request": "true"})
    assert edit.status_code == 200 and "<select" in edit.text and edit.text.lstrip().startswith("<td")
    before = re.search(r'data-phase="(\w+)"', edit.text).group(1)
    saved = client.post(f"/prefecture/roadmap/phase/{code}/{year}", data={"phase": "not_started"},
                        headers={"HX-Request": "true", "X-CSRF-Token": session.csrf})
    assert saved.status_code == 200 and 'data-phase="not_started"' in saved.text and "未着手" in saved.text
    assert f'id="cell-{code}-{year}" data-phase="not_started"' in client.get("/prefecture/roadmap").text
    plan = client.post(f"/prefecture/roadmap/plan/{code}", data={"revision_fiscal_year": "20x5"},
                       headers={"HX-Request": "true", "X-CSRF-Token": session.csrf})
    assert "年度を一覧から選んでください" in plan.text
    # The 年度 is chosen as 和暦 (the value sent is the Western year).
    chooser = client.get(f"/prefecture/roadmap/plan/{code}?edit=1", headers={"HX-Request": "true"}).text
    assert "<select" in chooser and "令和" in chooser and "西暦" not in chooser
    # put the seed back for the table test
    client.post(f"/prefecture/roadmap/phase/{code}/{year}", data={"phase": before},
                headers={"HX-Request": "true", "X-CSRF-Token": session.csrf})


def test_the_schedule_is_seeded_with_the_yearly_cycle_and_can_be_edited(client, database_urls):
    session = prefecture_login(client, database_urls)
    page = client.get("/prefecture/schedule?fiscal_year=2021").text
    for title in ("ブロック別市町村連携推進会議", "包括的支援体制実態調査", "四者協議", "地域福祉推進セミナー", "体制構築の手引書の作成"):
        assert title in page
    assert "令和3年4月1日（2021-04-01）" in page  # 和暦 beside Western
    added = client.post("/prefecture/schedule", follow_redirects=False, data={
        "csrf_token": session.csrf, "kind": "seminar", "title": "ひきこもり支援研修", "starts_on": "2031-11-05",
        "participants": "市町村職員", "materials": "https://example.jp/slides.pdf"})
    assert added.status_code == 303 and "fiscal_year=2031" in added.headers["location"]
    page = client.get("/prefecture/schedule?fiscal_year=2031").text
    assert "ひきこもり支援研修" in page and 'href="https://example.jp/slides.pdf"' in page
    bad = client.post("/prefecture/schedule", data={"csrf_token": session.csrf, "kind": "seminar", "title": "x",
                                                    "starts_on": "2031-11-05", "ends_on": "2031-11-01"})
    assert bad.status_code == 422 and "終了日は開始日以降" in bad.text
    client.post("/prefecture/schedule/copy", data={"csrf_token": session.csrf, "fiscal_year": "2031"})
    assert "第2回 重層的支援体制整備事業実施に向けた情報交換会" in client.get("/prefecture/schedule?fiscal_year=2031").text


def test_a_survey_goes_out_is_answered_by_tenant_admins_and_the_prefecture_sees_who_answered(client, database_urls):
    pref = prefecture_login(client, database_urls)
    created = client.post("/prefecture/surveys", follow_redirects=False, data={
        "csrf_token": pref.csrf, "title": "令和12年度 包括的支援体制実態調査", "fiscal_year": "2030"})
    survey_url = created.headers["location"]
    survey_id = survey_url.rsplit("/", 1)[-1]
    for question in ({"kind": "number", "label": "相談窓口の数", "required": "1"},
                     {"kind": "choice", "label": "重層的支援体制整備事業の実施", "choices": "実施\n移行準備\n検討中"},
                     {"kind": "text", "label": "県への要望"}):
        client.post(f"{survey_url}/questions", data={"csrf_token": pref.csrf, **question})
    # a code that is not a municipality using Kyosei (typed or tampered) is refused in words, nothing is sent
    refused = client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": ["394017", "9999999"]})
    assert "送付先には、利用中の市町村を一覧から選んでください。" in refused.text
    client.post(f"{survey_url}/send", data={"csrf_token": pref.csrf, "codes": ["394017", "392049"]})
    assert "0 / 2 団体" in client.get(survey_url).text

    nakatosa = login(client, open_session(database_urls, "394017", ("tenant-admin",)))
    assert "令和12年度 包括的支援体制実態調査" in client.get("/survey").text
    form = client.get(f"/survey/{survey_id}").text
    names = re.findall(r'name="(q-[0-9a-f-]+)"', form)
    assert len(names) == 3
    missing = client.post(f"/survey/{survey_id}", data={"csrf_token": nakatosa.csrf, "action": "submit"})
    assert missing.status_code == 422 and "必須" in missing.text
    client.post(f"/survey/{survey_id}", data={"csrf_token": nakatosa.csrf, "action": "submit",
                                             names[0]: "3", names[1]: "実施", names[2]: "研修を増やしてほしい"})
    assert "提出済み" in client.get(f"/survey/{survey_id}").text

    nankoku = login(client, open_session(database_urls, "392049", ("tenant-admin",)))
    client.post(f"/survey/{survey_id}", data={"csrf_token": nankoku.csrf, "action": "save", names[0]: "4711"})
    staff = login(client, open_session(database_urls, "392049", ("staff",)))
    assert client.get(f"/survey/{survey_id}").status_code == 403  # tenant admins answer, not staff

    login(client, pref)
    results = client.get(survey_url).text
    assert "1 / 2 団体" in results
    assert "研修を増やしてほしい" in results and "未回答" in results
    # a saved draft stays the municipality's own until submitted: the number is in no cell of the results
    # (the page's text, not its markup, whose ids are random hexadecimal and may hold any four digits)
    assert "4711" not in re.sub(r"<[^>]+>", " ", results)
    other = login(client, open_session(database_urls, "392014", ("tenant-admin",)))
    assert client.get(f"/survey/{survey_id}").status_code == 404  # not sent to 高知市
    del staff, other
