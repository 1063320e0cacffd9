"""A plugin that implements every hook of the API once, so each hook has a test that exercises it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from litestar import Request, get
from litestar.response import Template

from core.hookspecs import hookimpl, plugin_settings
from core.plugin_types import (
    ApportionmentRule,
    ConsentPurpose,
    EligibilityResult,
    EligibilityRule,
    FieldDefinition,
    MeetingKindDefinition,
    NavItem,
    PluginInfo,
    ProgramDefinition,
    ReportFormat,
    RoleDefinition,
    TimetableSlot,
    Widget,
    WorkflowStep,
)

PLUGIN = PluginInfo(
    name="everything",
    version="1.2.0",
    vendor="test-vendor",
    api_versions=("1.1",),  # kyosei_consent_purposes came with 1.1
    description_ja="すべてのフックを実装する試験用プラグイン",
    title_ja="全部入り",
)

EVENTS: list[tuple] = []  # what the event hooks received (tests read and clear it)


@get("/page")
async def page(request: Request) -> Template:
    host = request.app.state.plugins
    settings = await host.settings_for(request.scope["user"].tenant_id, PLUGIN.name)
    context = await host.page_context(request, active="/plugins/everything/page", greeting=settings["greeting"])
    return Template("everything/page.html", context=context)


@get("/boom")
async def boom() -> str:
    raise RuntimeError("個人名を含むかもしれないメッセージ")


@hookimpl
def kyosei_route_handlers():
    return [page, boom]


@hookimpl
def kyosei_template_dirs():
    return [Path(__file__).parent / "templates"]


@hookimpl
def kyosei_plugin_settings_defaults():
    return {"greeting": "こんにちは", "limit": 3}


@hookimpl
def kyosei_nav_entries(tenant_id, principal):
    return [NavItem("全部入り", "/plugins/everything/page")]


@hookimpl
def kyosei_dashboard_widgets(tenant_id, principal):
    return [Widget(title="全部入りの予定", template="everything/widget.html", context={"count": 2})]


@hookimpl
def kyosei_roles(tenant_id):
    return [RoleDefinition(code=f"coordinator_{c.lower()}", label=f"コーディネーター{c}", base_role="coordinator",
                           duties=("ケース会議の進行",)) for c in "ABCDE"]


@hookimpl
def kyosei_meeting_kinds(tenant_id):
    return [
        MeetingKindDefinition(code="core", label="コア会議", chaired_by=("coordinator_a",), next_kinds=("support",)),
        MeetingKindDefinition(code="support", label="支援会議", legal_basis="社会福祉法第106条の6",
                              confidential=True, requires_consent=False),
    ]


@hookimpl
def kyosei_case_status_changed(tenant_id, case_id, old, new):
    EVENTS.append(("status", tenant_id, case_id, old, new, dict(plugin_settings())))


@hookimpl
def kyosei_plan_agreed(tenant_id, case_id):
    EVENTS.append(("plan", tenant_id, case_id))


@hookimpl
def kyosei_extra_intake_fields(tenant_id):
    return [FieldDefinition(name="fishing_season", label="漁期の就労", kind="choice",
                            choices=(("yes", "あり"), ("no", "なし")), personal=False)]


@hookimpl
def kyosei_consent_purposes(tenant_id):
    # a purpose of its own, and an attempt to rename a core one (core keeps its label)
    return [ConsentPurpose(code="watch_over", label="見守り活動"),
            ConsentPurpose(code="participation_support", label="上書きされない")]


@hookimpl
def kyosei_extra_workflow_steps(tenant_id):
    return [WorkflowStep(code="chief_approval", label="課長決裁", after_status="planning", roles=("tenant-admin",),
                         required=True)]


@hookimpl
def kyosei_program_catalog(tenant_id):
    return [ProgramDefinition(
        code="hub", name="地域交流拠点", field="new_functions",
        slots=(TimetableSlot(weekday=1, start=dt.time(10), end=dt.time(12), place="拠点", capacity=10,
                             weeks_of_month=(1, 3)),),
        eligibility=(EligibilityRule("resident", "市内在住"),),
    )]


@hookimpl
def kyosei_check_eligibility(tenant_id, program_code, person):
    if program_code != "hub":
        return None
    ok = bool(person.get("resident"))
    return EligibilityResult(eligible=ok, rules=("resident",), reasons=() if ok else ("市外在住のため",))


@hookimpl
def kyosei_apportionment_rules():
    def by_minutes(minutes, total):
        whole = sum(minutes.values()) or 1
        shares = {k: total * v // whole for k, v in minutes.items()}
        first = next(iter(shares), None)
        if first is not None:
            shares[first] += total - sum(shares.values())
        return shares

    return [ApportionmentRule(code="everything_minutes", label="従事時間で按分", apportion=by_minutes)]


@hookimpl
def kyosei_report_formats():
    return [ReportFormat(code="monthly", title="月報", media_type="text/csv",
                         render=lambda data: f"件数,{data.get('count', 0)}\n".encode(), domain="cases")]
