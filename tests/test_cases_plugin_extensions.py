"""What a tenant's plugins add to a case, end to end through the HTTP API and pages, with the test plugin
``tests/plugin_fixtures/everything.py`` enabled for 中土佐町 only:

- its extra intake field (漁期の就労) is on Nakatosa's intake form, validated, stored and shown — and nowhere else;
- its required step 課長決裁 after プラン作成 holds the case until a tenant admin completes it;
- the case events reach the plugin only for committed changes.
"""

from __future__ import annotations

import pytest

from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)
from tests.cases_support import intake_body
from tests.db import fetch
from tests.plugin_fixtures import everything

NAKATOSA, NANKOKU = "394017", "392049"
STAFF = ("staff", "coordinator")


@pytest.fixture()
def plugin_app(kyosei_plugin_app):
    return kyosei_plugin_app(everything, NAKATOSA)


def case_count(urls, tenant_id: str) -> int:
    return fetch(urls.owner, "SELECT count(*) FROM support_case WHERE tenant_id = $1", tenant_id, tenant=tenant_id)[0][0]


def test_extra_intake_field_is_asked_validated_stored_and_shown_only_where_enabled(plugin_app):
    with plugin_app.client(roles=STAFF) as client:
        form = client.get("/cases/new").text
        assert "漁期の就労" in form and 'name="extras.fishing_season"' in form
        before = case_count(plugin_app.urls, NAKATOSA)
        bad = client.post("/api/cases", json=intake_body(extras={"fishing_season": "maybe", "shoe_size": "26"}))
        assert bad.status_code == 422
        fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
        assert "漁期の就労の値が正しくありません" in fields["extras.fishing_season"]
        assert fields["extras.shoe_size"] == "この追加項目は、この自治体では使われていません。"
        assert case_count(plugin_app.urls, NAKATOSA) == before  # nothing half-written

        created = client.post("/api/cases", json=intake_body(extras={"fishing_season": "yes"}))
        assert created.status_code == 201, created.text
        assert case_count(plugin_app.urls, NAKATOSA) == before + 1
        assert created.json()["extras"] == {"fishing_season": "yes"}
        case_id = created.json()["id"]
        assert client.get(f"/api/cases/{case_id}").json()["extra_answers"] == [{"label": "漁期の就労", "answer": "あり"}]
        page = client.get(f"/cases/{case_id}").text
        assert "漁期の就労" in page and "あり" in page

    with plugin_app.client(roles=STAFF, tenant_id=NANKOKU) as other:
        assert "漁期の就労" not in other.get("/cases/new").text
        assert other.get("/api/cases/reference").json()["extra_intake_fields"] == []
        refused = other.post("/api/cases", json=intake_body(extras={"fishing_season": "yes"}))
        assert refused.status_code == 422


def test_intake_form_posts_the_extra_field(plugin_app):
    with plugin_app.client(roles=STAFF) as client:
        form = {"csrf_token": client.csrf, "received_on": "2026-04-01", "receiving_staff": "山本 花子",
                "route": "counter", "members-0-name": "浜田 漁太", "members-0-kana": "はまだ りょうた",
                "members-0-relationship": "本人", "fields": "poverty", "consent_given": "true",
                "extras.fishing_season": "no"}
        response = client.post("/cases", data=form, follow_redirects=False)
        assert response.status_code == 303, response.text
        case_id = response.headers["location"].split("/")[2].split("#")[0]
        assert client.get(f"/api/cases/{case_id}").json()["extras"] == {"fishing_season": "no"}


def _planned_case(client) -> str:
    case_id = client.post("/api/cases", json=intake_body()).json()["id"]
    assert client.post(f"/api/cases/{case_id}/transitions", json={"to_status": "assessment"}).status_code == 200
    person = client.get(f"/api/cases/{case_id}").json()["person_id"]
    assert client.post(f"/api/cases/{case_id}/assessments", json={
        "assessed_on": "2026-04-02", "items": [{"person_id": person, "field": "elderly", "problem": "介護"}]}
    ).status_code == 201
    assert client.post(f"/api/cases/{case_id}/transitions", json={"to_status": "planning"}).status_code == 200
    assert client.post(f"/api/cases/{case_id}/plans", json={"goals": "生活の安定"}).status_code == 201
    return case_id


def test_required_plugin_step_holds_the_case_until_a_tenant_admin_completes_it(plugin_app):
    with plugin_app.client(roles=STAFF) as staff:
        case_id = _planned_case(staff)
        steps = staff.get(f"/api/cases/{case_id}").json()["workflow_steps"]
        assert [(s["step"], s["done"]) for s in steps] == [("chief_approval", False)]
        assert "課長決裁を完了する" in staff.get(f"/cases/{case_id}").text
        assert staff.post(f"/api/cases/{case_id}/plan-agreement", json={}).json()["agreed_on"] is not None
        # 支援決定 is the municipality's, whatever the steps say
        refused = staff.post(f"/api/cases/{case_id}/transitions", json={"to_status": "decided"})
        assert refused.status_code == 403 and "支援決定は市町村が行います" in refused.json()["detail"]
        not_allowed = staff.post(f"/api/cases/{case_id}/steps", json={"step": "chief_approval"})
        assert not_allowed.status_code == 403

    with plugin_app.client(roles=("staff", "tenant-admin")) as admin:
        # the approver is not on the case's team: opening it states why (緊急閲覧, audited)
        assert admin.post(f"/api/cases/{case_id}/steps", json={"step": "chief_approval"}).status_code == 403
        assert admin.post(f"/api/cases/{case_id}/access", json={"reason": "課長決裁のため"}).status_code == 201
        held = admin.post(f"/api/cases/{case_id}/transitions", json={"to_status": "decided"})
        assert held.status_code == 409
        assert held.json()["detail"] == "「課長決裁」が完了していないため、「支援決定」へ進めません。"
        assert admin.post(f"/api/cases/{case_id}/steps", json={"step": "nonexistent"}).status_code == 409
        done = admin.post(f"/api/cases/{case_id}/steps", json={"step": "chief_approval"})
        assert done.status_code == 201, done.text
        again = admin.post(f"/api/cases/{case_id}/steps", json={"step": "chief_approval"})
        assert again.status_code == 409 and "すでに完了" in again.json()["detail"]
        step = admin.get(f"/api/cases/{case_id}").json()["workflow_steps"][0]
        assert step["done"] and step["done_by"] == "試験 太郎"
        assert admin.post(f"/api/cases/{case_id}/transitions", json={"to_status": "decided"}).status_code == 200

    with plugin_app.client(roles=("staff", "tenant-admin"), tenant_id=NANKOKU) as other:  # no plugin: no step
        other_case = _planned_case(other)
        assert other.post(f"/api/cases/{other_case}/plan-agreement", json={"decide": True}).status_code == 200
        assert other.get(f"/api/cases/{other_case}").json()["status"] == "decided"


def test_ending_a_case_is_never_held_back_by_a_step(plugin_app):
    with plugin_app.client(roles=STAFF) as staff:
        case_id = _planned_case(staff)
        ended = staff.post(f"/api/cases/{case_id}/transitions", json={"to_status": "suspended", "reason": "転居"})
        assert ended.status_code == 200


def test_case_events_reach_the_plugin_only_for_committed_changes(plugin_app):
    with plugin_app.client(roles=STAFF) as staff:
        case_id = staff.post("/api/cases", json=intake_body()).json()["id"]
        everything.EVENTS.clear()
        assert staff.post(f"/api/cases/{case_id}/transitions", json={"to_status": "assessment"}).status_code == 200
        assert everything.EVENTS == [("status", NAKATOSA, case_id, "intake", "assessment",
                                      {"greeting": "こんにちは", "limit": 3})]
        everything.EVENTS.clear()
        assert staff.post(f"/api/cases/{case_id}/transitions", json={"to_status": "planning"}).status_code == 409
        assert everything.EVENTS == []  # refused: nothing happened, nothing announced

    case_id = None
    with plugin_app.client(roles=("staff", "coordinator", "tenant-admin")) as admin:
        case_id = _planned_case(admin)
        admin.post(f"/api/cases/{case_id}/steps", json={"step": "chief_approval"})
        everything.EVENTS.clear()
        assert admin.post(f"/api/cases/{case_id}/plan-agreement", json={"decide": True}).status_code in (200, 201)
        assert ("plan", NAKATOSA, case_id) in everything.EVENTS
        assert ("status", NAKATOSA, case_id, "planning", "decided", {"greeting": "こんにちは", "limit": 3}) in everything.EVENTS


def test_plan_agreement_refused_by_a_step_announces_nothing_on_the_page(plugin_app):
    """The page handler runs the agreement in a savepoint; when the step refuses the move to 支援決定, the savepoint
    rolls back and the already-queued plan_agreed event must go with it."""
    with plugin_app.client(roles=("staff", "coordinator", "tenant-admin")) as admin:
        case_id = _planned_case(admin)
        everything.EVENTS.clear()
        response = admin.post(f"/cases/{case_id}/plan-agreement", data={"csrf_token": admin.csrf, "decide": "true"},
                              follow_redirects=False)
        assert response.status_code == 409 and "課長決裁" in response.text
        assert everything.EVENTS == []
        assert admin.get(f"/api/cases/{case_id}").json()["plans"][0]["agreed_on"] is None


def test_kyosei_consent_purposes_adds_a_purpose_where_enabled_and_never_renames_a_core_one(plugin_app):
    with plugin_app.client(roles=STAFF) as client:
        purposes = client.get("/api/cases/reference").json()["consent_purposes"]
        assert purposes["watch_over"] == "見守り活動" and purposes["participation_support"] == "参加支援"
        case_id = client.post("/api/cases", json=intake_body()).json()["id"]
        recorded = client.post(f"/api/cases/{case_id}/consents", json={
            "given_on": "2026-04-01", "purposes": ["watch_over"], "meeting_kinds": ["core_meeting"]})
        assert recorded.status_code == 201, recorded.text
        assert "見守り活動" in client.get(f"/cases/{case_id}").text
    with plugin_app.client(roles=STAFF, tenant_id=NANKOKU) as other:
        assert "watch_over" not in other.get("/api/cases/reference").json()["consent_purposes"]
        case_id = other.post("/api/cases", json=intake_body()).json()["id"]
        refused = other.post(f"/api/cases/{case_id}/consents", json={
            "given_on": "2026-04-01", "purposes": ["watch_over"], "meeting_kinds": ["core_meeting"]})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "purposes"
