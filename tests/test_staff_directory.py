"""職員名簿 (staff directory) and the meeting member picker.

- a sign-in upserts the user into its tenant's directory, written with the tenant bound (another tenant never sees
  the row); a reading the identity provider does not send is kept; a failure never blocks the login;
- the search finds people by 漢字, かな (hiragana, katakana, half-width) or user name, spaces ignored;
- the demo seed lists the demo realm's users in their municipalities;
- the member form sends the picked person's sub; the name comes from the directory; an unknown sub is refused.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from core.auth import staff_directory
from core.auth.oidc import kana_name_of
from tests.cases_support import unit_of_work
from tests.conftest import run
from tests.test_meetings_pages import NAKATOSA, NANKOKU, logged_in, owner_fetch


def _sign_in(urls, tenant_id, sub, **person) -> bool:
    from core.database import create_engine

    async def go():
        engine = create_engine(urls.app, pool_size=1)
        try:
            return await staff_directory.record_sign_in(engine, tenant_id, sub=sub, **person)
        finally:
            await engine.dispose()

    return run(go())


def _search(urls, tenant_id, q) -> list[str]:
    async def work(session):
        return [e.user_sub for e in await staff_directory.search(session, q)]

    return unit_of_work(urls, tenant_id, work)


def _row(urls, tenant_id, sub):
    rows = run(owner_fetch(urls.owner, tenant_id, "SELECT * FROM staff_directory WHERE user_sub = $1", sub))
    return rows[0] if rows else None


def test_sign_in_lists_the_user_in_its_own_tenant_only_and_keeps_a_known_reading(database_urls):
    sub = str(uuid.uuid4())
    assert _sign_in(database_urls, NAKATOSA, sub, username="nakatosa.ueda", display_name="上田 光",
                    kana="うえだ ひかる")
    first = _row(database_urls, NAKATOSA, sub)
    assert first["display_name"] == "上田 光" and first["kana"] == "うえだ ひかる" and first["last_seen_at"]
    assert _row(database_urls, NANKOKU, sub) is None
    assert sub not in _search(database_urls, NANKOKU, "上田")

    # the next sign-in brings a new name and no reading: the name changes, the reading stays
    assert _sign_in(database_urls, NAKATOSA, sub, username="nakatosa.ueda", display_name="上田 ひかる")
    again = _row(database_urls, NAKATOSA, sub)
    assert again["display_name"] == "上田 ひかる" and again["kana"] == "うえだ ひかる"
    assert again["last_seen_at"] >= first["last_seen_at"]

    assert not _sign_in(database_urls, "390003", sub, username="pref", display_name="県 職員")  # not listed
    assert not _sign_in(database_urls, "9999999", sub, username="x", display_name="x")  # failure: logged, no raise


def test_the_app_role_cannot_write_another_tenants_row(database_urls):
    from sqlalchemy.exc import DBAPIError

    from core.auth.staff_directory import StaffEntry

    async def work(session):
        session.add(StaffEntry(tenant_id=NANKOKU, user_sub=str(uuid.uuid4()), display_name="越境 太郎", username="x"))
        await session.flush()

    with pytest.raises(DBAPIError, match="row-level security"):
        unit_of_work(database_urls, NAKATOSA, work)


def test_search_by_kanji_kana_or_user_name_with_spaces_ignored(database_urls):
    sub = str(uuid.uuid4())
    _sign_in(database_urls, NAKATOSA, sub, username="nakatosa.morioka", display_name="森岡 千尋", kana="もりおか ちひろ")
    for q in ("森岡", "岡 千", "森岡千尋", "もりおか", "モリオカ", "ﾓﾘｵｶ", "ちひろ", "おかち", "MORIOKA", "nakatosa.mori"):
        assert sub in _search(database_urls, NAKATOSA, q), q
    for q in ("", "   ", "%", "_", "森岡 千尋 さん"):
        assert sub not in _search(database_urls, NAKATOSA, q), q


def test_demo_seed_lists_the_demo_users_in_their_municipalities(database_urls):
    from infra.keycloak.realm import stable_id
    from tenants.seed import seed_demo_staff

    run(seed_demo_staff(database_urls.owner))
    assert run(seed_demo_staff(database_urls.owner)) == 0  # idempotent
    staff2 = _row(database_urls, NAKATOSA, stable_id("user", "nakatosa.staff2"))
    assert staff2["display_name"] == "中村 健" and staff2["kana"] == "なかむら けん"
    # found by the member picker like anyone who signed in (the seed writes the search keys too)
    assert stable_id("user", "nakatosa.staff2") in _search(database_urls, NAKATOSA, "ナカムラ")
    assert stable_id("user", "nakatosa.staff2") in _search(database_urls, NAKATOSA, "中村健")
    sato = stable_id("user", "multi.sato")
    assert _row(database_urls, NAKATOSA, sato) and _row(database_urls, NANKOKU, sato)
    assert _row(database_urls, NANKOKU, stable_id("user", "nakatosa.staff2")) is None
    assert run(owner_fetch(database_urls.owner, "390003", "SELECT 1 FROM staff_directory")) == []


def test_kana_comes_from_language_tagged_claims():
    assert kana_name_of({"family_name#ja-Kana-JP": "ヤマモト", "given_name#ja-Kana-JP": "ハナコ"}) == "ヤマモト ハナコ"
    assert kana_name_of({"name#ja-Hira-JP": "やまもと はなこ"}) == "やまもと はなこ"
    assert kana_name_of({"family_name": "山本", "family_name#ja-Kana-JP": 3}) is None


def test_member_picker_partial_and_form(app, database_urls):
    colleague = str(uuid.uuid4())
    _sign_in(database_urls, NAKATOSA, colleague, username="nakatosa.hirose", display_name="広瀬 葵", kana="ひろせ あおい")
    stranger = str(uuid.uuid4())
    _sign_in(database_urls, NANKOKU, stranger, username="nankoku.hirose", display_name="広瀬 南国", kana="ひろせ なんこく")
    with logged_in(app, database_urls, roles=("staff",)) as client:
        created = client.post("/meetings/", data={"kind": "support_meeting", "starts_at": "2026-12-11T10:00",
                                                  "place": "役場"}, follow_redirects=False)
        meeting_id = created.headers["location"].rsplit("/", 1)[-1]
        # a 支援会議: the organiser acknowledges secrecy first (until then the page shows facts and members only)
        page = client.get(f"/meetings/{meeting_id}")
        assert 'id="mm-search"' not in page.text
        ack = re.search(r'action="(/meetings/[^"]+/acknowledge)"', page.text).group(1)
        assert client.post(ack, data={}, follow_redirects=False).status_code == 303
        page = client.get(f"/meetings/{meeting_id}")
        assert 'id="mm-search"' in page.text and 'hx-get="/meetings/staff-directory"' in page.text
        assert 'name="user_sub"' in page.text and 'id="mm-sub"' not in page.text  # no typed ids any more

        options = client.get("/meetings/staff-directory", params={"q": "ヒロセ"}, headers={"HX-Request": "true"})
        assert options.status_code == 200 and "<html" not in options.text
        assert f'value="{colleague}"' in options.text and "広瀬 葵" in options.text
        assert stranger not in options.text and "広瀬 南国" not in options.text
        assert "見つかりません" in client.get("/meetings/staff-directory", params={"q": "該当なし"}).text
        # without JavaScript the search reloads the meeting page with the options
        assert f'value="{colleague}"' in client.get(f"/meetings/{meeting_id}", params={"q": "広瀬"}).text

        added = client.post(f"/meetings/{meeting_id}/members", data={"user_sub": colleague, "name": "",
                                                                     "member_role": "required"}, follow_redirects=False)
        assert added.status_code == 303
        assert "広瀬 葵" in client.get(f"/meetings/{meeting_id}").text
        refused = client.post(f"/meetings/{meeting_id}/members", data={"user_sub": stranger})
        assert refused.status_code == 422 and "職員名簿にない職員です" in refused.text
        external = client.post(f"/meetings/{meeting_id}/members", data={"user_sub": "", "name": "民生 委員",
                                                                        "organisation": "民生委員協議会"},
                               follow_redirects=False)
        assert external.status_code == 303
    rows = run(owner_fetch(database_urls.owner, NAKATOSA,
                           "SELECT name, user_sub FROM meeting_member WHERE meeting_id = $1::uuid ORDER BY id",
                           meeting_id))
    assert [r["name"] for r in rows][1:] == ["広瀬 葵", "民生 委員"] and rows[1]["user_sub"] == colleague
    assert rows[2]["user_sub"] is None
    # the organiser never went through a sign-in here (a test session): scheduling the meeting listed them
    assert _row(database_urls, NAKATOSA, rows[0]["user_sub"]) is not None
    assert dt.datetime.now(dt.UTC) - _row(database_urls, NAKATOSA, colleague)["last_seen_at"] < dt.timedelta(minutes=5)
