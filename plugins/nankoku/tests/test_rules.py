"""南国市's 対象者 rules, one scenario per line of the briefing."""

from __future__ import annotations

from plugins.nankoku import catalog, rules


def senior(**facts):
    return {"age": 70, "care_certified": False, "has_children": False, "children_in_prefecture": None, **facts}


def test_seniors_gathering():
    assert rules.seniors_gathering(senior()).eligible
    assert rules.seniors_gathering(senior(has_children=True, children_in_prefecture=False)).eligible
    refused = rules.seniors_gathering(senior(age=60))
    assert not refused.eligible and refused.reasons == ("対象は65歳以上の方です（60歳）。",)
    assert rules.seniors_gathering(senior(care_certified=True)).reasons == ("要介護認定を受けている方は対象外です。",)
    assert "県内" in rules.seniors_gathering(senior(has_children=True, children_in_prefecture=True)).reasons[0]
    unknown = rules.seniors_gathering({"age": 80})
    assert not unknown.eligible and len(unknown.reasons) == 2  # asks about care certification and children


def test_morito_room_needs_withdrawal_history_and_roughly_18_to_50():
    assert rules.morito_room({"age": 35, "withdrawal_history": True}).eligible
    assert rules.morito_room({"age": 18, "withdrawal_history": True}).eligible
    older = rules.morito_room({"age": 55, "withdrawal_history": True})
    assert older.reasons == ("対象は概ね18歳～50歳の方です（55歳）。",)
    assert older.guidance == ("age_18_50",)  # 「概ね」: a coordinator may override with a reason
    not_withdrawn = rules.morito_room({"age": 30, "withdrawal_history": False})
    assert not not_withdrawn.eligible and not_withdrawn.guidance == ()  # a condition, not guidance


def test_study_support_grades_3_to_6_without_cram_school():
    assert rules.study_support({"school_grade": 3, "attends_cram_school": False}).eligible
    assert rules.study_support({"school_grade": 6, "attends_cram_school": False}).eligible
    assert rules.study_support({"school_grade": 2, "attends_cram_school": False}).reasons == ("対象は小学3～6年生です。",)
    assert rules.study_support({"school_grade": 4, "attends_cram_school": True}).reasons == (
        "塾に通っているお子さんは対象外です。",)


def test_cafe_de_pomme_residents_morito_members_or_employment_preparation():
    assert rules.cafe_de_pomme({"resident": True}).eligible
    assert rules.cafe_de_pomme({"resident": False, "program_member": [catalog.MORITO_ROOM]}).eligible
    assert rules.cafe_de_pomme({"employment_prep_user": True}).eligible
    assert not rules.cafe_de_pomme({"resident": False}).eligible


def test_individual_support_is_for_hub_members_and_other_codes_are_not_ours():
    assert rules.individual_support({"program_member": ["seniors_gathering"]}).eligible
    assert not rules.individual_support({}).eligible
    assert rules.check("minna_no_ibasho", {}) is None  # anyone may drop in
    assert rules.check("someone_elses_program", {"age": 1}) is None


def test_the_catalog_gives_times_only_where_the_briefing_states_them():
    timed = {(p.code, s.weekday, f"{s.start:%H:%M}-{s.end:%H:%M}") for p in catalog.CATALOG for s in p.slots
             if s.time_confirmed}
    assert timed == {("morito_room", 0, "10:00-16:00"), ("cafe_de_pomme", 1, "08:45-12:00"),
                     ("seniors_gathering", 2, "14:00-18:00"), ("seniors_gathering", 4, "14:00-18:00")}
    # the rest only by the weekly sheet's half-day cell: (program, weekday, 午前/午後, band)
    untimed = {(p.code, s.weekday, "午前" if s.start.hour < 12 else "午後", s.label) for p in catalog.CATALOG
               for s in p.slots if not s.time_confirmed}
    assert untimed == {
        ("study_support", 5, "午前", "小学3～4年生（国語・算数）"), ("study_support", 6, "午前", "小学3～4年生（国語・算数）"),
        ("study_support", 6, "午後", "小学5～6年生（国語・算数・理科・社会）"),
        ("tsugumi_academy", 2, "午前", ""), ("individual_support", 3, "午前", ""), ("minna_no_ibasho", 1, "午後", ""),
    }
    # where the sheet and the text disagree, the slot says so
    friday = next(s for p in catalog.CATALOG if p.code == "seniors_gathering" for s in p.slots if s.weekday == 4)
    assert "土曜" in friday.note
    assert [p.code for p in catalog.CATALOG if p.drop_in] == ["minna_no_ibasho"]
