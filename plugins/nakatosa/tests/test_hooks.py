"""中土佐町's coordinators and meeting kinds, exactly as the briefing's table (docs DOMAIN.md)."""

from __future__ import annotations

import plugins.nakatosa as nakatosa
from core.meetings.kinds import merge, sharing_kind


def test_coordinators_a_to_e_with_home_organisation_and_duties():
    roles = {r.code: r for r in nakatosa.kyosei_roles("394017")}
    assert [r.label for r in roles.values()] == [f"コーディネーター{x}" for x in "ABCDE"]
    assert all(r.base_role == "coordinator" for r in roles.values())
    assert roles["coordinator_a"].description.startswith("社協") and "コア会議の進行" in roles["coordinator_a"].duties[0]
    assert "地域づくり・資源開発会議の副" in roles["coordinator_a"].duties
    assert roles["coordinator_b"].duties == ("地域づくり・資源開発会議の進行", "安心生活応援ネットワーク会議の副")
    assert "権利擁護支援センター" in roles["coordinator_c"].description
    assert roles["coordinator_d"].description == "町役場 統括保健師"
    assert "地域包括支援センター" in roles["coordinator_e"].description
    assert roles["coordinator_d"].duties[0] == roles["coordinator_e"].duties[0] == "コア会議に必ず出席"


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
    seats = {k: dict(v) for k, v in nakatosa.SEATS.items()}
    assert seats["core_meeting"]["coordinator_a"] == "leader"
    assert seats["core_meeting"]["coordinator_d"] == seats["core_meeting"]["coordinator_e"] == "required"
    assert (seats["network_meeting"]["coordinator_c"], seats["network_meeting"]["coordinator_b"]) == ("leader", "deputy")
    assert (seats["community_meeting"]["coordinator_b"], seats["community_meeting"]["coordinator_a"]) == ("leader", "deputy")


def test_a_plugin_cannot_redefine_a_legal_kind():
    from core.plugin_types import MeetingKindDefinition

    kinds = merge([MeetingKindDefinition(code="support_meeting", label="偽物", confidential=False)])
    assert kinds["support_meeting"].confidential and kinds["support_meeting"].label.startswith("支援会議")
