"""中土佐町 (394017): five integration coordinators (包括化推進員) A–E and the chain of meetings, as a Kyosei plugin.

Enable it for 中土佐町 only (``kyosei plugins enable 394017 nakatosa``). Hooks:

- ``kyosei_roles``: コーディネーターA–E with their home organisation and duties (docs DOMAIN.md's table).
- ``kyosei_meeting_kinds``: コア会議 (leader A, D and E required; held as a 支援会議 under art. 106-6, so it may
  pick households before consent), 安心生活応援ネットワーク会議 (leader C, deputy B; needs consent),
  地域づくり・資源開発会議 (leader B, deputy A).
- ``kyosei_nav_entries``: the core meeting's progress check (``/meetings/progress``).

The chain: a consultation → コア会議 picks households with compound problems and lists their issues →
ネットワーク会議 reviews and decides who supports how (plan agreed) → コア会議 checks the progress of every open
case and programme.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.plugin_types import MeetingKindDefinition, NavItem, PluginInfo, RoleDefinition

PLUGIN = PluginInfo(
    name="nakatosa",
    version="1.0.0",
    vendor="kyosei",
    api_versions=("1.0",),
    title_ja="中土佐町 包括化推進員と会議の連鎖",
    description_ja="中土佐町の包括化推進員A～Eの役割と、コア会議・安心生活応援ネットワーク会議・地域づくり・資源開発会議",
)

ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(code="coordinator_a", label="コーディネーターA", base_role="coordinator",
                   description="社協 地域福祉の責任者",
                   duties=("事業全体とコア会議の進行", "地域づくり・資源開発会議の副")),
    RoleDefinition(code="coordinator_b", label="コーディネーターB", base_role="coordinator",
                   description="社協 生活困窮者支援",
                   duties=("地域づくり・資源開発会議の進行", "安心生活応援ネットワーク会議の副")),
    RoleDefinition(code="coordinator_c", label="コーディネーターC", base_role="coordinator",
                   description="社協 権利擁護支援センター",
                   duties=("安心生活応援ネットワーク会議の進行", "権利擁護支援センターの運営")),
    RoleDefinition(code="coordinator_d", label="コーディネーターD", base_role="coordinator",
                   description="町役場 統括保健師",
                   duties=("コア会議に必ず出席", "他の会議には議題に応じて出席")),
    RoleDefinition(code="coordinator_e", label="コーディネーターE", base_role="coordinator",
                   description="町役場 地域包括支援センター 主任介護支援専門員",
                   duties=("コア会議に必ず出席", "他の会議には議題に応じて出席")),
)

CORE, NETWORK, COMMUNITY = "core_meeting", "network_meeting", "community_meeting"

KINDS: tuple[MeetingKindDefinition, ...] = (
    MeetingKindDefinition(
        code=CORE, label="コア会議", legal_basis="社会福祉法第106条の6（支援会議として開催）",
        confidential=True, requires_consent=False,
        chaired_by=("coordinator_a",), attended_by=("coordinator_d", "coordinator_e"), next_kinds=(NETWORK,),
        description="包括化推進員のコア会議。複合的な課題を抱える世帯を選び課題を整理する。すべての継続ケースと事業の進捗を確認する。",
    ),
    MeetingKindDefinition(
        code=NETWORK, label="安心生活応援ネットワーク会議", requires_consent=True,
        chaired_by=("coordinator_c", "coordinator_b"), next_kinds=(CORE,),
        description="推進員と関係機関でケースを検討し、誰がどう支援するかを決める（副: コーディネーターB）。",
    ),
    MeetingKindDefinition(
        code=COMMUNITY, label="地域づくり・資源開発会議", requires_consent=True,
        chaired_by=("coordinator_b", "coordinator_a"),
        description="地域づくりと社会資源の開発（副: コーディネーターA）。",
    ),
)

# Who sits where: kind → ((role code, member role), …). The first chaired_by is the leader, the second the deputy.
SEATS: dict[str, tuple[tuple[str, str], ...]] = {
    CORE: (("coordinator_a", "leader"), ("coordinator_d", "required"), ("coordinator_e", "required"),
           ("coordinator_b", "by_topic"), ("coordinator_c", "by_topic")),
    NETWORK: (("coordinator_c", "leader"), ("coordinator_b", "deputy"), ("coordinator_d", "by_topic"),
              ("coordinator_e", "by_topic")),
    COMMUNITY: (("coordinator_b", "leader"), ("coordinator_a", "deputy"), ("coordinator_d", "by_topic"),
                ("coordinator_e", "by_topic")),
}


@hookimpl
def kyosei_roles(tenant_id: str) -> list[RoleDefinition]:
    return list(ROLES)


@hookimpl
def kyosei_meeting_kinds(tenant_id: str) -> list[MeetingKindDefinition]:
    return list(KINDS)


@hookimpl
def kyosei_nav_entries(tenant_id: str, principal) -> list[NavItem]:
    if not principal.has_role("coordinator", "staff"):
        return []
    return [NavItem(label="コア会議 進捗確認", href="/meetings/progress")]
