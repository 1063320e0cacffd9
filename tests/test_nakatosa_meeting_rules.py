"""How Kyosei holds 中土佐町's meeting kinds: the legal kinds stay first, seats and rules follow the plugin's
declarations (the plugin's own tests, in plugins/nakatosa/tests/, use only the public plugin API)."""

from __future__ import annotations

import plugins.nakatosa as nakatosa
from core.meetings import decisions
from core.meetings.kinds import merge, sharing_kind
from core.meetings.service import seats_of


def test_meeting_kinds_seats_and_the_chain():
    kinds = merge(nakatosa.kyosei_meeting_kinds("394017"))
    assert list(kinds)[:2] == ["support_meeting", "multilayer_meeting"]  # the legal kinds stay first
    core, network, community = kinds["core_meeting"], kinds["network_meeting"], kinds["community_meeting"]
    assert (core.label, network.label, community.label) == ("コア会議", "安心生活応援ネットワーク会議", "地域づくり・資源開発会議")
    assert core.chaired_by == ("coordinator_a",) and set(core.attended_by) == {"coordinator_d", "coordinator_e"}
    assert network.chaired_by == ("coordinator_c", "coordinator_b")
    assert community.chaired_by == ("coordinator_b", "coordinator_a")
    assert core.next_kinds == ("network_meeting",) and network.next_kinds == ("core_meeting",)
    assert sharing_kind(core) == "support_meeting" and sharing_kind(network) == "network_meeting"
    assert seats_of(core) == [("coordinator_a", "leader"), ("coordinator_d", "required"), ("coordinator_e", "required")]
    assert seats_of(network) == [("coordinator_c", "leader"), ("coordinator_b", "deputy")]
    assert seats_of(community) == [("coordinator_b", "leader"), ("coordinator_a", "deputy")]


def test_kyosei_meeting_kind_rules_hold_each_kind_as_a_legal_kind():
    kinds = merge(nakatosa.kyosei_meeting_kinds("394017"))
    rules = {c: decisions.rules_for(k, nakatosa.kyosei_meeting_kind_rules("394017")) for c, k in kinds.items()}
    assert rules["core_meeting"].runs_as == "support_meeting" and not rules["core_meeting"].agrees_plans
    assert rules["network_meeting"].runs_as == "multilayer_meeting" and rules["network_meeting"].agrees_plans
    assert rules["community_meeting"].decisions == ("resource_review", "info_shared", "refer_next")
    assert rules["core_meeting"].held_as == "支援会議（社会福祉法第106条の6）"


def test_a_plugin_cannot_redefine_a_legal_kind():
    from core.plugin_types import MeetingKindDefinition

    kinds = merge([MeetingKindDefinition(code="support_meeting", label="偽物", confidential=False)])
    assert kinds["support_meeting"].confidential and kinds["support_meeting"].label.startswith("支援会議")
