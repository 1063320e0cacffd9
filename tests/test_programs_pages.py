"""事業・拠点 pages with the 南国市 plugin enabled for 南国市 only: the hub's week, enrolment through the plugin's
rules, attendance for a whole group in one submission, and what 中土佐町 does not see."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from core import wareki
from core.programs import service
from core.programs.models import Enrolment, Hub, Program
from tests.conftest import run
from tests.sessions import login, open_session
from tests.test_programs_service import in_tenant

NANKOKU, NAKATOSA = "392049", "394017"


@pytest.fixture(scope="module")
def nankoku_enabled(database_urls):
    """The bundled plugin approved by the prefecture and enabled by 南国市 only (removed again afterwards)."""
    from core.plugins import operator
    from plugins import nankoku

    run(operator.approve(database_urls.owner, nankoku.PLUGIN))
    run(operator.set_enabled(database_urls.owner, NANKOKU, "nankoku", True))
    yield
    run(operator.set_enabled(database_urls.owner, NANKOKU, "nankoku", False))


def _client(client, urls, tenant, roles):
    session = login(client, open_session(urls, tenant, roles))
    client.headers["X-CSRF-Token"] = session.csrf
    client.csrf = session.csrf
    return client


@pytest.fixture()
def nankoku_admin(client, database_urls, nankoku_enabled):
    return _client(client, database_urls, NANKOKU, ("staff", "tenant-admin"))


@pytest.fixture()
def nankoku_staff(client, database_urls, nankoku_enabled):
    return _client(client, database_urls, NANKOKU, ("staff", "coordinator"))


@pytest.fixture()
def nakatosa_staff(client, database_urls, nankoku_enabled):
    return _client(client, database_urls, NAKATOSA, ("staff", "coordinator", "tenant-admin"))


def install(client):
    response = client.post("/programs/catalog", data={"csrf_token": client.csrf}, follow_redirects=False)
    assert response.status_code == 303
    return client.get("/programs").text


def hub_id(client) -> str:
    hubs = [h for h in client.get("/api/programs/hubs").json() if h["code"] == "nankoku_hub"]
    assert len(hubs) == 1
    return hubs[0]["id"]


def program_id(client, code: str) -> str:
    return next(p["id"] for p in client.get("/api/programs").json() if p["code"] == code)


def cells(html: str) -> dict[tuple[str, int], str]:
    """(period, weekday) → the text of that timetable cell."""
    found = {}
    for weekday, period, body in re.findall(
            r'<td data-weekday="(\d)" data-period="([^"]+)">(.*?)</td>', html, re.S):
        found[(period, int(weekday))] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
    return found


def test_the_installed_catalog_shows_the_seeds_week(nankoku_admin, database_urls):
    first = install(nankoku_admin)
    assert "「南国市 活動拠点」の事業カタログを取り込みました" in first and "nankoku" not in first
    again = install(nankoku_admin)  # idempotent: nothing added the second time
    assert "拠点0件、事業0件、時間枠0件を追加、0件を更新" in again

    page = nankoku_admin.get(f"/programs/hubs/{hub_id(nankoku_admin)}")
    assert page.status_code == 200
    grid = cells(page.text)
    # times only where the seed's text gives them; the rest 「時間は拠点で確認」; disagreements noted on the slot
    assert grid[("午前", 0)] == "MORITO ROOM（モリトルーム） 10:00～16:00 ※資料の週間表では午前の欄のみ。時間は本文による"
    assert grid[("午前", 1)] == "カフェ・ド・ポム（カフェ就労） 08:45～12:00"
    assert grid[("午後", 1)] == "みんなの居場所 時間は拠点で確認"
    assert grid[("午前", 2)] == "つぐみアカデミー 時間は拠点で確認"
    assert grid[("午後", 2)] == "独居高齢者の集い 14:00～18:00 65歳以上"
    assert grid[("午後", 4)] == "独居高齢者の集い 14:00～18:00 65歳以上 ※資料の週間表では金曜ではなく土曜の午後。本文（水・金）に従う"
    assert grid[("午前", 3)] == "個別支援 時間は拠点で確認"
    for day in (5, 6):
        assert grid[("午前", day)] == "子どもの学習支援 時間は拠点で確認 小学3～4年生（国語・算数）"
    assert grid[("午後", 6)] == "子どもの学習支援 時間は拠点で確認 小学5～6年生（国語・算数・理科・社会）"
    assert grid[("午後", 5)] == ""  # the seed's sheet has no Saturday afternoon class
    assert grid[("午後", 0)] == grid[("午前", 4)] == grid[("午後", 3)] == ""
    assert "65歳以上の要介護認定を受けていない方で、子どもがいない、または県外にいる方" in page.text

    async def count(s):
        return (await s.scalar(select(func.count()).select_from(Hub).where(Hub.source == "nankoku")),
                await s.scalar(select(func.count()).select_from(Program).where(Program.source == "nankoku")))

    assert in_tenant(database_urls, NANKOKU, count) == (1, 7)


def enrol(client, program: str, **fields):
    data = {"csrf_token": client.csrf, **fields}
    return client.post(f"/programs/{program}/enrolments", data=data, follow_redirects=False)


def roster_size(urls, program: str) -> int:
    async def work(s):
        return await s.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.program_id == program))

    return in_tenant(urls, NANKOKU, work)


def test_the_seniors_gathering_refuses_a_60_year_old_with_the_reason_and_accepts_a_70_year_old(
        nankoku_admin, database_urls):
    install(nankoku_admin)
    seniors = program_id(nankoku_admin, "seniors_gathering")
    before = roster_size(database_urls, seniors)

    refused = enrol(nankoku_admin, seniors, person_name="南国 次郎", age="60", care_certified="no", has_children="no")
    assert refused.status_code == 422
    assert "参加の条件を満たしていないため登録できません" in refused.text
    assert "対象は65歳以上の方です（60歳）。" in refused.text
    assert 'value="南国 次郎"' in refused.text  # what was typed is kept
    assert roster_size(database_urls, seniors) == before

    nearby = enrol(nankoku_admin, seniors, person_name="南国 三郎", age="72", care_certified="no",
                   has_children="yes", children_in_prefecture="yes")
    assert nearby.status_code == 422 and "お子さんが県内にいる方は対象外です" in nearby.text

    accepted = enrol(nankoku_admin, seniors, person_name="南国 ハナ", person_kana="なんこく はな",
                     birth_date=(wareki.today().replace(year=wareki.today().year - 70) - dt.timedelta(days=1)).isoformat(),
                     care_certified="no", has_children="yes", children_in_prefecture="no", resident="yes")
    assert accepted.status_code == 303
    assert "南国 ハナさんを参加登録しました" in nankoku_admin.get(accepted.headers["location"]).text
    assert roster_size(database_urls, seniors) == before + 1

    # The JSON API answers the same refusal with the reasons.
    api = nankoku_admin.post(f"/api/programs/{seniors}/enrolments",
                             json={"person_name": "南国 四郎", "age": 60, "care_certified": "no", "has_children": "no"})
    assert api.status_code == 422 and api.json()["reasons"] == ["対象は65歳以上の方です（60歳）。"]


def test_attendance_for_twenty_children_in_one_submission(nankoku_admin, database_urls):
    install(nankoku_admin)
    study = program_id(nankoku_admin, "study_support")
    generated = nankoku_admin.post(f"/programs/{study}/sessions", follow_redirects=False,
                                   data={"csrf_token": nankoku_admin.csrf, "date_from": "2025-05-01",
                                         "date_to": "2025-05-11"})
    assert generated.status_code == 303
    flash = nankoku_admin.get(generated.headers["location"]).text
    # May 2031: Sat 3 and Sun 4 are 憲法記念日 and みどりの日; Sat 10 and Sun 11 are ordinary: the seed's sheet has
    # 小学3～4年生 on both mornings and 小学5～6年生 on the Sunday afternoon only, so 3 sessions.
    assert "開催回を3件作成しました" in flash and "05/03（憲法記念日）" in flash and "05/04（みどりの日）" in flash

    async def setup(s):
        from core.programs.eligibility import Applicant
        from core.programs.schemas import EnrolmentInput

        children = []
        for i in range(22):
            children.append((await service.enrol(s, study, EnrolmentInput(
                f"児童 {i:02d}", "じどう", None, dt.date(2025, 4, 1), Applicant(school_grade=4, attends_cram_school=False)))).id)
        first = (await service.list_sessions(s, study, dt.date(2025, 5, 10), dt.date(2025, 5, 10)))[0]
        from sqlalchemy import text

        # Other tests may have enrolled children in the same catalog programme: the sheet lists all who were
        # enrolled on the session's day (a later enrolment is not on that day's roster).
        enrolled = (await s.execute(text(
            "SELECT count(*) FROM program_enrolment WHERE program_id = :p AND enrolled_on <= :day "
            "AND (ended_on IS NULL OR ended_on >= :day)"), {"p": study, "day": first.held_on})).scalar()
        return [str(c) for c in children], str(first.id), enrolled

    children, session_id, enrolled = in_tenant(database_urls, NANKOKU, setup)
    assert enrolled >= 22
    sheet = nankoku_admin.get(f"/programs/sessions/{session_id}/attendance")
    assert sheet.status_code == 200 and sheet.text.count('name="present"') == enrolled

    response = nankoku_admin.post(f"/programs/sessions/{session_id}/attendance", follow_redirects=False,
                                  data={"csrf_token": nankoku_admin.csrf, "present": children[:20],
                                        "anonymous_headcount": "3"})
    assert response.status_code == 303
    assert "出席を記録しました（登録者20名、名前を記録しない参加者3名）" in nankoku_admin.get(response.headers["location"]).text

    async def check(s):
        return len(await service.attendance_of(s, session_id)), (await service.get_session(s, session_id)).anonymous_headcount

    assert in_tenant(database_urls, NANKOKU, check) == (20, 3)

    bad = nankoku_admin.post(f"/programs/sessions/{session_id}/attendance", follow_redirects=False,
                             data={"csrf_token": nankoku_admin.csrf, "present": children[:5],
                                   "anonymous_headcount": "三人"})
    assert bad.status_code == 422 and "名前を記録しない参加者数は半角の整数で入力してください。" in bad.text
    assert in_tenant(database_urls, NANKOKU, check) == (20, 3)  # nothing written

    counts = nankoku_admin.get("/programs/counts?year=2025&month=5")
    assert counts.status_code == 200
    assert '<td data-key="participation_participants">20</td>' in counts.text

    # a session that has not happened yet takes no attendance (it would count in the month's figures)
    nankoku_admin.post(f"/programs/{study}/sessions", data={"csrf_token": nankoku_admin.csrf,
                                                            "date_from": "2031-05-10", "date_to": "2031-05-11"})

    async def future(s):
        return str((await service.list_sessions(s, study, dt.date(2031, 5, 10), dt.date(2031, 5, 11)))[0].id)

    later = in_tenant(database_urls, NANKOKU, future)
    early = nankoku_admin.post(f"/programs/sessions/{later}/attendance", follow_redirects=False,
                               data={"csrf_token": nankoku_admin.csrf, "present": children[:2],
                                     "anonymous_headcount": "0"})
    assert early.status_code == 409 and "まだ開催されていないため、出席を記録できません" in early.text
    assert nankoku_admin.get("/programs/counts?year=2031&month=5").text.count(
        '<td data-key="participation_participants">0</td>') == 1


def test_nakatosa_sees_none_of_nankokus_programmes_or_rules(nankoku_admin, nakatosa_staff, database_urls):
    install(nankoku_admin)
    page = install(nakatosa_staff)  # 中土佐町 did not enable the plugin: nothing to install
    assert "取り込める事業カタログはありません" in page
    assert "MORITO ROOM" not in page and "独居高齢者の集い" not in page
    assert all(h["code"] != "nankoku_hub" for h in nakatosa_staff.get("/api/programs/hubs").json())

    # A Nakatosa programme with the same code is not judged by Nankoku's rule.
    async def make(s):
        hub = await service.create_hub(s, {"name": "中土佐の集会所", "kind": "venue"})
        program = await service.create_program(s, {"hub_id": hub.id, "name": "集いの場", "kind": "community"})
        program.code = "seniors_gathering"
        return str(hub.id), str(program.id)

    hub, program = in_tenant(database_urls, NAKATOSA, make)
    timetable = nakatosa_staff.get(f"/programs/hubs/{hub}")
    assert timetable.status_code == 200 and "MORITO ROOM" not in timetable.text
    accepted = enrol(nakatosa_staff, program, person_name="中土佐 次郎", age="60")
    assert accepted.status_code == 303


def test_bad_input_gives_japanese_field_messages_and_never_a_500(nakatosa_staff, database_urls):
    hub = nakatosa_staff.post("/programs/hubs", data={"csrf_token": nakatosa_staff.csrf, "name": "", "kind": "castle"},
                              follow_redirects=False)
    assert hub.status_code == 422
    assert "拠点名を入力してください。" in hub.text and "拠点の種類は一覧から選んでください。" in hub.text

    ok = nakatosa_staff.post("/programs/hubs", data={"csrf_token": nakatosa_staff.csrf, "name": "久礼の拠点",
                                                     "kind": "attaka_fureai"}, follow_redirects=False)
    assert ok.status_code == 303
    new_hub = ok.headers["location"].rsplit("/", 1)[-1]
    program = nakatosa_staff.post("/programs", follow_redirects=False, data={
        "csrf_token": nakatosa_staff.csrf, "hub_id": new_hub, "name": "久礼の居場所", "kind": "community",
        "min_age": "70", "max_age": "60"})
    assert program.status_code == 422 and "対象年齢の上限は下限以上にしてください。" in program.text
    program = nakatosa_staff.post("/programs", follow_redirects=False, data={
        "csrf_token": nakatosa_staff.csrf, "hub_id": new_hub, "name": "久礼の居場所", "kind": "community",
        "drop_in": "1"})
    assert program.status_code == 303
    pid = program.headers["location"].rsplit("/", 1)[-1]

    slot = nakatosa_staff.post(f"/programs/{pid}/slots", follow_redirects=False,
                               data={"csrf_token": nakatosa_staff.csrf, "start_time": "16:00", "end_time": "9:00"})
    assert slot.status_code == 422
    assert "曜日を1つ以上選んでください。" in slot.text and "終了時刻は開始時刻より後にしてください。" in slot.text

    bad = enrol(nakatosa_staff, pid, person_name="", age="-1", birth_date="2020-02-30", person_kana="Kure")
    assert bad.status_code == 422
    for message in ("氏名を入力してください。", "年齢は0から120までの数で入力してください。",
                    "生年月日は 2025-04-01 または 令和7年4月1日（R7.4.1） の形で正しい日付を入力してください。",
                    "ふりがなは、ひらがなまたはカタカナで入力してください。"):
        assert message in bad.text

    too_long = nakatosa_staff.post(f"/programs/{pid}/sessions", follow_redirects=False,
                                   data={"csrf_token": nakatosa_staff.csrf, "date_from": "2031-01-01",
                                         "date_to": "2033-01-01"})
    assert too_long.status_code == 422 and "一度に作成できる期間は400日までです。" in too_long.text

    for path in ("/programs/not-a-uuid", "/programs/hubs/00000000-0000-0000-0000-000000000000",
                 "/programs/sessions/%2e%2e/attendance", "/community/activities/x"):
        assert nakatosa_staff.get(path).status_code == 404
    assert nakatosa_staff.get("/programs/counts?year=abc").status_code == 400
    api = nakatosa_staff.post(f"/api/programs/{pid}/enrolments", content=b"{not json",
                              headers={"content-type": "application/json"})
    assert api.status_code == 400 and api.json()["errors"][0]["message"] == "JSONの形式が正しくありません。"


def test_community_activity_partner_and_resource_pages(nakatosa_staff):
    c = nakatosa_staff
    first = c.post("/community/activities", data={"csrf_token": c.csrf, "name": "地域の居場所", "area": "久礼",
                                                  "started_by": "子育てひろばのボランティア"}, follow_redirects=False)
    assert first.status_code == 303
    parent = first.headers["location"].rsplit("/", 1)[-1]
    child = c.post("/community/activities", data={"csrf_token": c.csrf, "name": "子ども食堂", "field": "child",
                                                  "grew_from_id": parent}, follow_redirects=False)
    assert child.status_code == 303
    page = c.get(f"/community/activities/{parent}").text
    assert "子ども食堂" in page
    note = c.post(f"/community/activities/{parent}/notes", data={"csrf_token": c.csrf, "note": ""},
                  follow_redirects=False)
    assert note.status_code == 422 and "経過を入力してください。" in note.text

    partner = c.post("/community/partners", data={"csrf_token": c.csrf, "kind": "business", "pillar": "participation",
                                                   "name": "久礼の八百屋"}, follow_redirects=False)
    assert partner.status_code == 303 and "久礼の八百屋" in c.get("/community").text

    resource = c.post("/resources", data={"csrf_token": c.csrf, "name": "久礼の配食", "field": "elderly",
                                          "area": "久礼"}, follow_redirects=False)
    assert resource.status_code == 303
    assert c.post("/resources", data={"csrf_token": c.csrf, "name": "x", "field": "pets"},
                  follow_redirects=False).status_code == 422
    found = c.get("/resources?field=elderly&area=久礼", headers={"HX-Request": "true", "HX-Target": "resource-results"})
    assert found.status_code == 200 and "久礼の配食" in found.text and "<html" not in found.text
    assert "久礼の配食" not in c.get("/resources?field=child").text


def test_a_programmes_form_asks_only_the_questions_of_its_eligibility_rules(nankoku_admin):
    install(nankoku_admin)

    def questions(code: str) -> set[str]:
        page = nankoku_admin.get(f"/programs/{program_id(nankoku_admin, code)}").text
        form = re.search(r'action="/programs/[^"]+/enrolments".*?</form>', page, re.S).group(0)
        return set(re.findall(r'name="(resident|care_certified|has_children|children_in_prefecture|school_grade|'
                              r'attends_cram_school|withdrawal_history|employment_prep_user|program_member)"', form))

    assert questions("study_support") == {"school_grade", "attends_cram_school"}
    assert questions("seniors_gathering") == {"care_certified", "has_children", "children_in_prefecture"}
    # 「すでに参加している事業」 is picked by name from the municipality's programmes, not typed as a code
    cafe = nankoku_admin.get(f"/programs/{program_id(nankoku_admin, 'cafe_de_pomme')}").text
    assert questions("cafe_de_pomme") == {"resident", "employment_prep_user", "program_member"}
    assert 'name="program_member" value="morito_room"> MORITO ROOM（モリトルーム）' in cafe
    assert "例: morito_room" not in cafe


def test_the_demo_seed_installs_the_catalog_with_the_plugin(database_urls):
    # `kyosei run` seeds 南国市 with its plugin enabled: its programmes are there without an import by hand
    from plugins import nankoku
    from tenants.seed import install_bundled_catalog

    async def codes(s):
        return sorted(p.code for p in await service.list_programs(s) if p.source == "nankoku")

    run(install_bundled_catalog(database_urls.owner, NANKOKU, nankoku))
    installed = in_tenant(database_urls, NANKOKU, codes)
    assert {"study_support", "morito_room", "seniors_gathering"} <= set(installed)
    run(install_bundled_catalog(database_urls.owner, NANKOKU, nankoku))  # again: nothing doubled
    assert in_tenant(database_urls, NANKOKU, codes) == installed
    assert in_tenant(database_urls, NAKATOSA, codes) == []
