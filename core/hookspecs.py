"""The public plugin API of Kyosei: every hook a plugin may implement (the guide is docs/plugins.md).

A plugin is a module (or package) with a module-level ``PLUGIN = PluginInfo(...)`` and functions marked
``@hookimpl`` whose names are the hooks below. It implements only the hooks it needs and may take only some of a
hook's arguments (pluggy passes the ones it asks for).

How hooks are called (``core.plugins``):

- Every hook except the start-up ones is called *for one tenant* and reaches only the plugins that tenant enabled
  (and whose installed version the prefecture approved). A plugin never runs for a municipality that did not
  enable it.
- Each plugin's implementation is called on its own, contained: an exception, a wrong result type or a timeout
  (2 s by default) is logged with the plugin and tenant, recorded for that tenant's admin, and the call goes on
  with the other plugins. Synchronous implementations run in a worker thread; see docs/plugins.md on timeouts.
- Hooks that return lists: the results of all plugins are concatenated. ``firstresult`` hooks stop at the first
  plugin that returns something other than ``None``.
- Hooks must not do I/O that can hang, and must never log or return personal data they were not asked for.

Versioning: ``PLUGIN_API_VERSION`` is ``MAJOR.MINOR``. A minor version adds hooks or optional arguments; a major
version removes or changes them (arguments are deprecated for at least one minor version first). A plugin
declares the versions it was written for in ``PluginInfo.api_versions``; see ``core.plugins.registry``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pluggy

from core.plugin_types import (
    ApportionmentRule,
    ConsentPurpose,
    EligibilityResult,
    FieldDefinition,
    MeetingKindDefinition,
    MeetingKindRule,
    NavItem,
    ProgramDefinition,
    ReportFormat,
    RoleDefinition,
    Widget,
    WorkflowStep,
)

if TYPE_CHECKING:  # the hooks receive a Principal; plugins need not import it
    from core.auth.principal import Principal

PROJECT_NAME = "kyosei"
PLUGIN_API_VERSION = "1.1"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PLUGIN_API_VERSION", "hookimpl", "hookspec", "plugin_settings"]

_settings: ContextVar[Mapping[str, Any]] = ContextVar("kyosei_plugin_settings", default=MappingProxyType({}))


def plugin_settings() -> Mapping[str, Any]:
    """Inside a hook implementation: the calling plugin's settings for the current tenant (read-only).

    The tenant's own settings (``/admin/plugins``) laid over the plugin's ``kyosei_plugin_settings_defaults``;
    empty outside a hook call and in start-up hooks.

    .. versionadded:: 1.0
    """
    return _settings.get()


# -- start-up hooks: called once per app, for every installed plugin, not per tenant ----------------------------


@hookspec
def kyosei_route_handlers() -> list:
    """Litestar route handlers (``@get`` functions, ``Controller`` classes, ``Router``) of the plugin's pages.

    Called once at start-up. The handlers are mounted under ``/plugins/<plugin name>/`` and answer only for
    tenants that enabled the plugin (404 for every other tenant); an exception a handler raises is recorded as a
    plugin error of that tenant. Handlers get the usual dependencies (``db``, ``plugins``) and should render
    with ``ui.page.page_context``-like context: use ``request.app.state.plugins.page_context(request)``.

    Returns a list of route handlers. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_template_dirs() -> list[Path]:
    """Folders holding the plugin's Jinja templates (pages and widgets).

    Called once at start-up; the folders are searched after Kyosei's own, so a plugin cannot replace a core
    template. Keep templates under a folder named after the plugin (``<dir>/nakatosa/page.html``).

    Returns a list of ``pathlib.Path``. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_plugin_settings_defaults() -> dict:
    """The plugin's default settings: a JSON-serialisable dict.

    Called once at start-up. A tenant's settings (stored per tenant, edited by its admin) are laid over these
    key by key; inside any hook the result is ``core.hookspecs.plugin_settings()``.

    Returns a dict. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_apportionment_rules() -> list[ApportionmentRule]:
    """Grant apportionment rules (按分ルール) the plugin offers, besides the core ones.

    Called by the grants domain for a tenant when it lists or applies rules (only plugins that tenant enabled).

    Returns a list of ``ApportionmentRule``. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_report_formats() -> list[ReportFormat]:
    """Report formats the plugin can produce (a municipality's own forms).

    Called by a domain's report page for a tenant (only plugins that tenant enabled).

    Returns a list of ``ReportFormat``. Not firstresult.

    .. versionadded:: 1.0
    """


# -- UI ---------------------------------------------------------------------------------------------------------


@hookspec
def kyosei_nav_entries(tenant_id: str, principal: Principal) -> list[NavItem]:
    """Entries the plugin adds to the main navigation of every page.

    Called on every full page render for the logged-in user's tenant. Use ``principal.has_role(...)`` to show an
    entry only to some roles (hiding is convenience: the page itself must check the role again).

    Returns a list of ``NavItem``. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_dashboard_widgets(tenant_id: str, principal: Principal) -> list[Widget]:
    """Cards the plugin adds to the home page's dashboard.

    Called when the home page renders. Each ``Widget`` names a template of the plugin and its context; a widget
    whose template fails to render is left out and recorded as an error of the plugin.

    Returns a list of ``Widget``. Not firstresult.

    .. versionadded:: 1.0
    """


# -- people and meetings ----------------------------------------------------------------------------------------


@hookspec
def kyosei_roles(tenant_id: str) -> list[RoleDefinition]:
    """The municipality's own roles and their duties (e.g. 中土佐町の包括化推進員A–E), on top of the core roles.

    Called by the meetings and cases domains when they show or assign duties.

    Returns a list of ``RoleDefinition``. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_meeting_kinds(tenant_id: str) -> list[MeetingKindDefinition]:
    """Meeting kinds the municipality holds (コア会議, 支援会議, 重層的支援会議, …) and the flow between them.

    Called by the meetings domain when it lists kinds or schedules a meeting.

    Returns a list of ``MeetingKindDefinition``. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_meeting_kind_rules(tenant_id: str) -> list[MeetingKindRule]:
    """For each of the plugin's meeting kinds: the legal kind it runs as and what it may decide.

    Called by the meetings domain whenever it checks a decision (``core.meetings.decisions``). A kind without a
    rule runs as 支援会議 when it is confidential and needs no consent, and otherwise may only share information
    and refer to the next meeting. A rule can narrow the core kind's decisions, never widen them.

    Returns a list of ``MeetingKindRule``. Not firstresult.

    .. versionadded:: 1.1
    """


# -- cases ------------------------------------------------------------------------------------------------------


@hookspec
def kyosei_consent_purposes(tenant_id: str) -> list[ConsentPurpose]:
    """Purposes (利用目的) a resident's consent may name in this municipality, besides the core ones
    (``core.cases.consent_purposes.CORE_PURPOSES``: 関係機関との情報共有, 重層的支援会議での検討, 参加支援, 防災・避難支援 …).

    Called by the cases domain when a consent is recorded or shown. A code already defined (by core or an earlier
    plugin) keeps its first definition.

    Returns a list of ``ConsentPurpose``. Not firstresult.

    .. versionadded:: 1.1
    """



@hookspec
def kyosei_case_status_changed(tenant_id: str, case_id: str, old: str, new: str) -> None:
    """A case moved from status ``old`` to ``new`` (an event; the change is already committed).

    Called by the cases domain after the transaction that changed the status. Must not raise to veto: the change
    has happened. Gets ids only, never personal data.

    Returns nothing. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_plan_agreed(tenant_id: str, case_id: str) -> None:
    """The support plan (支援プラン) of a case was agreed at a meeting (an event, already committed).

    Called by the meetings/cases domain after the agreement is stored.

    Returns nothing. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_extra_intake_fields(tenant_id: str) -> list[FieldDefinition]:
    """Extra fields on the intake (相談受付) form of the municipality.

    Called by the cases domain when it renders or validates the intake form; the values are stored with the case.

    Returns a list of ``FieldDefinition``. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec
def kyosei_extra_workflow_steps(tenant_id: str) -> list[WorkflowStep]:
    """Extra steps of the municipality's case flow (e.g. 課長決裁 before a plan is final).

    Called by the cases domain when it shows a case's next steps or checks a status change.

    Returns a list of ``WorkflowStep``. Not firstresult.

    .. versionadded:: 1.0
    """


# -- programs ---------------------------------------------------------------------------------------------------


@hookspec
def kyosei_program_catalog(tenant_id: str) -> list[ProgramDefinition]:
    """Programs and hubs (参加支援・居場所) the municipality offers, with timetables and eligibility rules.

    Called by the programs domain when it lists programs or builds a timetable.

    Returns a list of ``ProgramDefinition``. Not firstresult.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def kyosei_check_eligibility(
    tenant_id: str, program_code: str, person: Mapping[str, Any]
) -> EligibilityResult | None:
    """Decide whether a person may join program ``program_code``.

    ``person`` holds only the facts the rules need (``age``, ``resident``, ``household_size``, …: the programs
    domain documents the keys), never names or contact details. Return ``None`` when the program is not yours.

    Returns an ``EligibilityResult`` or ``None``. **firstresult**: the first plugin that answers decides.

    .. versionadded:: 1.0
    """
