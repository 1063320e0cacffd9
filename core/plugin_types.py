"""The public types of the plugin API: what hooks take and return (see ``core/hookspecs.py`` and docs/plugins.md).

Plugins import only this module and ``core.hookspecs``. Every type is a small frozen dataclass with Japanese
labels where a person reads them; codes are ASCII identifiers (``core_meeting``) that stay stable across
versions, labels may change.

.. versionadded:: 1.0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ApportionmentRule",
    "ConsentPurpose",
    "EligibilityResult",
    "EligibilityRule",
    "FieldDefinition",
    "MeetingKindDefinition",
    "MeetingKindRule",
    "NavItem",
    "PluginInfo",
    "ProgramDefinition",
    "ReportFormat",
    "RoleDefinition",
    "TimetableSlot",
    "Widget",
    "WorkflowStep",
]


@dataclass(frozen=True)
class PluginInfo:
    """What a plugin says about itself: the module-level ``PLUGIN`` of every plugin package.

    ``name`` is the plugin's identity everywhere (enablement, settings, error reports, its URL prefix
    ``/plugins/<name>/``): lower-case ASCII letters, digits and ``_``. ``vendor`` is the vendor's id as the
    prefecture registered it (``kyosei plugins vendor-user VENDOR USERNAME``). ``api_versions`` lists the plugin API
    versions the plugin was written for (``("1.0",)``); a plugin none of whose versions the host supports is
    refused at start-up.
    """

    name: str
    version: str
    vendor: str
    api_versions: tuple[str, ...]
    description_ja: str
    title_ja: str = ""  # shown in the catalog; defaults to ``name``
    homepage: str = ""

    @property
    def display_name(self) -> str:
        return self.title_ja or self.name


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation. ``href`` is usually under the plugin's own prefix ``/plugins/<name>/``."""

    label: str
    href: str
    order: int = 100  # entries are sorted by (order, label) after the core entries


@dataclass(frozen=True)
class Widget:
    """A dashboard card on the home page: the plugin's ``template`` rendered with ``context``.

    The template is looked up in the plugin's template folders (``kyosei_template_dirs``); keep it under a folder
    named after the plugin (``nankoku/today_widget.html``). It renders a fragment, not a page.
    """

    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100


@dataclass(frozen=True)
class RoleDefinition:
    """A role a municipality uses, with its duties (職務), e.g. 中土佐町's 包括化推進員A–E.

    ``base_role`` names the Keycloak client role that carries the permissions (``coordinator``); the definition
    adds the municipality's own title and duties on top, it grants nothing by itself.
    """

    code: str
    label: str
    base_role: str = "staff"
    duties: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ConsentPurpose:
    """A purpose (利用目的) a resident's consent may name, e.g. 参加支援 or 防災・避難支援.

    ``code`` is what consents store and what every read checks (lower-case letters, digits and ``_``);
    ``label`` is what staff and the resident read. The core list is ``core.cases.consent_purposes``.
    """

    code: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class MeetingKindDefinition:
    """A kind of meeting (会議の種類), e.g. コア会議, 支援会議 (法106条の6), 重層的支援会議.

    ``legal_basis`` names the statute when there is one; ``confidential`` means members are bound by the duty of
    confidentiality of 支援会議, so consent is not required to share a case. ``chaired_by`` and ``attended_by`` are
    role codes (core or ``RoleDefinition.code``). ``next_kinds`` is the case flow: the kinds a case may move on to
    after this meeting.
    """

    code: str
    label: str
    legal_basis: str = ""
    confidential: bool = False
    requires_consent: bool = True
    chaired_by: tuple[str, ...] = ()
    attended_by: tuple[str, ...] = ()
    next_kinds: tuple[str, ...] = ()
    default_minutes: int = 60
    description: str = ""


@dataclass(frozen=True)
class MeetingKindRule:
    """How a plugin's meeting kind is held under the law: the core kind it runs as and what it may decide.

    ``runs_as`` is ``"support_meeting"`` (支援会議, 社会福祉法第106条の6: no consent, secrecy) or
    ``"multilayer_meeting"`` (重層的支援会議: consented cases only). ``decisions`` narrows the core kind's decisions
    (codes of ``core.meetings.decisions.DECISIONS``); empty means all of them. A plugin can narrow, never widen: a
    code the core kind may not decide is dropped, and a rule that does not fit the kind (a kind that needs no
    consent cannot run as 重層的支援会議) is ignored, so the kind keeps the strictest rules.
    """

    kind: str
    runs_as: str
    decisions: tuple[str, ...] = ()


FieldKind = Literal["text", "textarea", "number", "date", "choice", "multi_choice", "boolean"]


@dataclass(frozen=True)
class FieldDefinition:
    """An extra field a municipality adds to a form (intake, program enrolment, …).

    ``name`` is the key the value is stored under (in the record's JSONB extras); ``choices`` are (value, label)
    pairs for ``choice`` and ``multi_choice``. ``personal`` marks fields holding personal data (kept out of
    exports and logs).
    """

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    help_text: str = ""
    personal: bool = True


@dataclass(frozen=True)
class WorkflowStep:
    """An extra step in the case flow, placed after the core status ``after_status``.

    ``required`` steps must be completed (by someone with one of ``roles``) before the case may leave that status.
    """

    code: str
    label: str
    after_status: str
    roles: tuple[str, ...] = ()
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class TimetableSlot:
    """A recurring slot of a program's timetable, e.g. 南国市's hub: 毎週火曜 10:00–12:00 at 地域交流拠点.

    ``weekday`` follows ``datetime.date.weekday()`` (0 = Monday). ``weeks_of_month`` limits the slot to some weeks
    (``(1, 3)``: first and third); empty means every week. ``valid_from``/``valid_until`` bound the season.
    ``time_confirmed=False``: the source names only the half-day (午前/午後); ``start``/``end`` are then that
    half-day's bounds, used to place the slot, and people are shown 「時間は拠点で確認」 instead of times.
    ``note``: a remark shown with the slot (e.g. where the source's weekly sheet and its text disagree).
    """

    weekday: int
    start: dt.time
    end: dt.time
    place: str = ""
    capacity: int | None = None
    weeks_of_month: tuple[int, ...] = ()
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    label: str = ""
    time_confirmed: bool = True
    note: str = ""


@dataclass(frozen=True)
class EligibilityRule:
    """One rule of a program's eligibility, in words people read (``"市内在住の65歳以上"``).

    ``code`` identifies the rule in an ``EligibilityResult``; the logic itself lives in the plugin's
    ``kyosei_check_eligibility``. ``asks``: the applicant facts the rule reads (keys of the ``person`` mapping,
    see ``core.programs.eligibility``), so the enrolment form asks only those; empty means "not declared" and the
    form asks every question.
    """

    code: str
    description: str
    asks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgramDefinition:
    """A participation program or hub (参加支援・居場所) a municipality offers, with its timetable."""

    code: str
    name: str
    field: str = ""  # elderly, disability, child, poverty, new_functions (as in grants) or ""
    description: str = ""
    place: str = ""
    capacity: int | None = None
    slots: tuple[TimetableSlot, ...] = ()
    eligibility: tuple[EligibilityRule, ...] = ()
    enrolment_fields: tuple[FieldDefinition, ...] = ()


@dataclass(frozen=True)
class EligibilityResult:
    """The answer of an eligibility check: ``eligible`` with the rule codes that decided it and reasons to show."""

    eligible: bool
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    # codes among the refusing ``rules`` that are guidance rather than conditions (「概ね18歳～50歳」): when every
    # refusing rule is guidance, a coordinator may enrol the person anyway, and the reason is recorded
    guidance: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApportionmentRule:
    """A way to split staff costs of the integrated grant between fields (按分ルール).

    ``apportion(minutes_by_field, total_amount)`` returns the yen per field and must sum to ``total_amount``;
    both are mappings of field code (elderly, disability, child, poverty, new_functions) to integers.
    """

    code: str
    label: str
    apportion: Callable[[Mapping[str, int], int], Mapping[str, int]]
    description: str = ""


@dataclass(frozen=True)
class ReportFormat:
    """A report a plugin can produce (e.g. a municipality's own monthly sheet).

    ``render(data)`` gets the report's data (a mapping the calling domain documents) and returns the document's
    bytes of ``media_type``; ``filename`` is the suggested download name.
    """

    code: str
    title: str
    media_type: str
    render: Callable[[Mapping[str, Any]], bytes]
    filename: str = "report"
    domain: str = ""  # which domain offers it: "grants", "cases", "meetings", "programs"
