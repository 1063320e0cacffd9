"""Meetings at the service level: the consent rule of 重層的支援会議, and 中土佐町's chain for one household."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from core.auth.staff_directory import StaffEntry
from core.cases import service as cases
from core.cases.schemas import today
from core.meetings import service
from core.meetings.kinds import merge
from tests.cases_support import intake_body, principal, unit_of_work

TENANT = "394017"


def _case(urls, who, **override):
    async def work(session):
        return (await cases.create_intake(session, intake_body(**override), who)).id

    return unit_of_work(urls, TENANT, work, actor=who.sub)


def test_multilayer_meeting_refuses_a_case_without_consent_and_support_meeting_takes_it(database_urls):
    who = principal(TENANT)
    case_id = _case(database_urls, who, consent_given=False)
    kinds = merge([])

    async def work(session):
        start = dt.datetime(2026, 12, 1, 10, 0)
        multilayer = await service.create_meeting(session, {"kind": "multilayer_meeting", "starts_at": start,
                                                            "place": "役場 第1会議室"}, kinds)
        with pytest.raises(service.SharingRefused) as refused:
            await service.add_agenda_item(session, multilayer, kinds["multilayer_meeting"], case_id)
        assert refused.value.message == ("「重層的支援会議」の議題にできません: "
                                         "本人の情報共有への同意が記録されていません。同意を得て記録してから共有してください。")
        assert await service.agenda(session, multilayer.id) == []
        support = await service.create_meeting(session, {"kind": "support_meeting", "starts_at": start,
                                                         "online_url": "https://meet.example.jp/x"}, kinds)
        item = await service.add_agenda_item(session, support, kinds["support_meeting"], case_id, "8050、介護未申請")
        assert "同意がなくても" in item.sharing_basis
        with pytest.raises(service.ValidationFailed, match="場所かオンライン"):
            await service.create_meeting(session, {"kind": "support_meeting", "starts_at": start}, kinds)

    unit_of_work(database_urls, TENANT, work, actor=who.sub)


def test_nakatosa_chain_for_one_household_from_consultation_to_progress_check(database_urls):
    import plugins.nakatosa as nakatosa

    coordinator = principal(TENANT, roles=("staff", "coordinator"))
    kinds = merge(nakatosa.kyosei_meeting_kinds(TENANT))
    roles = {r.code: r for r in nakatosa.kyosei_roles(TENANT)}
    # 1. a consultation reaches an agency (no consent yet)
    case_id = _case(database_urls, coordinator, consent_given=False)

    async def chain(session):
        day = dt.datetime(2026, 12, 2, 13, 30)
        # 2. コア会議 (held as a 支援会議) picks the household and lists its issues, before consent
        core = await service.create_meeting(session, {"kind": "core_meeting", "starts_at": day, "place": "社協"}, kinds)
        for code, seat in nakatosa.SEATS["core_meeting"]:  # the coordinators, picked from the staff directory
            sub = f"{code}-{uuid.uuid4()}"
            session.add(StaffEntry(user_sub=sub, display_name=roles[code].label, username=code))
            await session.flush()
            await service.add_member(session, core, {"user_sub": sub, "member_role": seat, "duty_role": code}, roles)
        seats = {m.duty_role: m.member_role for m in await service.members(session, core.id)}
        assert seats["coordinator_a"] == "leader"
        assert seats["coordinator_d"] == seats["coordinator_e"] == "required"
        picked = await service.add_agenda_item(session, core, kinds["core_meeting"], case_id,
                                               "母の介護（未申請）、本人のひきこもり、収入なし")
        await service.decide(session, core, picked.id, "refer_next", "ネットワーク会議で支援を検討")

        # 3. consent is obtained; assessment and plan are made
        case = await cases.get_case(session, case_id, for_update=True)
        agency = await cases.create_agency(session, {"name": "中土佐町地域包括支援センター", "field": "elderly"})
        await cases.record_consent(session, case, {
            "given_on": today().isoformat(), "purpose": "支援の検討のため", "agency_ids": [str(agency.id)],
            "meeting_kinds": ["network_meeting", "multilayer_meeting"], "method": "written"})
        members = await cases.household_members(session, case.household_id)
        await cases.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
            {"person_id": str(members[1].person.id), "field": "elderly", "problem": "要介護認定が未申請"}]})
        await cases.create_plan(session, case, {"goals": "介護サービスの利用と本人の居場所づくり",
                                                "review_on": (today() + dt.timedelta(days=7)).isoformat()})
        assert case.status == "planning"

        # 4. 安心生活応援ネットワーク会議 (leader C, deputy B) reviews and decides who supports how
        network = await service.create_meeting(session, {"kind": "network_meeting", "starts_at": day + dt.timedelta(days=7),
                                                         "place": "役場"}, kinds)
        await service.add_member(session, network, {"name": "地域包括の担当者", "organisation": "地域包括支援センター",
                                                    "member_role": "by_topic"}, roles)
        item = await service.add_agenda_item(session, network, kinds["network_meeting"], case_id, "支援分担の決定")
        await service.decide(session, network, item.id, "plan_agreed", "包括: 介護申請、社協: 居場所")
        assert case.status == "decided"
        assert (await cases.current_plan(session, case.id)).agreed_on == today()
        await service.decide(session, network, item.id, "start_support")
        assert case.status == "supporting"

        # 5. the core meeting checks the progress of all open cases and programmes
        progress = await service.progress_check(session, coordinator)
        assert case.id in [c.id for c in progress.cases]
        assert progress.last_decision[case.id].decision == "start_support"
        due = await service.follow_up(session, coordinator)
        assert case.id in [c.id for c in due]
        with pytest.raises(service.ValidationFailed, match="終結の理由"):
            await service.decide(session, network, item.id, "closed")

    unit_of_work(database_urls, TENANT, chain, actor=coordinator.sub)
