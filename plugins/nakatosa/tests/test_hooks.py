"""中土佐町's coordinators and meeting kinds, exactly as the briefing's table (docs DOMAIN.md)."""

from __future__ import annotations

import plugins.nakatosa as nakatosa


def test_coordinators_a_to_e_with_home_organisation_and_duties():
    roles = {r.code: r for r in nakatosa.kyosei_roles("394017")}
    assert [r.label for r in roles.values()] == [f"包括化推進員{x}" for x in "ABCDE"]
    assert all(r.base_role == "coordinator" for r in roles.values())
    assert roles["coordinator_a"].description == "社協 社会福祉協議会地域福祉課長"
    assert roles["coordinator_a"].duties == ("事業全体のリーダー", "コア会議のリーダー", "地域づくり・資源開発会議のサブ")
    assert roles["coordinator_b"].duties == ("地域づくり・資源開発会議のリーダー", "安心生活応援ネットワーク会議のサブ")
    assert "権利擁護支援センター" in roles["coordinator_c"].description
    assert roles["coordinator_d"].description == "町役場 統括保健師"
    assert roles["coordinator_e"].description == "町役場 地域包括支援センター統括ケアマネ"
    assert roles["coordinator_d"].duties[0] == roles["coordinator_e"].duties[0] == "コア会議に必ず出席"
