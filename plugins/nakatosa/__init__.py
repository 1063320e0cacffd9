"""中土佐町 (394017): five integration coordinators (包括化推進員) A–E and the chain of meetings, as a Kyosei plugin.

Enable it for 中土佐町 only (``kyosei plugins enable 394017 nakatosa``). Hooks:

- ``kyosei_roles``: 包括化推進員（相談支援包括化推進員）A–E with their home organisation and duties (the briefing's
  table; E is the 地域包括支援センター統括ケアマネ).
- ``kyosei_meeting_kinds``: コア会議 (leader A, D and E required; held as a 支援会議 under art. 106-6, so it may
  pick households before consent), 安心生活応援ネットワーク会議 (leader C, deputy B; needs consent),
  地域づくり・資源開発会議 (leader B, deputy A). The seats are ``chaired_by`` (leader, deputy) and
  ``attended_by`` (required); the core meetings domain fills them from who holds each 推進員 seat.
- ``kyosei_meeting_kind_rules``: the core kind each runs as and what it may decide.
- ``kyosei_nav_entries``: the core meeting's progress check (``/meetings/progress``).

The chain: a consultation → コア会議 picks households with compound problems and lists their issues →
ネットワーク会議 (the households carried over) reviews and agrees the plan → the town decides 支援決定 → コア会議
checks the progress of every open case and programme.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.plugin_types import MeetingKindDefinition, MeetingKindRule, NavItem, PluginInfo, RoleDefinition

PLUGIN = PluginInfo(
    name="nakatosa",
    version="1.0.0",
    vendor="kyosei",
    api_versions=("1.1",),  # kyosei_meeting_kind_rules came with 1.1
    title_ja="中土佐町 包括化推進員と会議の連鎖",
    description_ja="中土佐町の包括化推進員A～Eの役割と、コア会議・安心生活応援ネットワーク会議・地域づくり・資源開発会議",
)

# The briefing's words: 包括化推進員（相談支援包括化推進員）A–E, three from the 社協 and two from the town office.
ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(code="coordinator_a", label="包括化推進員A", base_role="coordinator",
                   description="社協 社会福祉協議会地域福祉課長",
                   duties=("事業全体のリーダー", "コア会議のリーダー", "地域づくり・資源開発会議のサブ")),
    RoleDefinition(code="coordinator_b", label="包括化推進員B", base_role="coordinator",
                   description="社協 生活困窮者支援担当者（地域福祉課相談支援主任）",
                   duties=("地域づくり・資源開発会議のリーダー", "安心生活応援ネットワーク会議のサブ")),
    RoleDefinition(code="coordinator_c", label="包括化推進員C", base_role="coordinator",
                   description="社協 権利擁護支援センター担当",
                   duties=("安心生活応援ネットワーク会議のリーダー", "権利擁護支援センターの運営")),
    RoleDefinition(code="coordinator_d", label="包括化推進員D", base_role="coordinator",
                   description="町役場 統括保健師",
                   duties=("コア会議に必ず出席", "その他の会議には議題に応じて保健師の立場で出席")),
    RoleDefinition(code="coordinator_e", label="包括化推進員E", base_role="coordinator",
                   description="町役場 地域包括支援センター統括ケアマネ",
                   duties=("コア会議に必ず出席", "その他の会議には議題に応じて包括または行政の立場で出席")),
)

CORE, NETWORK, COMMUNITY = "core_meeting", "network_meeting", "community_meeting"

KINDS: tuple[MeetingKindDefinition, ...] = (
    MeetingKindDefinition(
        code=CORE, label="コア会議", legal_basis="社会福祉法第106条の6",
        confidential=True, requires_consent=False,
        chaired_by=("coordinator_a",), attended_by=("coordinator_d", "coordinator_e"), next_kinds=(NETWORK,),
        description="包括化推進員のコア会議。複合的な課題を抱える世帯を選び課題を整理する。すべての継続ケースと事業の進捗を確認する。",
    ),
    MeetingKindDefinition(
        code=NETWORK, label="安心生活応援ネットワーク会議", requires_consent=True,
        chaired_by=("coordinator_c", "coordinator_b"), next_kinds=(CORE,),
        description="コア会議で抽出された事案について、推進員と関係機関が実態を把握し、支援の分担を協議する"
                    "（重層的支援会議として開催。リーダー: 推進員C、サブ: 推進員B）。",
    ),
    MeetingKindDefinition(
        code=COMMUNITY, label="地域づくり・資源開発会議", requires_consent=True,
        chaired_by=("coordinator_b", "coordinator_a"),
        description="地域づくりと社会資源の開発（リーダー: 推進員B、サブ: 推進員A）。",
    ),
)

# How each kind is held under the law (core/meetings/decisions.py): the core meeting picks households before
# consent, so it is a 支援会議; the network meeting agrees the plan as a 重層的支援会議; the community meeting
# reviews resources and decides nothing about a case's plan.
KIND_RULES: tuple[MeetingKindRule, ...] = (
    MeetingKindRule(kind=CORE, runs_as="support_meeting"),
    MeetingKindRule(kind=NETWORK, runs_as="multilayer_meeting"),
    MeetingKindRule(kind=COMMUNITY, runs_as="multilayer_meeting",
                    decisions=("resource_review", "info_shared", "refer_next")),
)


@hookimpl
def kyosei_roles(tenant_id: str) -> list[RoleDefinition]:
    return list(ROLES)


@hookimpl
def kyosei_meeting_kinds(tenant_id: str) -> list[MeetingKindDefinition]:
    return list(KINDS)


@hookimpl
def kyosei_meeting_kind_rules(tenant_id: str) -> list[MeetingKindRule]:
    return list(KIND_RULES)


@hookimpl
def kyosei_nav_entries(tenant_id: str, principal) -> list[NavItem]:
    if not principal.has_role("coordinator", "staff"):
        return []
    return [NavItem(label="コア会議 進捗確認", href="/meetings/progress")]
