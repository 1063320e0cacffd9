"""Conventions every page shares (issue 19): styles in the stylesheet, the htmx error script on every page, the
address bar kept on a re-rendered form (post/redirect/get under htmx), the favicon."""

from __future__ import annotations

import re

import pytest

from tests.sessions import login, open_session
from ui.templating import STATIC_DIR, TEMPLATE_DIR

HTML = {"accept": "text/html"}
# Printed documents (WeasyPrint, no hx-boost) keep their own print styles.
PRINT_TEMPLATES = {"grants/report_print.html", "meetings/minutes_pdf.html", "plans/print.html", "forms/_sheet.html"}


def test_no_page_template_carries_its_own_styles():
    # hx-boost swaps only <body>: a <style> in a page's head was lost when the page was reached through the menu.
    offenders = []
    for path in TEMPLATE_DIR.rglob("*.html"):
        name = path.relative_to(TEMPLATE_DIR).as_posix()
        text = path.read_text(encoding="utf-8")
        if name not in PRINT_TEMPLATES and ("<style" in text or re.search(r"{%\s*block head\s*%}.+?{%\s*endblock", text, re.S)
                                            and name != "base.html"):
            offenders.append(name)
    assert offenders == []


def test_every_class_the_old_page_styles_gave_is_in_the_stylesheet():
    css = (STATIC_DIR / "kyosei.css").read_text(encoding="utf-8")
    for cls in ("data-table", "panel", "timetable", "attendance-list", "cards", "status--closed", "phase--preparation",
                "yen--negative", "field-error", "facts", "sub-nav"):
        assert f".{cls}" in css, cls


@pytest.fixture()
def worker(client, database_urls):
    return login(client, open_session(database_urls, "394017", ("staff",), display_name="中村 健"))


def test_every_page_loads_the_htmx_error_script_and_the_favicon(client, worker):
    page = client.get("/cases", headers=HTML)
    assert '<script src="/static/kyosei.js" defer></script>' in page.text
    script = client.get("/static/kyosei.js")
    assert script.status_code == 200 and "通信できませんでした" in script.text and "htmx:beforeSwap" in script.text
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in icon.text


def test_a_form_refused_under_htmx_keeps_the_address_of_the_page_it_came_from(client, worker):
    # the re-rendered form is answered 200 to htmx; without HX-Push-Url: false htmx put /cases (the POST URL) into
    # the address bar and a reload asked GET /cases/new's form data from nowhere
    answer = client.post("/cases", data={"csrf_token": worker.csrf, "members-0-name": ""},
                         headers={**HTML, "HX-Request": "true", "HX-Boosted": "true"}, follow_redirects=False)
    assert answer.status_code == 200 and 'id="form-errors"' in answer.text
    assert answer.headers["hx-push-url"] == "false"


def test_a_plain_get_and_a_redirected_post_leave_the_address_to_htmx(client, worker):
    page = client.get("/cases/new", headers={**HTML, "HX-Request": "true"})
    assert "hx-push-url" not in page.headers
    # a refused post outside htmx (a plain browser) is no htmx matter either
    plain = client.post("/cases", data={"csrf_token": worker.csrf, "members-0-name": ""}, headers=HTML,
                        follow_redirects=False)
    assert plain.status_code == 422 and "hx-push-url" not in plain.headers


def duplicate_ids(html: str) -> list[str]:
    ids = re.findall(r'\sid="([^"]+)"', html)
    return sorted({i for i in ids if ids.count(i) > 1})


def test_no_page_gives_two_elements_the_same_id(client, worker):
    # two forms of one page sharing field names gave two controls id="f-agency_id": the second one's label named
    # the first control, and the second control had no name for a screen reader
    from tests.test_cases_pages import intake_form

    created = client.post("/cases", data=intake_form(worker.csrf), headers=HTML, follow_redirects=False)
    assert created.status_code == 303, created.text
    for path in ("/cases", "/cases/new", created.headers["location"], "/programs", "/agencies", "/households",
                 "/meetings", "/grants", "/resources"):
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert duplicate_ids(page.text) == [], path


# Pages the other issues added (meetings law #15, admin pages #16, surveys and support log #17, 実施計画 #22):
# the same rule, each read by a role that may open it.
ADDED_PAGES = {
    ("394017", ("staff", "coordinator", "tenant-admin", "auditor")): (
        "/admin/staff", "/admin/break-glass", "/admin/audit", "/admin/audit?person=山田", "/admin/plugins",
        "/grants/plans", "/meetings/follow-up", "/meetings/progress", "/meetings/seats", "/survey", "/community",
        "/cases/counts", "/programs/counts"),
    ("390003", ("prefecture-admin",)): (
        "/prefecture", "/prefecture/support", "/prefecture/surveys", "/prefecture/grants/plans",
        "/prefecture/aggregates", "/prefecture/roadmap", "/prefecture/schedule", "/prefecture/tenants"),
}


@pytest.mark.parametrize(("tenant", "roles"), list(ADDED_PAGES), ids=["municipality", "prefecture"])
def test_the_pages_other_issues_added_give_no_two_elements_the_same_id(client, database_urls, tenant, roles):
    login(client, open_session(database_urls, tenant, roles, display_name="中村 健"))
    for path in ADDED_PAGES[(tenant, roles)]:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert duplicate_ids(page.text) == [], path


def test_download_names_are_japanese_with_an_ascii_fallback():
    from urllib.parse import unquote

    from core.documents.download import attachment

    header = attachment("コア会議/定例_議事録_2026-12-01.pdf", "minutes-1.pdf")["Content-Disposition"]
    fallback, encoded = header.split("; filename*=UTF-8''")
    assert fallback == 'attachment; filename="minutes-1.pdf"'
    assert unquote(encoded) == "コア会議_定例_議事録_2026-12-01.pdf"  # a slash cannot be in a file name
    assert encoded.isascii() and " " not in encoded


def test_the_case_list_download_has_one_charset_and_a_japanese_name(client, worker):
    response = client.get("/cases/export.csv", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''%E6%94%AF%E6%8F%B4" in response.headers["content-disposition"]  # 支援ケース一覧_…


def test_an_agencys_staff_member_is_picked_by_name_not_typed_as_an_id(client, database_urls):
    from core.auth import staff_directory
    from tests.cases_support import unit_of_work

    admin = login(client, open_session(database_urls, "394017", ("staff", "coordinator"), display_name="山本 花子"))
    created = client.post("/agencies", data={"csrf_token": admin.csrf, "name": "久礼地域包括支援センター",
                                             "field": "elderly"}, headers=HTML, follow_redirects=False)
    assert created.status_code == 303, created.text[:500]
    agency = re.search(r'href="(/agencies/[0-9a-f-]{36})">久礼地域包括支援センター',
                       client.get("/agencies", headers=HTML).text).group(1)

    async def listed(session):
        # through the ORM, so the directory's search keys (issue 18) are written as for anyone who signed in
        session.add(staff_directory.StaffEntry(
            tenant_id="394017", user_sub="sub-kubo-0001", display_name="久保 直子", kana="くぼ なおこ",
            username="nakatosa.kubo"))

    unit_of_work(database_urls, "394017", listed)
    page = client.get(agency, headers=HTML).text
    assert "職員のID" not in page and "Keycloak" not in page
    found = client.get(agency + "?q=くぼ", headers=HTML).text
    assert 'name="user_sub" value="sub-kubo-0001"> 久保 直子（くぼ なおこ）' in found

    empty = client.post(agency + "/staff", data={"csrf_token": admin.csrf, "q": "くぼ"}, headers=HTML)
    assert empty.status_code == 422 and "登録する職員を、氏名やふりがなで探して選んでください。" in empty.text
    picked = client.post(agency + "/staff", data={"csrf_token": admin.csrf, "user_sub": "sub-kubo-0001"},
                         headers=HTML)
    assert picked.status_code == 200 and "<li>久保 直子</li>" in picked.text  # the name came from the directory


def test_an_error_page_lists_messages_without_internal_field_keys():
    from ui.templating import create_environment

    page = create_environment().get_template("error.html").render(
        status_code=400, errors=[{"key": "members[0].kana", "message": "ふりがなを入力してください。"}])
    assert "ふりがなを入力してください。" in page
    assert "members[0].kana" not in page
