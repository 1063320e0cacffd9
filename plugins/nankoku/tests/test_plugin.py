"""The plugin through Kyosei's plugin platform: enabled for 南国市 only, its catalog installed by the tenant admin,
its rule applied at enrolment, and nothing of it reaching 中土佐町."""

from __future__ import annotations

import re

import plugins.nankoku as nankoku
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401 (fixtures)

NANKOKU, NAKATOSA = "392049", "394017"


def test_catalog_and_rules_for_nankoku_only(kyosei_plugin_app):  # noqa: F811
    plugin_app = kyosei_plugin_app(nankoku, tenant_id=NANKOKU)
    with plugin_app.client(roles=("staff", "tenant-admin")) as client:
        assert client.post("/programs/catalog", follow_redirects=False).status_code == 303
        hub = next(h for h in client.get("/api/programs/hubs").json() if h["source"] == "nankoku")
        slots = client.get(f"/api/programs/hubs/{hub['id']}/timetable").json()["slots"]
        assert {"program": "MORITO ROOM（モリトルーム）", "weekday": 0, "start": "10:00", "end": "16:00"}.items() <= next(
            s for s in slots if s["weekday"] == 0).items()
        assert sorted(s["weekday"] for s in slots if s["program"] == "独居高齢者の集い") == [2, 4]
        tsugumi = next(s for s in slots if s["program"] == "つぐみアカデミー")
        assert (tsugumi["weekday"], tsugumi["period"], tsugumi["start"], tsugumi["times"]) == (2, "午前", None,
                                                                                             "時間は拠点で確認")
        page = client.get(f"/programs/hubs/{hub['id']}").text
        assert page.count("時間は拠点で確認") == 6 and "資料の週間表では金曜ではなく土曜の午後" in page

        morito = next(p["id"] for p in client.get("/api/programs").json() if p["code"] == "morito_room")
        older = {"person_name": "南国 三", "age": "55", "withdrawal_history": "yes"}
        guided = client.post(f"/programs/{morito}/enrolments", follow_redirects=False, data=older)
        assert guided.status_code == 422 and "目安を外れて登録する理由" in guided.text
        overridden = client.post(f"/programs/{morito}/enrolments", follow_redirects=False,
                                 data={**older, "override_reason": "親の会から紹介。本人の希望が強く、週1回から参加"})
        assert overridden.status_code == 303
        assert "親の会から紹介" in client.get(f"/programs/{morito}").text

        seniors = next(p["id"] for p in client.get("/api/programs").json() if p["code"] == "seniors_gathering")
        refused = client.post(f"/programs/{seniors}/enrolments", follow_redirects=False,
                              data={"person_name": "南国 一", "age": "60", "care_certified": "no", "has_children": "no"})
        assert refused.status_code == 422 and "対象は65歳以上の方です（60歳）。" in refused.text
        accepted = client.post(f"/programs/{seniors}/enrolments", follow_redirects=False,
                               data={"person_name": "南国 二", "age": "70", "care_certified": "no", "has_children": "no"})
        assert accepted.status_code == 303

    with plugin_app.client(roles=("staff", "tenant-admin"), tenant_id=NAKATOSA) as other:
        other.post("/programs/catalog", follow_redirects=False)
        assert all(h["source"] != "nankoku" for h in other.get("/api/programs/hubs").json())
        assert not re.search("MORITO ROOM", other.get("/programs").text)
