"""Programs (事業・拠点): sessions from weekly slots without holidays, enrolment through eligibility rules,
attendance for a whole group, and the implementation-plan counts built from what was recorded."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from core.plugin_types import EligibilityResult
from core.programs import service
from core.programs.counts import program_counts
from core.programs.eligibility import Applicant, LocalRules
from core.programs.models import Enrolment, Program
from core.programs.schemas import AttendanceInput, EnrolmentInput, ValidationFailed, parse_enrolment, parse_slot
from tests.conftest import run
from tests.cases_support import unit_of_work
from tests.statements_sent import record_statements

NAKATOSA = "394017"
KOCHI = "392014"
D = dt.date


def in_tenant(urls, tenant: str, work, actor: str = "programs-test"):
    """Run ``work(session)`` in one transaction of ``tenant`` as the app role, like a request does."""
    return unit_of_work(urls, tenant, work, actor)


async def hub_and_program(s, name: str, kind: str = "participation", **extra):
    hub = await service.create_hub(s, {"name": f"{name}の拠点", "kind": "attaka_fureai", "area": "久礼",
                                       "address": "", "description": ""})
    program = await service.create_program(s, {"hub_id": hub.id, "name": name, "kind": kind, "field": "elderly",
                                               "purpose": "", "target_group": "", "content": "", "drop_in": False,
                                               "min_age": None, "max_age": None, "capacity": None, **extra})
    return hub, program


def person(name: str, **facts) -> EnrolmentInput:
    return EnrolmentInput(name, "", None, D(2031, 4, 1), Applicant(**facts))


def test_sessions_follow_the_slots_and_skip_public_holidays(database_urls):
    async def work(s):
        _, program = await hub_and_program(s, "集いの場")
        await service.add_slot(s, program.id, parse_slot({"weekdays": ["0", "4"], "start_time": "14:00",
                                                            "end_time": "16:00", "band_label": "65歳以上"}))
        # September 2031: Mondays 1, 8, 15 (敬老の日), 22, 29; Fridays 5, 12, 19, 26 — 23rd is 秋分の日 (a Tuesday)
        result = await service.generate_sessions(s, program.id, D(2031, 9, 1), D(2031, 9, 30))
        again = await service.generate_sessions(s, program.id, D(2031, 9, 1), D(2031, 9, 30))
        sessions = await service.list_sessions(s, program.id)
        return result, again, sessions

    result, again, sessions = in_tenant(database_urls, NAKATOSA, work)
    assert [h for h in result.holidays] == [(D(2031, 9, 15), "敬老の日")]
    assert result.created == 8 and again.created == 0 and again.existing == 8
    assert [x.held_on.day for x in sessions] == [1, 5, 8, 12, 19, 22, 26, 29]
    assert all(x.band_label == "65歳以上" and x.start_time == dt.time(14) for x in sessions)


def test_a_cancelled_session_keeps_its_reason_and_takes_no_attendance(database_urls):
    async def work(s):
        _, program = await hub_and_program(s, "中止の確認")
        await service.add_slot(s, program.id, parse_slot({"weekdays": "2", "start_time": "10:00", "end_time": "12:00"}))
        await service.generate_sessions(s, program.id, D(2031, 10, 1), D(2031, 10, 8))
        first = (await service.list_sessions(s, program.id))[0]
        await service.cancel_session(s, first.id, "台風のため")
        with pytest.raises(service.ProgramError) as refused:
            await service.record_attendance(s, first.id, AttendanceInput(set(), 3))
        return first, refused.value

    cancelled, refused = in_tenant(database_urls, NAKATOSA, work)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "台風のため"
    assert refused.status == 409 and "中止" in refused.message


def test_enrolment_is_refused_with_the_rules_reason_and_nothing_is_written(database_urls):
    rules = LocalRules()

    def seniors(tenant_id, program_code, person):
        if program_code != "gathering":
            return None
        if (person.get("age") or 0) < 65:
            return EligibilityResult(False, ("age",), ("65歳以上の方が対象です。",))
        return EligibilityResult(True, ("age",))

    rules.register(KOCHI, seniors)

    async def work(s):
        _, program = await hub_and_program(s, "高齢者の集い")
        program.code = "gathering"
        with pytest.raises(service.NotEligible) as refused:
            await service.enrol(s, program.id, person("高知 一郎", age=60), rules)
        before = await s.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.program_id == program.id))
        accepted = await service.enrol(s, program.id, person("高知 花子", age=70), rules)
        return refused.value, before, accepted

    refused, before, accepted = in_tenant(database_urls, KOCHI, work)
    assert refused.reasons == ("65歳以上の方が対象です。",)
    assert before == 0
    assert accepted.eligibility_rules == ["age"]

    # The same rule registered for Kochi city is not applied in Nakatosa.
    async def other(s):
        _, program = await hub_and_program(s, "中土佐の集い")
        program.code = "gathering"
        return await service.enrol(s, program.id, person("中土佐 太郎", age=60), rules)

    assert in_tenant(database_urls, NAKATOSA, other).person_name == "中土佐 太郎"


def test_the_programmes_own_age_range_needs_an_age_and_is_explained():
    async def decide(**facts):
        from core.programs.eligibility import NoRules, decide

        return await decide(NoRules(), NAKATOSA, None, Applicant(**facts), D(2031, 4, 1), min_age=18, max_age=50)

    assert run(decide(age=17)).reasons == ("対象は18歳以上です（17歳）。",)
    assert run(decide(birth_date=D(1980, 4, 1))).reasons == ("対象は50歳以下です（51歳）。",)
    assert run(decide(birth_date=D(1980, 4, 2))).eligible  # 50 until the birthday the next day
    assert not run(decide()).eligible
    assert run(decide(birth_date=D(1990, 1, 1))).eligible


def test_bad_enrolment_input_gives_japanese_messages():
    with pytest.raises(ValidationFailed) as failed:
        parse_enrolment({"person_name": "", "person_kana": "abc", "age": "二十", "birth_date": "2031-13-01",
                         "resident": "maybe", "case_number": "2026-" + "0" * 40}, D(2031, 4, 1))
    messages = {e["field"]: e["message"] for e in failed.value.errors}
    assert messages["person_name"] == "氏名を入力してください。"
    assert "ひらがなまたはカタカナ" in messages["person_kana"]
    assert "半角の整数" in messages["age"]
    assert "正しい日付" in messages["birth_date"]
    assert "はい" in messages["resident"]
    assert "相談ケース番号" in messages["case_number"]


def test_attendance_for_a_group_and_the_counts_equal_what_was_recorded(database_urls):
    """A month of one participation programme and one drop-in place, then the plan's counts for it."""

    async def work(s):
        hub, study = await hub_and_program(s, "学習の場")
        drop_in = await service.create_program(s, {
            "hub_id": hub.id, "name": "みんなの居場所", "kind": "community", "field": "other", "purpose": "",
            "target_group": "", "content": "", "drop_in": True, "min_age": None, "max_age": None, "capacity": None})
        await service.add_slot(s, study.id, parse_slot({"weekdays": "5", "start_time": "10:00", "end_time": "12:00"}))
        await service.add_slot(s, drop_in.id, parse_slot({"weekdays": "1", "start_time": "13:00", "end_time": "16:00"}))
        # March 2032: Saturdays 6, 13, 20 (春分の日: skipped), 27; Tuesdays 2, 9, 16, 23, 30
        await service.generate_sessions(s, study.id, D(2032, 3, 1), D(2032, 3, 31))
        await service.generate_sessions(s, drop_in.id, D(2032, 3, 1), D(2032, 3, 31))
        children = [await service.enrol(s, study.id, EnrolmentInput(f"児童{i:02d}", "じどう", None, D(2032, 2, 1),
                                                                    Applicant(school_grade=4)))
                    for i in range(22)]
        regulars = [await service.enrol(s, drop_in.id, EnrolmentInput(f"常連{i}", "", None, D(2032, 2, 1), Applicant()))
                    for i in range(3)]
        study_sessions = await service.list_sessions(s, study.id)
        drop_in_sessions = await service.list_sessions(s, drop_in.id)
        # Session 1: 20 of 22 children in one submission; session 2: 5 of them again plus 2 others; session 3
        # cancelled after attendance was taken (cancelled sessions do not count).
        await service.record_attendance(s, study_sessions[0].id, AttendanceInput({c.id for c in children[:20]}, 0))
        await service.record_attendance(s, study_sessions[1].id,
                                        AttendanceInput({c.id for c in children[:5] + children[20:]}, 0))
        await service.record_attendance(s, study_sessions[2].id, AttendanceInput({children[0].id}, 0))
        await service.cancel_session(s, study_sessions[2].id, "学校行事のため")
        # Drop-in: anonymous headcounts 7, 4 and 0, plus the regulars 2 + 1.
        await service.record_attendance(s, drop_in_sessions[0].id, AttendanceInput({r.id for r in regulars[:2]}, 7))
        await service.record_attendance(s, drop_in_sessions[1].id, AttendanceInput({regulars[0].id}, 4))
        # Re-entering a session replaces it: session 1 corrected to 19 children.
        await service.record_attendance(s, study_sessions[0].id, AttendanceInput({c.id for c in children[:19]}, 0))
        await service.add_partner(s, {"kind": "business", "pillar": "participation", "name": "土佐商店",
                                      "since": D(2031, 1, 1), "until": None})
        await service.add_partner(s, {"kind": "business", "pillar": "participation", "name": "閉店した店",
                                      "since": D(2030, 1, 1), "until": D(2032, 2, 28)})
        await service.add_partner(s, {"kind": "agency", "pillar": "community", "name": "民生委員協議会",
                                      "since": D(2032, 3, 15), "until": None})
        await service.add_partner(s, {"kind": "volunteer", "pillar": "community", "name": "ボランティア 一人",
                                      "since": D(2032, 1, 1), "until": None})
        # 年度: March 2032 is a month of 令和13年度 (2031), April 2032 of 令和14年度 (2032)
        return (await program_counts(s, 2031, 3), await program_counts(s, 2032, 4),
                await program_counts(s, 2031), len(study_sessions), len(drop_in_sessions))

    march, april, fiscal, n_study, n_drop_in = in_tenant(database_urls, "392022", work)
    assert (n_study, n_drop_in) == (3, 5)
    assert march == {
        "participation_participants": 21,  # children 0–18 and 20–21 (19 and the cancelled session's don't count)
        "participation_cooperating_businesses": 1,
        "community_hubs": 1,
        "community_participants": 7 + 4 + 2 + 1,
        "community_agencies": 1,
    }
    assert april["participation_participants"] == 0 and april["community_hubs"] == 0
    assert fiscal["community_participants"] == 14  # FY2031 runs April 2031 – March 2032


def test_attendance_refuses_people_not_enrolled_and_writes_nothing(database_urls):
    async def work(s):
        _, a = await hub_and_program(s, "Aの事業")
        _, b = await hub_and_program(s, "Bの事業")
        await service.add_slot(s, a.id, parse_slot({"weekdays": "3", "start_time": "10:00", "end_time": "11:00"}))
        await service.generate_sessions(s, a.id, D(2031, 11, 1), D(2031, 11, 7))
        outsider = await service.enrol(s, b.id, person("別の 事業"))
        held = (await service.list_sessions(s, a.id))[0]
        with pytest.raises(ValidationFailed):
            await service.record_attendance(s, held.id, AttendanceInput({outsider.id}, 2))
        return (await service.get_session(s, held.id)).anonymous_headcount, await service.attendance_of(s, held.id)

    assert in_tenant(database_urls, NAKATOSA, work) == (0, set())


def test_another_tenant_sees_none_of_the_programmes(database_urls):
    async def make(s):
        _, program = await hub_and_program(s, "高知市だけの事業")
        return program.id

    program_id = in_tenant(database_urls, KOCHI, make)

    async def look(s):
        names = [p.name for p in await service.list_programs(s)]
        with pytest.raises(service.ProgramError) as missing:
            await service.get_program(s, program_id)
        return names, missing.value.status, await s.scalar(select(func.count()).select_from(Program)
                                                             .where(Program.id == program_id))

    names, status, seen = in_tenant(database_urls, NAKATOSA, look)
    assert "高知市だけの事業" not in names and status == 404 and seen == 0


def test_growth_log_of_an_activity(database_urls):
    async def work(s):
        hub, program = await hub_and_program(s, "子育てひろば", kind="community")
        ibasho = await service.add_activity(s, {"name": "地域の居場所", "started_by": "ボランティアの住民",
                                                "origin_hub_id": hub.id, "origin_program_id": program.id,
                                                "started_on": D(2030, 6, 1)})
        shokudo = await service.add_activity(s, {"name": "子ども食堂", "grew_from_id": ibasho.id, "field": "child"})
        await service.add_note(s, ibasho.id, {"noted_on": D(2030, 5, 1), "note": "誰でも集える場がないと気づく"})
        return await service.growth(s, shokudo.id), await service.growth(s, ibasho.id)

    child, parent = in_tenant(database_urls, NAKATOSA, work)
    assert [a.name for a in child.lineage] == ["地域の居場所"]
    assert [a.name for a in parent.offspring] == ["子ども食堂"]
    assert parent.origin_hub.name == "子育てひろばの拠点" and parent.origin_program.name == "子育てひろば"
    assert [n.note for n in parent.notes] == ["誰でも集える場がないと気づく"]


def test_resource_directory_by_field_area_and_words(database_urls):
    async def work(s):
        for name, field, area in [("配食サービス", "elderly", "久礼"), ("放課後デイ", "disability", "上ノ加江"),
                                  ("子ども食堂くれ", "child", "久礼"), ("フードバンク", "poverty", "久礼")]:
            await service.add_resource(s, {"name": name, "kana": "", "field": field, "area": area, "address": "",
                                           "contact": "", "description": "100%手作り" if field == "child" else ""})
        return ([r.name for r in await service.search_resources(s, area="久礼")],
                [r.name for r in await service.search_resources(s, field="child", area="久礼")],
                [r.name for r in await service.search_resources(s, text="100%")],
                [r.name for r in await service.search_resources(s, text="%")])

    kure, child, words, percent = in_tenant(database_urls, "394246", work)
    assert kure == ["配食サービス", "子ども食堂くれ", "フードバンク"]
    assert child == ["子ども食堂くれ"] and words == ["子ども食堂くれ"] and percent == ["子ども食堂くれ"]


def test_json_booleans_and_numbers_are_read_like_the_form():
    data = parse_enrolment({"person_name": "高知 太郎", "age": 70, "care_certified": False, "has_children": True,
                            "children_in_prefecture": False, "program_member": ["morito_room"]}, D(2031, 4, 1))
    assert data.applicant.facts(D(2031, 4, 1)) | {} == {
        "age": 70, "resident": None, "care_certified": False, "has_children": True, "children_in_prefecture": False,
        "school_grade": None, "attends_cram_school": None, "withdrawal_history": None,
        "program_member": ["morito_room"], "employment_prep_user": None}


def test_a_hubs_timetable_is_read_in_one_statement_and_holds_what_the_orm_readers_hold(database_urls, monkeypatch):
    """The hub's weekly grid comes from one statement (``service._TIMETABLE``): the same programmes in the same
    order as ``list_programs`` (active only, by name), the same slots as ``list_slots`` in the same cells (by start
    time, a slot on several weekdays in each, one not yet or no longer valid on the day left out), column for
    column; a hub of another municipality or an id that is none is 拠点が見つかりません。"""
    import asyncpg

    on = D(2031, 6, 4)

    async def work(s):
        hub = await service.create_hub(s, {"name": "時間割の拠点", "kind": "attaka_fureai", "area": "久礼",
                                           "address": "", "description": ""})
        programs = {}
        for name in ("ゆうがた教室", "あさの体操", "おひるの会", "やめた講座"):
            programs[name] = await service.create_program(s, {
                "hub_id": hub.id, "name": name, "kind": "participation", "field": "elderly", "purpose": "",
                "target_group": "", "content": "", "drop_in": False, "min_age": None, "max_age": None,
                "capacity": None})
        programs["やめた講座"].active = False
        for name, weekdays, start, end, extra in (
                ("あさの体操", [0, 2, 4], dt.time(9, 30), dt.time(10, 30), {}),
                ("あさの体操", [1], dt.time(9, 0), dt.time(9, 45), {"valid_until": on - dt.timedelta(days=1)}),
                ("おひるの会", [2], dt.time(13, 0), dt.time(15, 0), {"band_label": "65歳以上", "note": "お弁当持参"}),
                ("おひるの会", [3], dt.time(13, 0), dt.time(14, 0), {"valid_from": on + dt.timedelta(days=1)}),
                ("ゆうがた教室", [0, 3], dt.time(18, 0), dt.time(20, 0), {"time_confirmed": False}),
                ("やめた講座", [5], dt.time(10, 0), dt.time(11, 0), {})):
            await service.add_slot(s, programs[name].id, {"weekdays": weekdays, "start_time": start,
                                                          "end_time": end, **extra})
        await s.flush()

        sent = record_statements(monkeypatch)
        grid = await service.timetable(s, str(hub.id), on)
        monkeypatch.undo()
        # what the three readers give, through the ORM
        listed = await service.list_programs(s, hub.id)
        slots = [slot for slot in await service.list_slots(s, [p.id for p in listed])
                 if not ((slot.valid_from and slot.valid_from > on) or (slot.valid_until and slot.valid_until < on))]
        expected = {code: [[] for _ in range(7)] for code, _, _ in service.PERIODS}
        for slot in slots:
            for weekday in slot.weekdays:
                expected[service.period_of(slot.start_time)][weekday].append((slot.program_id, slot.id))

        def columns(obj):
            return {c.key: getattr(obj, c.key) for c in type(obj).__table__.columns}

        assert len(sent) == 1 and "program_slot" in sent[0]
        assert columns(grid.hub) == columns(hub)
        assert [p.name for p in grid.programs] == ["あさの体操", "おひるの会", "ゆうがた教室"]
        assert [columns(p) for p in grid.programs] == [columns(p) for p in listed]
        by_id = {slot.id: slot for slot in slots}
        assert [[[(e.program.id, e.slot.id) for e in cell] for cell in cells] for _, cells in grid.rows] == \
            [expected[code] for code, _, _ in service.PERIODS]
        assert all(columns(e.slot) == columns(by_id[e.slot.id]) for e in grid.entries())
        assert len(grid.entries()) == 6  # 3 + 1 + 2: the slots out of their dates and the retired programme's left out
        for missing in ("not-an-id", str(uuid.uuid4())):
            with pytest.raises(service.ProgramError, match="拠点が見つかりません"):
                await service.timetable(s, missing, on)
        return hub.id

    hub_id = in_tenant(database_urls, "394017", work)

    async def elsewhere(s):
        with pytest.raises(service.ProgramError, match="拠点が見つかりません"):
            await service.timetable(s, hub_id, on)

    in_tenant(database_urls, "392014", elsewhere)
