"""後方支援記録: the prefecture logs its support per municipality; the roadmap board reads the latest support, the
open follow-ups and the progress toward the goal from it; municipalities see none of it."""

from __future__ import annotations

import re

from core import wareki
from tests.db import fetch
from tests.sessions import login, open_session

KUROSHIO = "394289"  # 黒潮町


def _count_rows(urls, tenant):
    return fetch(urls.app, "SELECT count(*) AS n FROM support_log_entry", tenant=tenant)[0]["n"]


def test_a_visit_with_a_follow_up_moves_the_board_and_is_completed(client, database_urls):
    from core.wareki import fiscal_year_of

    pref = login(client, open_session(database_urls, "390003", ("prefecture-admin",)))
    year = fiscal_year_of(wareki.today())
    board = client.get("/prefecture/roadmap").text
    reached = int(re.search(r'id="goal-progress">.*?<strong>(\d+) / 34</strong>', board, re.S).group(1))
    before = _count_rows(database_urls, "390003")

    refused = client.post("/prefecture/support", data={"csrf_token": pref.csrf, "municipality_code": KUROSHIO,
                                                       "kind": "visit", "held_on": "いつか", "topic": ""})
    assert refused.status_code == 422 and "テーマを入力してください" in refused.text and "日付は" in refused.text
    assert _count_rows(database_urls, "390003") == before  # nothing half-written

    added = client.post("/prefecture/support", follow_redirects=False, data={
        "csrf_token": pref.csrf, "municipality_code": KUROSHIO, "kind": "visit", "held_on": wareki.today().isoformat(),
        "topic": "重層的支援体制整備事業の移行に向けた訪問", "content": "庁内連携会議の立ち上げを助言",
        "follow_up": "先進事例の資料を送る", "phase_after": "preparation"})
    assert added.status_code == 303
    log = client.get(f"/prefecture/support?code={KUROSHIO}").text
    assert "重層的支援体制整備事業の移行に向けた訪問" in log and "先進事例の資料を送る" in log and "訪問支援" in log

    board = client.get("/prefecture/roadmap").text
    cell = re.search(rf'data-support="{KUROSHIO}">(.*?)</td>', board, re.S).group(1)
    assert "訪問支援" in cell and "フォローアップ未完了 1件" in cell
    assert f'id="cell-{KUROSHIO}-{year}" data-phase="preparation"' in board  # the log moved the board
    now = int(re.search(r'id="goal-progress">.*?<strong>(\d+) / 34</strong>', board, re.S).group(1))
    assert now in (reached, reached + 1) and now >= 1

    entry_id = re.search(r'data-entry="([0-9a-f-]{36})"', log).group(1)
    client.post(f"/prefecture/support/{entry_id}/done", data={"csrf_token": pref.csrf})
    cell = re.search(rf'data-support="{KUROSHIO}">(.*?)</td>', client.get("/prefecture/roadmap").text, re.S).group(1)
    assert "未完了" not in cell
    assert client.post("/prefecture/support/not-an-id/done", data={"csrf_token": pref.csrf}).status_code == 404

    # A municipality reads nothing of it: not the page, not a row.
    login(client, open_session(database_urls, "394017", ("tenant-admin",)))
    assert client.get("/prefecture/support").status_code == 403
    assert _count_rows(database_urls, "394017") == 0
