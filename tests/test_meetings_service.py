"""Meetings at the service level: what each meeting kind may decide (the rule table of core.meetings.decisions),
支援決定 by the municipality, secrecy acknowledgements, and 中土佐町's chain with seats and the carried agenda."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from core.auth.staff_directory import StaffEntry
from core.cases import service as cases
from core.meetings import decisions, flow, service
from core.meetings.kinds import merge
from core.meetings.models import Meeting
from core.plugin_types import MeetingKindDefinition, MeetingKindRule
from core.wareki import today
from tests.cases_support import intake_body, principal, unit_of_work

TENANT = "394017"
KINDS = merge([])
RULES = {code: decisions.rules_for(kind) for code, kind in KINDS.items()}
NOW = dt.datetime.now(service.JST).replace(second=0, microsecond=0)


def _case(urls, who, **override):
    async def work(session):
        return (await cases.create_intake(session, intake_body(**override), who)).id

    return unit_of_work(urls, TENANT, work, actor=who.sub)



async def _stage_both_ways(session, case, reader):
    """The stage as the case page computes it (from the case file it has just read) must be the stage computed
    from the database alone: the page's shortcut may not change what the reader is told."""
    stage = await flow.case_stage(session, case)
    assert await flow.case_stage(session, case, await cases.case_file(session, case, reader)) == stage
    return stage

async def _planned(session, case_id, *, consent: bool = True, kinds=("multilayer_meeting",)):
    """Assessment and plan (and, unless told otherwise, a consent covering ``kinds``): ready for a plan agreement."""
    case = await cases.get_case(session, case_id, for_update=True)
    if consent:
        await cases.record_consent(session, case, {"given_on": today().isoformat(), "purpose": "支援の検討のため",
                                                   "meeting_kinds": list(kinds), "method": "written"})
    await cases.transition(session, case, "assessment")
    members = await cases.household_members(session, case.household_id)
    await cases.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
        {"person_id": str(members[1].person.id), "field": "elderly", "problem": "要介護認定が未申請"}]})
    await cases.create_plan(session, case, {"goals": "介護サービスの利用と本人の居場所づくり",
                                            "review_on": (today() + dt.timedelta(days=7)).isoformat()})
    return case


async def _meeting(session, kind, who, *, when=None, kinds=KINDS):
    scheduled = await service.schedule(session, {"kind": kind, "starts_at": when or NOW - dt.timedelta(hours=1),
                                                 "place": "役場 第1会議室"}, kinds, {}, who)
    return scheduled.meeting


async def _ack(session, meeting, who):
    mine = next(m for m in await service.members(session, meeting.id) if m.user_sub == who.sub)
    await service.acknowledge_confidentiality(session, meeting, mine.id, who)


def test_multilayer_meeting_refuses_a_case_without_consent_and_support_meeting_takes_it(database_urls):
    who = principal(TENANT)
    case_id = _case(database_urls, who, consent_given=False)

    async def work(session):
        multilayer = await _meeting(session, "multilayer_meeting", who)
        with pytest.raises(service.SharingRefused) as refused:
            await service.add_agenda_item(session, multilayer, KINDS["multilayer_meeting"], case_id)
        assert refused.value.message == ("「重層的支援会議」の議題にできません: "
                                         "本人の情報共有への同意が記録されていません。同意を得て記録してから共有してください。")
        assert await service.agenda(session, multilayer, who) == []
        support = await service.create_meeting(session, {"kind": "support_meeting", "starts_at": NOW,
                                                         "online_url": "https://meet.example.jp/x"}, KINDS)
        item = await service.add_agenda_item(session, support, KINDS["support_meeting"], case_id, "8050、介護未申請")
        assert "同意がなくても" in item.sharing_basis
        with pytest.raises(service.ValidationFailed, match="場所かオンライン"):
            await service.create_meeting(session, {"kind": "support_meeting", "starts_at": NOW}, KINDS)

    unit_of_work(database_urls, TENANT, work, actor=who.sub)


def test_support_meeting_refuses_plan_agreement_support_decision_and_closure_for_any_case(database_urls):
    who = principal(TENANT)
    consented, unconsented = _case(database_urls, who), _case(database_urls, who, consent_given=False)

    async def work(session):
        await _planned(session, consented)
        await _planned(session, unconsented, consent=False)
        before = await _stage_both_ways(session, await cases.get_case(session, unconsented), who)
        assert before.before_consent and before.current.code == "outreach" and "同意を得て" in before.needed
        meeting = await _meeting(session, "support_meeting", who)
        await _ack(session, meeting, who)
        for case_id in (consented, unconsented):
            item = await service.add_agenda_item(session, meeting, KINDS["support_meeting"], case_id, principal=who)
            for code in ("plan_agreed", "closed", "support_decided"):
                with pytest.raises(service.DecisionRefused) as refused:
                    await service.decide(session, meeting, RULES["support_meeting"], item.id, code, "理由", who)
                assert refused.value.message.startswith("支援会議（社会福祉法第106条の6）では「")
                assert "決められるのは 情報共有・見守り・アウトリーチの役割分担・同意取得への働きかけ・次回検討（次の会議へ） です" \
                    in refused.value.message
            case = await cases.get_case(session, case_id)
            assert case.status == "planning" and (await cases.current_plan(session, case_id)).agreed_on is None
            decided = await service.decide(session, meeting, RULES["support_meeting"], item.id, "outreach_roles",
                                           "包括が週1回訪問", who)
            assert decided.decision == "outreach_roles"
            with pytest.raises(service.DecisionRefused, match="決定済み"):  # a decision is never overwritten
                await service.decide(session, meeting, RULES["support_meeting"], item.id, "info_shared", None, who)
        # the stage counts what was done before consent: the records written, the meetings that discussed it
        await cases.add_record(session, await cases.get_case(session, unconsented),
                               {"recorded_on": today().isoformat(), "kind": "visit", "body": "自宅を訪問"})
        after = await _stage_both_ways(session, await cases.get_case(session, unconsented), who)
        outreach = next(s for s in after.steps if s.code == "outreach")
        assert outreach.detail == "支援経過の記録 1件・会議での検討 1回", outreach.detail

    unit_of_work(database_urls, TENANT, work, actor=who.sub)


def test_multilayer_meeting_agrees_only_a_consented_plan_once_then_the_municipality_decides(database_urls):
    staff = principal(TENANT, roles=("staff", "coordinator"))
    admin = principal(TENANT, roles=("staff", "tenant-admin"), sub=f"admin-{uuid.uuid4()}")
    case_id = _case(database_urls, staff)
    revoked_id = _case(database_urls, staff)

    async def work(session):
        case = await _planned(session, case_id)
        other = await _planned(session, revoked_id)
        meeting = await _meeting(session, "multilayer_meeting", staff)
        item = await service.add_agenda_item(session, meeting, KINDS["multilayer_meeting"], case_id, principal=staff)
        late = await service.add_agenda_item(session, meeting, KINDS["multilayer_meeting"], revoked_id,
                                             principal=staff)
        # consent revoked after the case was put on the agenda: checked again when deciding
        consent = (await cases.consents(session, other.id))[0]
        await cases.revoke_consent(session, consent, {"reason": "本人の申し出"})
        with pytest.raises(service.DecisionRefused, match="「プランに合意」は本人の同意があるケースだけ決められます: 本人の同意は"):
            await service.decide(session, meeting, RULES["multilayer_meeting"], late.id, "plan_agreed", None, staff)

        outsider = principal(TENANT)
        with pytest.raises(service.DecisionRefused, match="この会議の参加者です"):
            await service.decide(session, meeting, RULES["multilayer_meeting"], item.id, "plan_agreed", None, outsider)
        stage = await _stage_both_ways(session, case, staff)
        assert stage.current.code == "plan_agreed" and not stage.before_consent
        await service.decide(session, meeting, RULES["multilayer_meeting"], item.id, "plan_agreed", "役割分担を確認", staff)
        assert case.status == "planning"  # agreed, not yet decided: 支援決定 is the municipality's act
        assert (await cases.current_plan(session, case_id)).agreed_on == today()
        stage = await _stage_both_ways(session, case, staff)
        assert stage.current.code == "support_decided" and "市町村" in stage.needed

        # a second agreement on the same plan, at another meeting, is refused and names the plan
        again = await _meeting(session, "multilayer_meeting", staff)
        second = await service.add_agenda_item(session, again, KINDS["multilayer_meeting"], case_id, principal=staff)
        with pytest.raises(service.DecisionRefused) as refused:
            await service.decide(session, again, RULES["multilayer_meeting"], second.id, "plan_agreed", None, staff)
        assert "プラン（第1版）は令和" in refused.value.message and "二度合意することはできません" in refused.value.message

        with pytest.raises(service.Forbidden, match="支援決定を記録できるのは市町村の団体管理者"):
            await service.decide_support(session, meeting, RULES["multilayer_meeting"], item.id, staff)
        decided = await service.decide_support(session, meeting, RULES["multilayer_meeting"], item.id, admin)
        assert case.status == "decided"
        assert decided.support_decided_by == admin.sub and decided.support_decided_by_name == "山本 花子"
        assert decided.support_decided_at is not None
        stage = await _stage_both_ways(session, case, staff)
        assert stage.current.code == "supporting" and stage.steps[3].detail.startswith("山本 花子（令和")
        with pytest.raises(service.DecisionRefused, match="すでに記録されています"):
            await service.decide_support(session, meeting, RULES["multilayer_meeting"], item.id, admin)

        # closure is judged at a 重層的支援会議, once
        await cases.transition(session, case, "supporting")
        end = await service.add_agenda_item(session, again, KINDS["multilayer_meeting"], case_id, principal=staff)
        with pytest.raises(service.ValidationFailed, match="終結の理由"):
            await service.decide(session, again, RULES["multilayer_meeting"], end.id, "closed", None, staff)
        await service.decide(session, again, RULES["multilayer_meeting"], end.id, "closed", "目標を達成", staff)
        assert case.status == "closed"
        third = await _meeting(session, "multilayer_meeting", staff)
        once_more = await service.add_agenda_item(session, third, KINDS["multilayer_meeting"], case_id,
                                                  principal=staff)
        with pytest.raises(service.DecisionRefused, match="すでに「終結」です"):
            await service.decide(session, third, RULES["multilayer_meeting"], once_more.id, "closed", "再度", staff)

    unit_of_work(database_urls, TENANT, work, actor=staff.sub)


def test_support_decided_on_the_case_page_names_who_recorded_it_as_the_staff_directory_knows_them(database_urls):
    """支援決定 recorded on the case page (no meeting): the stage names the municipality's decider by their name in
    the staff directory, a retired member too, and by their user id when the directory has none; the case page's
    stage (read with its file) and the stage read alone say the same."""
    staff = principal(TENANT, roles=("staff",))
    listed = principal(TENANT, roles=("staff", "tenant-admin"), sub=f"listed-{uuid.uuid4()}")
    unlisted = principal(TENANT, roles=("staff", "tenant-admin"), sub=f"unlisted-{uuid.uuid4()}")
    named, unnamed = _case(database_urls, staff), _case(database_urls, staff)

    async def work(session):
        session.add(StaffEntry(user_sub=listed.sub, display_name="市川 課長", username=f"ichikawa-{listed.sub[-6:]}",
                               retired_at=dt.datetime.now(dt.UTC)))
        for case_id, who in ((named, listed), (unnamed, unlisted)):
            case = await _planned(session, case_id, kinds=("support_meeting",))
            before = await _stage_both_ways(session, case, staff)
            assert before.current.code == "plan_agreed" and before.steps[3].detail == ""
            await cases.agree_plan(session, case, principal=who, decide=True)
            assert case.status == "decided"
        decided = await _stage_both_ways(session, await cases.get_case(session, named), staff)
        assert decided.steps[3].done and decided.steps[3].detail.startswith("市川 課長（令和")
        decided = await _stage_both_ways(session, await cases.get_case(session, unnamed), staff)
        assert decided.steps[3].detail.startswith(f"{unlisted.sub}（令和")

    unit_of_work(database_urls, TENANT, work, actor=staff.sub)


def test_no_decision_before_the_meeting_day_and_none_after_the_minutes_are_finalised(database_urls):
    who = principal(TENANT)
    case_id = _case(database_urls, who)

    async def work(session):
        await _planned(session, case_id)
        future = await _meeting(session, "multilayer_meeting", who, when=NOW + dt.timedelta(days=30))
        item = await service.add_agenda_item(session, future, KINDS["multilayer_meeting"], case_id, principal=who)
        with pytest.raises(service.DecisionRefused) as refused:
            await service.decide(session, future, RULES["multilayer_meeting"], item.id, "plan_agreed", None, who)
        assert refused.value.message.startswith("会議の日（令和") and "より前には、決定を記録できません" in refused.value.message

        held = await _meeting(session, "multilayer_meeting", who)
        on_it = await service.add_agenda_item(session, held, KINDS["multilayer_meeting"], case_id, principal=who)
        with pytest.raises(service.Forbidden, match="進行役"):
            await service.finalise_minutes(session, held, principal(TENANT, roles=("staff",)))
        await service.finalise_minutes(session, held, who)
        with pytest.raises(service.DecisionRefused, match="議事録が確定しているため"):
            await service.decide(session, held, RULES["multilayer_meeting"], on_it.id, "plan_agreed", None, who)
        with pytest.raises(service.CaseError, match="議事録が確定しているため"):
            await service.save_minutes(session, held, "後から書き換え")

    unit_of_work(database_urls, TENANT, work, actor=who.sub)


def test_secrecy_is_acknowledged_by_the_member_alone_and_external_ones_by_the_chair(database_urls):
    chair = principal(TENANT, roles=("staff",))
    colleague = principal(TENANT, roles=("staff",), sub=f"colleague-{uuid.uuid4()}")
    case_id = _case(database_urls, chair, consent_given=False)

    async def work(session):
        meeting = await _meeting(session, "support_meeting", chair)
        await _ack(session, meeting, chair)
        await service.add_agenda_item(session, meeting, KINDS["support_meeting"], case_id, principal=chair)
        await service.save_minutes(session, meeting, "母の介護申請を支援する。")
        session.add(StaffEntry(user_sub=colleague.sub, display_name="中村 健", username="nakamura"))
        await session.flush()
        member = await service.add_member(session, meeting, {"user_sub": colleague.sub})
        external = await service.add_member(session, meeting, {"name": "民生委員 高橋", "organisation": "民生委員児童委員協議会"})

        # the unacknowledged member sees that the meeting exists, and no case and no minutes
        assert await service.meeting_access(session, meeting, KINDS["support_meeting"], colleague) == service.LIMITED
        with pytest.raises(service.Forbidden, match="守秘義務の確認を記録した参加者だけ"):
            await service.open_meeting_with_members(session, meeting.id, colleague, KINDS, full=True)
        # nobody acknowledges for someone else, not even the chair
        with pytest.raises(service.Forbidden, match="ご本人がログインして"):
            await service.acknowledge_confidentiality(session, meeting, member.id, chair)
        await service.acknowledge_confidentiality(session, meeting, member.id, colleague)
        assert member.confidentiality_ack_method == "self" and member.confidentiality_ack_by == colleague.sub
        opened, _members = await service.open_meeting_with_members(session, meeting.id, colleague, KINDS, full=True)
        assert opened is meeting

        # an external participant: only the chair records it, with the method and the date
        with pytest.raises(service.Forbidden, match="進行役"):
            await service.acknowledge_confidentiality(session, meeting, external.id, colleague,
                                                      {"method": "written", "acknowledged_on": today().isoformat()})
        with pytest.raises(service.ValidationFailed) as missing:
            await service.acknowledge_confidentiality(session, meeting, external.id, chair, {})
        assert {e["field"] for e in missing.value.errors} == {"method", "acknowledged_on"}
        await service.acknowledge_confidentiality(session, meeting, external.id, chair,
                                                  {"method": "oral", "acknowledged_on": today().isoformat()})
        assert (external.confidentiality_ack_method, external.confidentiality_ack_on) == ("oral", today())
        assert external.confidentiality_ack_by == chair.sub
        # a coordinator who is not a member is not bound by this meeting's secrecy: no cases, no minutes
        coordinator = principal(TENANT, roles=("staff", "coordinator"))
        assert await service.meeting_access(session, meeting, KINDS["support_meeting"], coordinator) == service.LIMITED

    unit_of_work(database_urls, TENANT, work, actor=chair.sub)


def test_a_plugin_kind_runs_as_a_core_kind_and_can_only_narrow_what_it_decides():
    confidential = MeetingKindDefinition(code="core", label="コア会議", confidential=True, requires_consent=False)
    consented = MeetingKindDefinition(code="network", label="ネットワーク会議")
    assert decisions.rules_for(confidential).runs_as == "support_meeting"
    assert decisions.rules_for(consented).decisions == ("info_shared", "refer_next")  # no rule: decides nothing binding
    widened = decisions.rules_for(confidential, [MeetingKindRule("core", "multilayer_meeting")])
    assert widened.runs_as == "support_meeting" and not widened.agrees_plans  # a kind without consent cannot agree
    narrowed = decisions.rules_for(consented, [MeetingKindRule("network", "multilayer_meeting",
                                                               ("plan_agreed", "closed", "support_decided"))])
    assert narrowed.runs_as == "multilayer_meeting" and narrowed.decisions == ("plan_agreed", "closed")
    facts = decisions.Facts("planning", 1, None, None, today(), today(), None, True)
    assert decisions.refusal(narrowed, "continue", facts) == (
        "「ネットワーク会議」では「支援継続」は決められません。決められるのは プランに合意・終結 です。")
    assert decisions.refusal(narrowed, "plan_agreed", facts) is None


def test_nakatosa_chain_seats_the_core_meeting_carries_its_households_and_checks_progress(database_urls):
    import plugins.nakatosa as nakatosa

    coordinator = principal(TENANT, roles=("staff", "coordinator"))
    admin = principal(TENANT, roles=("staff", "tenant-admin"))
    kinds = merge(nakatosa.kyosei_meeting_kinds(TENANT))
    rules = {c: decisions.rules_for(k, nakatosa.kyosei_meeting_kind_rules(TENANT)) for c, k in kinds.items()}
    roles = {r.code: r for r in nakatosa.kyosei_roles(TENANT)}
    case_id = _case(database_urls, coordinator, consent_given=False)  # 1. a consultation, no consent yet

    async def chain(session):
        holders = {}
        for code in roles:  # 包括化推進員 A–E hold their seats
            holders[code] = f"{code}-{uuid.uuid4()}"
            session.add(StaffEntry(user_sub=holders[code], display_name=roles[code].label, username=code))
            await session.flush()
            await service.assign_seat(session, code, holders[code], roles)

        # 2. コア会議 (runs as 支援会議) is seated automatically: A leads, D and E must attend
        scheduled = await service.schedule(session, {"kind": "core_meeting", "starts_at": NOW - dt.timedelta(days=1),
                                                     "place": "社協"}, kinds, roles, coordinator)
        core = scheduled.meeting
        assert scheduled.empty_seats == [] and scheduled.waiting == []
        seats = {m.duty_role: m.member_role for m in await service.members(session, core.id)}
        assert seats == {"coordinator_a": "leader", "coordinator_d": "required", "coordinator_e": "required",
                         None: "by_topic"}  # the organiser joins by topic: the seat gave the lead to A
        await _ack(session, core, coordinator)
        picked = await service.add_agenda_item(session, core, kinds["core_meeting"], case_id,
                                               "母の介護（未申請）、本人のひきこもり、収入なし", principal=coordinator)
        with pytest.raises(service.DecisionRefused, match="「コア会議」（支援会議として開催）では「プランに合意」は決められません"):
            await service.decide(session, core, rules["core_meeting"], picked.id, "plan_agreed", None, coordinator)
        await service.decide(session, core, rules["core_meeting"], picked.id, "refer_next", "ネットワーク会議で検討",
                             coordinator)

        # before consent, the network meeting cannot take it: the carry waits, with the reason
        early = await service.schedule(session, {"kind": "network_meeting", "starts_at": NOW, "place": "役場"},
                                       kinds, roles, coordinator)
        assert [w.case.id for w in early.waiting] == [case_id] and "同意" in early.waiting[0].reason
        assert await service.agenda(session, early.meeting, coordinator) == []

        # 3. consent, assessment, plan
        case = await _planned(session, case_id, kinds=("network_meeting",))

        # 4. 安心生活応援ネットワーク会議: seated C (lead) and B (deputy), the household carried with its issues
        later = await service.schedule(session, {"kind": "network_meeting", "starts_at": NOW, "place": "役場"},
                                       kinds, roles, coordinator)
        network = later.meeting
        seats = {m.duty_role: m.member_role for m in await service.members(session, network.id)}
        assert seats["coordinator_c"] == "leader" and seats["coordinator_b"] == "deputy"
        (carried,) = await service.agenda(session, network, coordinator)
        assert carried.case.id == case_id and carried.item.carried_from_id == picked.id
        assert carried.item.issues == "母の介護（未申請）、本人のひきこもり、収入なし"
        # carried once: no ネットワーク会議 page lists the household as waiting any more, the earlier one neither
        for meeting in (network, early.meeting):
            assert await service.waiting_carries(session, meeting, kinds, coordinator) == []
        await service.decide(session, network, rules["network_meeting"], carried.item.id, "plan_agreed",
                             "包括: 介護申請、社協: 居場所", coordinator)
        await service.decide_support(session, network, rules["network_meeting"], carried.item.id, admin)
        assert case.status == "decided"

        # 5. 進捗確認: every open case with the person's name, owners and the date of the last decision
        progress = await service.progress_check(session, coordinator, kinds)  # the town's kinds, as its pages pass
        row = next(r for r in progress.rows if r.case.id == case_id)
        assert row.person_name == "山田 太郎" and row.last.decision == "plan_agreed" and row.last.decided_at

    unit_of_work(database_urls, TENANT, chain, actor=coordinator.sub)


def test_progress_check_shows_each_programme_s_last_held_session_and_who_recorded_it(database_urls):
    """The programme model names no owner: 進捗確認 shows the last session held (cancelled ones and future ones do
    not count) and the staff member who recorded its attendance; a programme never held says so."""
    from core.audit.trail import bind_actor
    from core.programs import service as programs
    from core.programs.schemas import AttendanceInput, parse_slot

    coordinator = principal(TENANT, roles=("staff", "coordinator"))
    recorder = f"recorder-{uuid.uuid4()}"
    on = dt.datetime.now(service.JST).date()

    async def work(session):
        session.add(StaffEntry(user_sub=recorder, display_name="記録 太郎", username="recorder"))
        hub = await programs.create_hub(session, {"name": "進捗の拠点", "kind": "attaka_fureai", "area": "久礼",
                                                  "address": "", "description": ""})
        values = {"hub_id": hub.id, "kind": "community", "field": "elderly", "purpose": "", "target_group": "",
                  "content": "", "drop_in": True, "min_age": None, "max_age": None, "capacity": None,
                  "businesses": ["community"]}
        held = await programs.create_program(session, {**values, "name": "進捗の居場所（毎日）"})
        never = await programs.create_program(session, {**values, "name": "進捗の居場所（未実施）"})
        await programs.add_slot(session, held.id, parse_slot({"weekdays": [str(d) for d in range(7)],
                                                              "start_time": "10:00", "end_time": "11:00",
                                                              "band_label": ""}))
        await programs.generate_sessions(session, held.id, on - dt.timedelta(days=5), on + dt.timedelta(days=5))
        by_day = {s.held_on: s for s in await programs.list_sessions(session, held.id)}
        bind_actor(recorder)
        await programs.record_attendance(session, by_day[on - dt.timedelta(days=2)].id,
                                         AttendanceInput(present=set(), anonymous_headcount=4))
        bind_actor(coordinator.sub)
        await programs.cancel_session(session, by_day[on].id, "雨天のため")
        progress = await service.progress_check(session, coordinator)
        rows = {r.program.name: r for r in progress.programs}
        assert rows["進捗の居場所（毎日）"].last_held_on == on - dt.timedelta(days=1)  # not today's cancelled one
        assert rows["進捗の居場所（毎日）"].recorded_by == ""  # nobody recorded that day's attendance yet
        assert never.id in {r.program.id for r in progress.programs}
        assert rows["進捗の居場所（未実施）"].last_held_on is None and rows["進捗の居場所（未実施）"].recorded_by == ""
        bind_actor(recorder)
        await programs.record_attendance(session, by_day[on - dt.timedelta(days=1)].id,
                                         AttendanceInput(present=set(), anonymous_headcount=3))
        again = {r.program.name: r for r in (await service.progress_check(session, coordinator)).programs}
        assert again["進捗の居場所（毎日）"].recorded_by == "記録 太郎"

    unit_of_work(database_urls, TENANT, work, actor=coordinator.sub)


def test_progress_check_shows_a_support_meeting_s_decision_only_to_who_may_read_that_meeting(database_urls):
    """守秘義務 holds on 進捗確認 too: a coordinator who is not a member of the 支援会議 sees the meeting exists but not
    its cases (``meeting_access`` LIMITED), so the 進捗確認 does not show that meeting's decision on the case either;
    the member who acknowledged secrecy does see it."""
    organiser = principal(TENANT, roles=("staff", "coordinator"))
    outsider = principal(TENANT, roles=("staff", "coordinator"), sub=f"coordinator-{uuid.uuid4()}")
    case_id = _case(database_urls, organiser, consent_given=False)

    async def work(session):
        meeting = await _meeting(session, "support_meeting", organiser)
        await _ack(session, meeting, organiser)
        item = await service.add_agenda_item(session, meeting, KINDS["support_meeting"], case_id, principal=organiser)
        await service.decide(session, meeting, RULES["support_meeting"], item.id, "outreach_roles", "包括が週1回訪問",
                             organiser)
        assert await service.meeting_access(session, meeting, KINDS["support_meeting"], outsider) == service.LIMITED

        async def last(who):
            return next(r for r in (await service.progress_check(session, who, KINDS)).rows if r.case.id == case_id).last

        assert (await last(organiser)).decision == "outreach_roles"
        assert await last(outsider) is None

    unit_of_work(database_urls, TENANT, work, actor=organiser.sub)


def test_two_requests_seating_the_same_staff_member_at_once_seat_them_once(database_urls):
    """add_member checks "already a member" and then inserts: two requests at the same moment both pass the check.
    The database's unique index (migration 0022) makes the second insert wait for the first and then fail, so the
    member sits once and the loser's request is refused (409 by ui/errors.py), nothing of it written."""
    from tests.races import two_at_once

    chair = principal(TENANT)
    colleague = f"colleague-{uuid.uuid4()}"

    async def setup(session):
        meeting = await _meeting(session, "multilayer_meeting", chair)
        session.add(StaffEntry(user_sub=colleague, display_name="中村 健", username=f"nakamura-{colleague[-6:]}"))
        return meeting.id

    meeting_id = unit_of_work(database_urls, TENANT, setup, actor=chair.sub)

    async def seat(session):
        meeting = await session.scalar(select(Meeting).where(Meeting.id == meeting_id))
        await service.add_member(session, meeting, {"user_sub": colleague})

    assert two_at_once(database_urls, TENANT, chair.sub, seat) == ["23505", "done"]  # unique_violation

    async def seated(session):
        return [m for m in await service.members(session, meeting_id) if m.user_sub == colleague]

    assert len(unit_of_work(database_urls, TENANT, seated)) == 1


def test_the_meeting_list_holds_exactly_the_meetings_each_reader_may_open(database_urls):
    """The list is one statement (visible_meetings_clause); it must agree with meeting_access, meeting by meeting,
    for a member, a staff member outside, a coordinator outside and the prefecture."""
    chair = principal(TENANT, roles=("staff", "coordinator"))
    outsider = principal(TENANT, roles=("staff",))
    coordinator = principal(TENANT, roles=("staff", "coordinator"))
    prefecture = principal("390003", roles=("prefecture-admin",))
    # A day of its own, far from other tests' meetings, from 10:00 so that the three meetings an hour apart fall on
    # it whatever the time the suite runs (from 22:00 JST the last one used to fall on the next day, outside the list).
    day = (NOW + dt.timedelta(days=400 + uuid.uuid4().int % 300)).replace(hour=10, minute=0)

    async def work(session):
        made = [await _meeting(session, kind, chair, when=day + dt.timedelta(hours=i))
                for i, kind in enumerate(("support_meeting", "multilayer_meeting", "support_meeting"))]
        await _ack(session, made[0], chair)
        seen = {}
        for name, who in (("chair", chair), ("outsider", outsider), ("coordinator", coordinator),
                          ("prefecture", prefecture)):
            listed = {m.id for m in await service.list_meetings(session, who, KINDS, start=day.date(),
                                                                end=day.date() + dt.timedelta(days=1))}
            allowed = {m.id for m in made if await service.meeting_access(session, m, KINDS[m.kind], who)}
            seen[name] = (len(listed), listed == allowed)
        return seen

    seen = unit_of_work(database_urls, TENANT, work, actor=chair.sub)
    assert seen == {"chair": (3, True), "outsider": (1, True), "coordinator": (3, True), "prefecture": (0, True)}


def test_the_meeting_page_opens_the_meeting_with_its_members_in_one_question_and_admits_whom_it_admitted(
        database_urls, monkeypatch):
    """``open_meeting_with_members`` (every way into a meeting) must give every reader what reading the meeting,
    asking ``meeting_access`` (the rule asked of the database) and ``members`` gives: the same meeting, members
    in the same order, the same access, and the same agenda when the agenda is read with the members already read;
    a reader without access is refused (404), and the audit trail holds the READ or the DENIED. The meeting and
    its members come in one statement, and a member's agenda asks nothing about membership."""
    import dataclasses

    from sqlalchemy import inspect

    from tests.statements_sent import questions, record_statements

    owner, chair, outsider = (principal(TENANT, roles=("staff",)) for _ in range(3))
    colleague = principal(TENANT, roles=("staff",), sub=f"colleague-{uuid.uuid4()}")
    coordinator, admin = principal(TENANT), principal(TENANT, roles=("tenant-admin",))
    prefecture = principal("390003", roles=("prefecture-admin",))
    case_id = _case(database_urls, owner)  # the owner's case: the chair reads it on an agenda only as a member

    async def prepare(session):
        case = await cases.get_case(session, case_id, for_update=True)
        await cases.record_consent(session, case, {"given_on": today().isoformat(), "purpose": "支援の検討のため",
                                                   "meeting_kinds": ["multilayer_meeting"], "method": "written"})
        support = await _meeting(session, "support_meeting", chair)
        await _ack(session, support, chair)
        session.add(StaffEntry(user_sub=colleague.sub, display_name="中村 健", username=colleague.sub))
        await session.flush()
        await service.add_member(session, support, {"user_sub": colleague.sub})
        await service.add_member(session, support, {"name": "民生委員 高橋", "organisation": "民生委員児童委員協議会",
                                                    "member_role": "required"})  # seated after, listed before 中村
        await service.add_agenda_item(session, support, KINDS["support_meeting"], case_id, "8050", principal=owner)
        multilayer = await _meeting(session, "multilayer_meeting", chair)
        await service.add_agenda_item(session, multilayer, KINDS["multilayer_meeting"], case_id, "介護未申請",
                                      principal=owner)
        return support.id, multilayer.id

    support_id, multilayer_id = unit_of_work(database_urls, TENANT, prepare, actor=chair.sub)
    elsewhere = unit_of_work(database_urls, "392049", lambda session: _meeting(session, "multilayer_meeting",
                                                                               principal("392049"))).id

    events: list = []
    audit_record = service.record

    async def audited(session, action, object_type, object_id=None, **kw):
        events.append((getattr(action, "name", action), object_type, object_id, kw.get("reason")))
        return await audit_record(session, action, object_type, object_id, **kw)

    monkeypatch.setattr(service, "record", audited)
    sent = record_statements(monkeypatch)

    def columns(obj):
        if dataclasses.is_dataclass(obj):
            return dataclasses.asdict(obj)
        return {a.key: getattr(obj, a.key) for a in inspect(type(obj)).column_attrs}

    def agenda_shape(rows):
        return [(columns(row.item), None if row.case is None else tuple(row.case)) for row in rows]

    def both_ways(reader, meeting_id):
        async def old(session):
            events.clear()
            meeting = await session.scalar(select(Meeting).where(Meeting.id == meeting_id)) \
                if isinstance(meeting_id, uuid.UUID) else None
            access = meeting and await service.meeting_access(session, meeting, KINDS[meeting.kind], reader)
            if access is None:  # refused: no meeting, or one the reader may not see, recorded as DENIED
                return (service.NotFound, "会議が見つかりません。",
                        [("DENIED", "meeting", meeting.id, "not a member")] if meeting else [])
            seated = await service.members(session, meeting.id)
            rows = await service.agenda(session, meeting, reader) if access == service.FULL else []
            return (columns(meeting), [columns(m) for m in seated], access, agenda_shape(rows),
                    [("READ", "meeting", meeting.id, None), *events])

        async def new(session):
            events.clear()
            sent.clear()
            try:
                meeting, seated = await service.open_meeting_with_members(session, meeting_id, reader, KINDS)
            except (service.NotFound, service.Forbidden) as refused:
                return (type(refused), refused.message, list(events)), len(questions(sent)), None
            opening = len(questions(sent))
            access = service.meeting_access_among(seated, KINDS[meeting.kind], reader)
            sent.clear()
            rows = await service.agenda(session, meeting, reader, seated) if access == service.FULL else []
            return ((columns(meeting), [columns(m) for m in seated], access, agenda_shape(rows), list(events)),
                    opening, len(questions(sent)))

        before = unit_of_work(database_urls, reader.tenant_id or TENANT, old)
        after, opening, agenda_questions = unit_of_work(database_urls, reader.tenant_id or TENANT, new)
        assert after == before, reader
        assert opening == (0 if meeting_id == "x" else 1), (opening, reader, meeting_id)  # "x": no question at all
        return after, agenda_questions

    full, limited = service.FULL, service.LIMITED
    for meeting_id, reader, access, agenda_questions in (
            (support_id, chair, full, 1), (support_id, colleague, limited, 0), (support_id, coordinator, limited, 0),
            (multilayer_id, chair, full, 1), (multilayer_id, coordinator, full, 1), (multilayer_id, outsider, full, None)):
        (_meeting_columns, seated, got, rows, audited_events), asked = both_ways(reader, meeting_id)
        assert got == access, reader
        if agenda_questions is not None:
            assert asked == agenda_questions, sent  # a member's or coordinator's agenda: no membership question
        if access == full:
            assert len(rows) == 1 and (rows[0][1] is None) == (reader is outsider)  # outsider: 閲覧権限のないケース
    assert [m["member_role"] for m in seated][:1] == ["leader"]  # the organiser first, as the page lists them
    assert [m["name"] for m in both_ways(chair, support_id)[0][1]][1:] == ["民生委員 高橋", "中村 健"]
    for meeting_id, reader in ((support_id, outsider), (support_id, admin), (multilayer_id, admin),
                               (support_id, prefecture), (elsewhere, chair), (uuid.uuid4(), chair), ("x", chair)):
        refused, _asked = both_ways(reader, meeting_id)
        assert refused[:2] == (service.NotFound, "会議が見つかりません。"), (reader, meeting_id)
