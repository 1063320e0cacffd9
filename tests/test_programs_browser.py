"""南国市's coordinator opens the hub's weekly timetable in Chromium and enters a session's attendance on one page."""

from __future__ import annotations

import datetime as dt

import pytest

from core import wareki
from tests.browser_checks import assert_accessible, assert_journey_page, assert_refusal_visible
from tests.conftest import keycloak_login, run
from tests.test_programs_service import in_tenant

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]

NANKOKU = "392049"


@pytest.fixture()
def study_session(database_urls):
    """The plugin enabled for 南国市, its catalog installed, the latest study-support session with 21 children."""
    from core.plugins import operator
    from core.programs import service
    from core.programs.eligibility import Applicant
    from core.programs.schemas import EnrolmentInput
    from plugins import nankoku
    from plugins.nankoku import catalog

    run(operator.approve(database_urls.owner, nankoku.PLUGIN))
    run(operator.set_enabled(database_urls.owner, NANKOKU, "nankoku", True))

    async def work(s):
        await service.install_catalog(s, "nankoku", catalog.CATALOG)
        study = next(p for p in await service.list_programs(s) if p.code == catalog.STUDY_SUPPORT)
        today = wareki.today()
        # the latest session that has happened (attendance is taken for those only); study support is weekly
        await service.generate_sessions(s, study.id, today - dt.timedelta(days=21), today)
        held = [x for x in await service.list_sessions(s, study.id, today - dt.timedelta(days=21), today)
                if x.status == "scheduled"][-1]
        for i in range(21):
            await service.enrol(s, study.id, EnrolmentInput(f"学習 児童{i:02d}", "がくしゅう", None,
                                                            today - dt.timedelta(days=30),
                                                            Applicant(school_grade=5, attends_cram_school=False)))
        return str(study.id), str(held.id)

    yield in_tenant(database_urls, NANKOKU, work)
    run(operator.set_enabled(database_urls.owner, NANKOKU, "nankoku", False))


def test_timetable_then_attendance_for_twenty(page, live_app, study_session):
    study_id, session_id = study_session
    keycloak_login(page, live_app, "nankoku.tanaka", audit=True)
    page.click("nav.site-nav >> text=事業・拠点")
    page.click("text=南国市 活動拠点")
    page.wait_for_selector("#timetable")
    timetable = page.url.removeprefix(live_app)
    monday_morning = page.inner_text("td[data-weekday='0'][data-period='午前']")
    assert "MORITO ROOM" in monday_morning and "10:00～16:00" in monday_morning
    assert "独居高齢者の集い" in page.inner_text("td[data-weekday='4'][data-period='午後']")
    assert "小学5～6年生" in page.inner_text("td[data-weekday='6'][data-period='午後']")

    page.click("td[data-weekday='5'][data-period='午前'] >> text=子どもの学習支援")
    page.wait_for_selector("#sessions")
    page.click(f"a[href='/programs/sessions/{session_id}/attendance']")
    page.wait_for_selector("#attendance-form")
    boxes = page.locator("input[name=present]")
    assert boxes.count() == 21
    for i in range(20):
        boxes.nth(i).check()
    page.fill("#f-anonymous_headcount", "2")
    page.click("#attendance-form button[type=submit]")
    page.wait_for_selector("text=出席を記録しました（登録者20名、名前を記録しない参加者2名）。")
    assert page.locator("input[name=present]:checked").count() == 20

    # A mistake is answered on the same page in Japanese, and the recorded attendance stays as it was.
    page.fill("#f-anonymous_headcount", "たくさん")
    page.click("#attendance-form button[type=submit]")
    assert_refusal_visible(page, "名前を記録しない参加者数は半角の整数で入力してください。")
    assert_accessible(page, "attendance with errors")
    page.goto(f"{live_app}/programs/sessions/{session_id}/attendance")
    assert page.locator("input[name=present]:checked").count() == 20
    assert page.input_value("#f-anonymous_headcount") == "2"

    # Enrolment: the form asks only this programme's questions; a child outside its rule is refused on screen
    page.goto(f"{live_app}/programs/{study_id}")
    form = page.locator("form[action$='/enrolments']")
    assert form.locator("[name=school_grade]").count() == 1 and form.locator("[name=care_certified]").count() == 0
    form.locator("[name=person_name]").fill("学習 花子")
    form.locator("[name=school_grade]").fill("2")
    form.locator("input[name=attends_cram_school][value=no]").check()
    form.locator("button[type=submit]").click()
    assert_refusal_visible(page, "参加の条件を満たしていないため登録できません")
    assert page.url == f"{live_app}/programs/{study_id}"
    form = page.locator("form[action$='/enrolments']")
    form.locator("[name=school_grade]").fill("4")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=学習 花子さんを参加登録しました")

    for path in ("/programs", timetable, f"/programs/{study_id}", f"/programs/sessions/{session_id}/attendance",
                 "/resources", "/programs/counts"):
        assert_journey_page(page, live_app, path)
