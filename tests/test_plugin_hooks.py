"""One test per hook of core/hookspecs.py (the guard in tests/test_plugin_api_guards.py insists), all through the
test plugin ``tests/plugin_fixtures/everything.py`` enabled for 中土佐町 only."""

from __future__ import annotations

import datetime as dt
import functools

import pytest

from core.plugin_types import (
    ApportionmentRule,
    EligibilityResult,
    FieldDefinition,
    MeetingKindDefinition,
    ProgramDefinition,
    ReportFormat,
    RoleDefinition,
    WorkflowStep,
)
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)
from tests.plugin_fixtures import everything

NAKATOSA, NANKOKU = "394017", "392049"


@pytest.fixture()
def plugin_app(kyosei_plugin_app):
    return kyosei_plugin_app(everything, NAKATOSA)


@pytest.fixture()
def call(plugin_app):
    """``call(tenant, hook, **kwargs)`` through the running app's host (its event loop)."""
    with plugin_app.client() as client:
        def go(tenant_id, hook, **kwargs):
            return client.blocking_portal.call(functools.partial(plugin_app.host.call, tenant_id, hook, **kwargs))
        go.client = client
        go.host = plugin_app.host
        yield go


def test_kyosei_route_handlers_mounts_pages_under_the_plugin_prefix(plugin_app):
    paths = {route.path for route in plugin_app.app.routes}
    assert {"/plugins/everything/page", "/plugins/everything/boom"} <= paths


def test_kyosei_template_dirs_are_searched_after_the_core_templates(plugin_app):
    from ui.templating import TEMPLATE_DIR, template_directories

    folders = template_directories()
    assert folders[0] == TEMPLATE_DIR
    assert any(str(f).endswith("plugin_fixtures/templates") for f in folders)


def test_kyosei_plugin_settings_defaults_are_the_fallback(plugin_app):
    assert plugin_app.host.defaults["everything"] == {"greeting": "こんにちは", "limit": 3}


def test_kyosei_nav_entries_reach_only_the_enabling_tenant(plugin_app):
    with plugin_app.client() as client:
        assert "全部入り" in client.get("/").text
    with plugin_app.client(tenant_id=NANKOKU) as client:
        assert "全部入り" not in client.get("/").text


def test_kyosei_dashboard_widgets_render_on_the_home_page(plugin_app):
    with plugin_app.client() as client:
        home = client.get("/").text
    assert "全部入りの予定" in home and "本日の予定 2 件" in home
    assert "表示する項目はまだありません" not in home


def test_kyosei_roles_express_coordinators_a_to_e(call):
    roles = call(NAKATOSA, "kyosei_roles")
    assert [r.label for r in roles] == [f"コーディネーター{c}" for c in "ABCDE"]
    assert all(isinstance(r, RoleDefinition) and r.base_role == "coordinator" for r in roles)
    assert call(NANKOKU, "kyosei_roles") == []


def test_kyosei_meeting_kinds_with_the_flow_between_them(call):
    kinds = {k.code: k for k in call(NAKATOSA, "kyosei_meeting_kinds")}
    assert all(isinstance(k, MeetingKindDefinition) for k in kinds.values())
    assert kinds["core"].label == "コア会議" and kinds["core"].next_kinds == ("support",)
    assert kinds["support"].confidential and not kinds["support"].requires_consent


def test_kyosei_case_status_changed_is_an_event_with_the_plugin_settings(call):
    everything.EVENTS.clear()
    assert call(NAKATOSA, "kyosei_case_status_changed", case_id="c-1", old="intake", new="planning") == []
    call(NANKOKU, "kyosei_case_status_changed", case_id="c-2", old="intake", new="planning")
    assert everything.EVENTS == [("status", NAKATOSA, "c-1", "intake", "planning",
                                  {"greeting": "こんにちは", "limit": 3})]


def test_kyosei_plan_agreed_is_an_event(call):
    everything.EVENTS.clear()
    call(NAKATOSA, "kyosei_plan_agreed", case_id="c-1")
    assert everything.EVENTS == [("plan", NAKATOSA, "c-1")]


def test_kyosei_extra_intake_fields(call):
    (field,) = call(NAKATOSA, "kyosei_extra_intake_fields")
    assert isinstance(field, FieldDefinition) and field.kind == "choice" and ("yes", "あり") in field.choices


def test_kyosei_extra_workflow_steps(call):
    (step,) = call(NAKATOSA, "kyosei_extra_workflow_steps")
    assert isinstance(step, WorkflowStep) and step.required and step.after_status == "planning"


def test_kyosei_program_catalog_with_a_weekly_timetable(call):
    (program,) = call(NAKATOSA, "kyosei_program_catalog")
    assert isinstance(program, ProgramDefinition)
    (slot,) = program.slots
    assert slot.weekday == 1 and slot.start == dt.time(10) and slot.weeks_of_month == (1, 3)


def test_kyosei_check_eligibility_first_result_wins(call):
    host = call.host
    portal = call.client.blocking_portal
    first = functools.partial(host.call_first, NAKATOSA, "kyosei_check_eligibility")
    result = portal.call(functools.partial(first, program_code="hub", person={"resident": True, "age": 70}))
    assert result == EligibilityResult(eligible=True, rules=("resident",), reasons=())
    assert portal.call(functools.partial(first, program_code="other", person={})) is None
    with pytest.raises(TypeError):
        portal.call(functools.partial(first, program_code="hub"))  # a missing argument is the caller's bug


def test_kyosei_apportionment_rules(call):
    (rule,) = call(NAKATOSA, "kyosei_apportionment_rules")
    assert isinstance(rule, ApportionmentRule)
    shares = rule.apportion({"elderly": 1, "child": 2}, 1000)
    assert sum(shares.values()) == 1000


def test_kyosei_report_formats(call):
    (report,) = call(NAKATOSA, "kyosei_report_formats")
    assert isinstance(report, ReportFormat) and report.render({"count": 4}) == "件数,4\n".encode()
