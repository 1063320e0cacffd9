"""The case domain's rules at service level: workflow guards, consent, break-the-glass, search, counts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from core.cases import search, service
from core.cases.schemas import ValidationFailed
from core.wareki import today
from tests import case_file_oracle as oracle
from tests.cases_support import intake_body, principal, unit_of_work
from tests.statements_sent import questions, record_statements

TENANT = "394017"


def make_case(urls, who=None, **override):
    who = who or principal(TENANT)

    async def work(session):
        case = await service.create_intake(session, intake_body(**override), who)
        return case.id

    return unit_of_work(urls, TENANT, work, actor=who.sub)


def test_no_plan_without_assessment_and_no_decision_without_plan(database_urls):
    case_id = make_case(database_urls)
    staff, municipality = principal(TENANT), principal(TENANT, roles=("staff", "tenant-admin"))

    async def work(session):
        case = await service.get_case(session, case_id, for_update=True)
        with pytest.raises(service.TransitionRefused, match="アセスメント"):
            await service.create_plan(session, case, {"goals": "生活の安定"})
        await service.transition(session, case, "assessment")
        with pytest.raises(service.TransitionRefused, match="アセスメントが記録されていない"):
            await service.transition(session, case, "planning")
        members = await service.household_members(session, case.household_id)
        await service.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
            {"person_id": str(members[0].person.id), "field": "poverty", "problem": "就労経験がない"},
            {"person_id": str(members[1].person.id), "field": "elderly", "problem": "要介護認定が未申請"}]})
        await service.transition(session, case, "planning")
        with pytest.raises(service.TransitionRefused, match="プランが作成されていない"):
            await service.transition(session, case, "decided", principal=municipality)
        with pytest.raises(service.TransitionRefused, match="変更できません"):
            await service.transition(session, case, "supporting")
        await service.create_plan(session, case, {"goals": "母の介護サービス利用と本人の居場所づくり",
                                                  "review_on": (today() + dt.timedelta(days=90)).isoformat()})
        with pytest.raises(service.TransitionRefused, match="プランが合意されていない"):
            await service.transition(session, case, "decided", principal=municipality)
        # 支援決定 is the municipality's: a staff member (or no one named) is refused, the agreement stays unwritten
        for who in (staff, None):
            with pytest.raises(service.Forbidden, match="支援決定は市町村が行います"):
                await service.agree_plan(session, case, principal=who, decide=True)
        assert (await service.current_plan(session, case.id)).agreed_on is None
        await service.agree_plan(session, case, principal=staff)
        assert case.status == "planning"
        with pytest.raises(service.TransitionRefused, match="すでに合意されています"):
            await service.agree_plan(session, case, principal=staff)
        with pytest.raises(service.Forbidden, match="団体管理者"):
            await service.transition(session, case, "decided", principal=staff)
        await service.transition(session, case, "decided", principal=municipality)
        assert case.status == "decided"
        history = await oracle.status_history(session, case.id)
        assert history[-1].to_status == "decided" and history[-1].changed_by == municipality.sub
        await service.transition(session, case, "supporting")
        await service.add_evaluation(session, case, {"evaluated_on": today().isoformat(),
                                                     "achievement": "partly", "summary": "一部達成", "next_step": "close"})
        assert case.status == "evaluation"
        with pytest.raises(ValidationFailed) as refused:
            await service.transition(session, case, "closed")
        assert refused.value.errors[0]["message"] == "終結の理由を入力してください。"
        await service.transition(session, case, "closed", "目標を達成したため")
        assert case.closed_on == today()
        with pytest.raises(ValidationFailed, match="再開の理由"):
            await service.transition(session, case, "assessment")
        await service.transition(session, case, "assessment", "母の入院で再相談")
        history = [(h.from_status, h.to_status) for h in await oracle.status_history(session, case.id)]
        assert history[0] == (None, "intake") and history[-1] == ("closed", "assessment")
        assert set(case.fields) == {"elderly", "poverty"}

    unit_of_work(database_urls, TENANT, work)


def test_a_multi_agency_plan_is_agreed_only_at_a_multilayer_meeting(database_urls):
    case_id = make_case(database_urls, lead_business="multi_agency")
    municipality = principal(TENANT, roles=("staff", "tenant-admin"))

    async def work(session):
        case = await service.get_case(session, case_id, for_update=True)
        await service.transition(session, case, "assessment")
        members = await service.household_members(session, case.household_id)
        await service.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
            {"person_id": str(members[0].person.id), "field": "poverty", "problem": "就労経験がない"}]})
        await service.create_plan(session, case, {"goals": "就労準備"})
        for who, decide in ((principal(TENANT), False), (municipality, True)):
            with pytest.raises(service.TransitionRefused, match="重層的支援会議で合意します"):
                await service.agree_plan(session, case, principal=who, decide=decide)
        assert (await service.current_plan(session, case.id)).agreed_on is None and case.status == "planning"
        await service.agree_plan(session, case, note="重層的支援会議で合意", at_meeting=True)
        await service.transition(session, case, "decided", principal=municipality)
        assert case.status == "decided"

    unit_of_work(database_urls, TENANT, work)


def test_sharing_outside_the_consent_scope_is_refused_and_revocation_stops_sharing(database_urls):
    case_id = make_case(database_urls)

    async def work(session):
        case = await service.get_case(session, case_id, for_update=True)
        houkatsu = await service.create_agency(session, {"name": "中土佐町地域包括支援センター", "field": "elderly"})
        shakyo = await service.create_agency(session, {"name": "中土佐町社会福祉協議会"})
        decision = await service.check_sharing(session, case.id, houkatsu.id)
        assert not decision.allowed and "同意が記録されていません" in decision.reason_ja
        # A 支援会議 (art. 106-6) may share without consent.
        assert (await service.check_sharing(session, case.id, meeting_kind="support_meeting")).allowed
        consent = await service.record_consent(session, case, {
            "given_on": today().isoformat(), "purpose": "支援方針の検討のため",
            "agency_ids": [str(houkatsu.id)], "meeting_kinds": ["multilayer_meeting"], "method": "written"})
        assert (await service.check_sharing(session, case.id, houkatsu.id)).allowed
        assert (await service.check_sharing(session, case.id, meeting_kind="multilayer_meeting")).allowed
        outside = await service.check_sharing(session, case.id, shakyo.id)
        assert not outside.allowed
        assert outside.reason_ja.startswith("同意の範囲に「中土佐町社会福祉協議会」が含まれていません")
        assert not (await service.check_sharing(session, case.id, meeting_kind="core_meeting")).allowed
        with pytest.raises(service.SharingRefused, match="中土佐町社会福祉協議会"):
            await service.share_with_agency(session, case, shakyo.id)
        share = await service.share_with_agency(session, case, houkatsu.id, "介護保険の申請支援")
        await service.revoke_consent(session, consent, {"reason": "本人の申し出"})
        revoked = await service.check_sharing(session, case.id, houkatsu.id)
        assert not revoked.allowed and "撤回" in revoked.reason_ja
        with pytest.raises(service.SharingRefused, match="撤回"):
            await service.refer(session, case, {"to_agency_id": str(houkatsu.id), "reason": "紹介"})
        assert share.ended_at is not None and share.ended_reason == "同意の撤回"

    unit_of_work(database_urls, TENANT, work)


def test_an_expired_consent_allows_nothing(database_urls):
    case_id = make_case(database_urls)

    async def work(session):
        case = await service.get_case(session, case_id)
        agency = await service.create_agency(session, {"name": "基幹相談支援センター"})
        await service.record_consent(session, case, {"given_on": "2024-04-01", "expires_on": "2024-09-30",
                                                     "purpose": "支援のため", "agency_ids": [str(agency.id)]})
        decision = await service.check_sharing(session, case.id, agency.id)
        assert not decision.allowed and "有効期限" in decision.reason_ja

    unit_of_work(database_urls, TENANT, work)


def test_outside_the_team_a_case_opens_only_with_a_reason(database_urls):
    owner = principal(TENANT, ("staff",))
    case_id = make_case(database_urls, owner)
    other = principal(TENANT, ("staff",))

    async def work(session):
        assert await service.can_view(session, owner, case_id)
        with pytest.raises(service.BreakGlassRequired):
            await service.open_case(session, other, case_id)
        with pytest.raises(ValidationFailed, match="閲覧の理由を入力"):
            await service.break_glass(session, other, case_id, "  ")
        await service.break_glass(session, other, case_id, "夜間の緊急連絡に対応するため")
        case, basis = await service.open_case_with_basis(session, other, case_id)
        assert case.id == case_id and basis == "break_glass"
        # opening asks for the case and the basis in one statement; it must name the basis access_basis names
        assert basis == await service.access_basis(session, other, case_id)
        assert (await service.open_case_with_basis(session, owner, case_id))[1] == "assignee"
        with pytest.raises(service.NotFound):
            await service.open_case_with_basis(session, other, uuid.uuid4())
        with pytest.raises(service.Forbidden):
            await service.list_access_grants(session, other)
        grants = await service.list_access_grants(session, principal(TENANT, ("tenant-admin",)))
        assert any(g.user_sub == other.sub and g.reason == "夜間の緊急連絡に対応するため" for g, _ in grants)
        with pytest.raises(service.Forbidden):
            await service.open_case(session, principal("390003", ("prefecture-admin", "coordinator")), case_id)

    unit_of_work(database_urls, TENANT, work)


def test_search_finds_yamada_taro_by_kana_kanji_and_given_name(database_urls):
    who = principal(TENANT, ("staff",))
    case_id = make_case(database_urls, who)

    async def work(session):
        found = {}
        for q in ("やまだ", "山田", "太郎", "ヤマダ タロウ", "ﾔﾏﾀﾞ", "はな"):
            page = await search.search_cases(session, who, search.CaseQuery(q=q))
            found[q] = [r.case.id for r in page.rows]
        missing = await search.search_cases(session, who, search.CaseQuery(q="存在しない名前"))
        return found, missing.rows

    found, missing = unit_of_work(database_urls, TENANT, work, actor=who.sub)
    assert [q for q, ids in found.items() if case_id not in ids] == []
    assert missing == []


def test_keyset_pages_do_not_repeat_or_skip(database_urls):
    who = principal(TENANT, ("staff",))
    ids = {make_case(database_urls, who, tags=["ページ送り"]) for _ in range(5)}

    async def work(session):
        seen, after = [], None
        while True:
            page = await search.search_cases(session, who, search.CaseQuery(tag="ページ送り", limit=2, after=after))
            seen += [r.case.id for r in page.rows]
            if page.next_after is None:
                return seen
            after = page.next_after

    seen = unit_of_work(database_urls, TENANT, work, actor=who.sub)
    assert len(seen) == len(set(seen)) == 5 and set(seen) == ids


def test_monthly_counts_count_new_plans_and_closures_by_field(database_urls):
    from core.wareki import fiscal_year_of

    today_ = today()
    tenant = "392049"
    who = principal(tenant)

    async def work(session):
        before = await search.monthly_counts(session, fiscal_year_of(today_))
        case = await service.create_intake(session, intake_body(received_on=today_.isoformat(), fields=["child", "poverty"]), who)
        members = await service.household_members(session, case.household_id)
        await service.add_assessment(session, case, {"assessed_on": today_.isoformat(), "summary": "見立て",
                                                     "items": [{"person_id": str(members[0].person.id), "problem": "x"}]})
        await service.create_plan(session, case, {"goals": "目標"})
        await service.transition(session, case, "closed", "転出")
        after = await search.monthly_counts(session, fiscal_year_of(today_))
        return before, after

    before, after = unit_of_work(database_urls, tenant, work, actor=who.sub)
    month = today_.replace(day=1)
    for key in ("child", "poverty", "all"):
        for metric in ("new", "plans", "closed"):
            assert after.get(month, key, metric) == before.get(month, key, metric) + 1, (key, metric)


def test_the_case_page_opens_in_one_question_for_a_reader_of_everything_and_reads_what_it_read_before(
        database_urls, monkeypatch):
    """``open_case_and_file`` (the case page) must give every reader what ``open_case_with_basis`` then
    ``case_file`` gave: the same case, basis, refusal and audited READ, and the same file, cut to the same consent
    scope. A coordinator, the case's team and a break-glass holder get it in one statement; agency staff, whose
    part depends on the consents in force, are read nothing of the file by it and get theirs after, as before."""
    import dataclasses

    from sqlalchemy import inspect

    owner = principal(TENANT, ("staff",))
    case_id = make_case(database_urls, owner)
    coordinator, outsider, glass = principal(TENANT), principal(TENANT, ("staff",)), principal(TENANT, ("staff",))
    agency_reader, unshared = principal(TENANT, ("staff",)), principal(TENANT, ("staff",))

    async def prepare(session):
        case = await service.get_case(session, case_id, for_update=True)
        houkatsu = await service.create_agency(session, {"name": "包括支援センター（開く）", "field": "elderly"})
        other = await service.create_agency(session, {"name": "同意のない機関（開く）"})
        await service.add_agency_staff(session, houkatsu, {"user_sub": agency_reader.sub, "display_name": "包括 花子"})
        await service.add_agency_staff(session, other, {"user_sub": unshared.sub, "display_name": "別の 太郎"})
        await service.record_consent(session, case, {
            "given_on": today().isoformat(), "purpose": "支援方針の検討のため", "items": ["consultation", "plan"],
            "agency_ids": [str(houkatsu.id)], "meeting_kinds": ["multilayer_meeting"], "method": "written"})
        await service.share_with_agency(session, case, houkatsu.id, "介護保険の申請支援")
        await service.transition(session, case, "assessment")
        members = await service.household_members(session, case.household_id)
        await service.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
            {"person_id": str(members[0].person.id), "field": "poverty", "problem": "就労経験がない"}]})
        await service.add_record(session, case, {"recorded_on": today().isoformat(), "kind": "interview",
                                                 "body": "本人と面談"})
        await service.break_glass(session, glass, case_id, "夜間の緊急連絡に対応するため")

    unit_of_work(database_urls, TENANT, prepare, actor=owner.sub)

    def columns(obj):
        if dataclasses.is_dataclass(obj):  # a row as the reader may read it (access.row_as_read)
            return dataclasses.asdict(obj)
        return {a.key: getattr(obj, a.key) for a in inspect(type(obj)).column_attrs}

    def shape(file):
        return (file.items, columns(file.household), [(columns(m.person), columns(m.membership)) for m in file.members],
                [[columns(x) for x in part] for part in (file.assignees, file.consents, file.records, file.evaluations,
                                                        file.referrals, file.history)],
                [(columns(a), [columns(i) for i in items]) for a, items in file.assessments],
                [(columns(p), [columns(r) for r in roles]) for p, roles in file.plans],
                [(columns(c), columns(a)) for c, a in file.agencies], file.all_agencies, file.stage_facts)

    sent = record_statements(monkeypatch)

    def both_ways(reader):
        async def old(session):
            try:
                case, basis = await service.open_case_with_basis(session, reader, case_id)
            except (service.BreakGlassRequired, service.Forbidden) as refused:
                return type(refused)
            return columns(case), basis, shape(await service.case_file(session, case, reader, basis=basis))

        async def new(session):
            sent.clear()
            try:
                case, basis, file = await service.open_case_and_file(session, reader, case_id)
            except (service.BreakGlassRequired, service.Forbidden) as refused:
                return type(refused), None
            assert await service.get_case(session, case_id) is case  # the session's own: no second load
            return (columns(case), basis, shape(file)), len(questions(sent))

        return unit_of_work(database_urls, TENANT, old), *unit_of_work(database_urls, TENANT, new)

    for reader, basis, expected in ((coordinator, "coordinator", 1), (owner, "assignee", 1),
                                    (glass, "break_glass", 1), (agency_reader, "agency", 3)):
        before, after, asked = both_ways(reader)
        assert after == before and after[1] == basis, reader
        assert asked == expected, (basis, sent)
    assert after[2][0] == frozenset({"basic", "consultation", "plan"}) and after[2][4] == []  # the agency's cut
    assert both_ways(outsider)[:2] == (service.BreakGlassRequired, service.BreakGlassRequired)
    from tenants.registry import PREFECTURE_CODE

    assert both_ways(principal(PREFECTURE_CODE, ("prefecture-admin",)))[:2] == (service.Forbidden, service.Forbidden)
    with pytest.raises(service.NotFound):
        unit_of_work(database_urls, TENANT, lambda session: service.open_case_and_file(session, owner, uuid.uuid4()))


def test_the_case_file_read_in_one_round_trip_holds_what_each_reader_holds(database_urls):
    """The case page reads its lists in one statement (core/cases/file_query.py). Each list must be what reading
    its table alone gives (tests/case_file_oracle.py, the readers the service had before), column by column and in
    the same order."""
    from sqlalchemy import inspect

    case_id = make_case(database_urls)
    staff = principal(TENANT)

    def columns(obj):
        return {a.key: getattr(obj, a.key) for a in inspect(type(obj)).column_attrs}

    async def work(session):
        case = await service.get_case(session, case_id, for_update=True)
        houkatsu = await service.create_agency(session, {"name": "中土佐町地域包括支援センター", "field": "elderly"})
        shakyo = await service.create_agency(session, {"name": "中土佐町社会福祉協議会"})
        await service.record_consent(session, case, {
            "given_on": today().isoformat(), "purpose": "支援方針の検討のため", "items": ["consultation", "plan"],
            "agency_ids": [str(houkatsu.id), str(shakyo.id)], "meeting_kinds": ["multilayer_meeting"],
            "method": "written"})
        await service.share_with_agency(session, case, houkatsu.id, "介護保険の申請支援")
        await service.share_with_agency(session, case, shakyo.id, "見守り")
        await service.transition(session, case, "assessment")
        members = await service.household_members(session, case.household_id)
        await service.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
            {"person_id": str(members[0].person.id), "field": "poverty", "problem": "就労経験がない"},
            {"person_id": str(members[1].person.id), "field": "elderly", "problem": "要介護認定が未申請"}]})
        await service.transition(session, case, "planning")
        for goals in ("生活の安定", "母の介護サービス利用と本人の居場所づくり"):
            await service.create_plan(session, case, {"goals": goals, "roles": [
                {"agency_id": str(houkatsu.id), "role": "介護保険の申請支援"}, {"role": "見守り", "actions": "週1回"}]})
        for day in (today() - dt.timedelta(days=3), today()):
            await service.add_record(session, case, {"recorded_on": day.isoformat(), "kind": "interview",
                                                     "body": "本人と面談", "agency_id": str(shakyo.id)})
        await service.refer(session, case, {"to_agency_id": str(houkatsu.id), "reason": "介護の相談"})
        return houkatsu.id, shakyo.id

    houkatsu_id, shakyo_id = unit_of_work(database_urls, TENANT, work)

    async def compare(session):  # a new session: every reader below goes to the database
        from core.cases.models import ProgressRecord

        case = await service.get_case(session, case_id)
        file = await service.case_file(session, case, staff)
        assert [columns(m.person) for m in file.members] == \
            [columns(m.person) for m in await service.household_members(session, case.household_id, include_past=True)]
        assert columns(file.household) == columns(await service.get_household(session, case.household_id))
        for mine, theirs in ((file.assignees, await oracle.assignees(session, case.id)),
                             (file.consents, await service.consents(session, case.id)),
                             (file.records, await oracle.records(session, case.id)),
                             (file.evaluations, await oracle.evaluations(session, case.id))):
            assert [columns(x) for x in mine] == [columns(x) for x in theirs]
        assert len(file.records) == 2 and file.consents[0].agency_ids == [houkatsu_id, shakyo_id]
        assert [(columns(a), [columns(i) for i in items]) for a, items in file.assessments] == \
            [(columns(a), [columns(i) for i in items]) for a, items in await service.assessments(session, case.id)]
        assert [(columns(p), [columns(r) for r in roles]) for p, roles in file.plans] == \
            [(columns(p), [columns(r) for r in roles]) for p, roles in await oracle.plans(session, case.id)]
        assert [len(roles) for _, roles in file.plans] == [2, 2] and file.plans[0][0].version == 2
        assert sorted((columns(s)["id"], columns(a)["name"]) for s, a in file.agencies) == \
            sorted((columns(s)["id"], columns(a)["name"]) for s, a in await oracle.case_agencies(session, case.id))
        assert [(h.from_status, h.to_status, h.changed_at) for h in file.history] == \
            [(h.from_status, h.to_status, h.changed_at) for h in await oracle.status_history(session, case.id)]
        assert [(r.id, r.reason) for r in file.referrals] == \
            [(r.id, r.reason) for r in await oracle.referrals(session, case.id)]
        assert [(a.id, a.name) for a in file.all_agencies] == [tuple(a) for a in await oracle.agency_names(session)]
        # what the unit of work added and has not flushed yet is in the file (the ORM's readers flushed first too)
        session.add(ProgressRecord(case_id=case.id, recorded_on=today(), kind="call", body="電話で様子を確認",
                                   recorded_by="tester"))
        assert [r.body for r in (await service.case_file(session, case, staff)).records][0] == "電話で様子を確認"
        # the file's objects are copies: changing one writes nothing
        file.consents[0].purpose = "書き換え"
        await session.flush()
        assert (await service.consents(session, case.id))[0].purpose == "支援方針の検討のため"

    unit_of_work(database_urls, TENANT, compare)


def test_the_list_names_the_current_assignees_main_first_and_a_nameless_one_as_a_dash(database_urls):
    """The list carries each case's assignees in its own row (core.cases.search.LIST_COLUMNS): 主担当 before 副担当,
    oldest first within each, an assignee without a name as 「—」, and nobody whose assignment ended."""
    from core.cases.models import CaseAssignee
    from core.database import utc_now

    case_id = make_case(database_urls)
    coordinator = principal(TENANT, roles=("staff", "coordinator"))

    async def work(session):
        start = utc_now() - dt.timedelta(days=3)
        session.add_all([
            CaseAssignee(case_id=case_id, user_sub="sub-late", display_name="副担当 二郎", role="sub",
                         assigned_at=start + dt.timedelta(days=2)),
            CaseAssignee(case_id=case_id, user_sub="sub-early", display_name=None, role="sub", assigned_at=start),
            CaseAssignee(case_id=case_id, user_sub="sub-gone", display_name="異動 済子", role="sub",
                         assigned_at=start, ended_at=utc_now()),
        ])
        await session.flush()
        page = await search.search_cases(session, coordinator, search.CaseQuery(limit=200))
        row = next(r for r in page.rows if r.case.id == case_id)
        mains = [a.display_name for a in await oracle.assignees(session, case_id) if a.role == "main"]
        assert row.assignees == [*mains, "—", "副担当 二郎"]

    unit_of_work(database_urls, TENANT, work)


def test_the_list_sent_as_compiled_finds_for_every_shape_what_the_orm_statement_finds(database_urls):
    """``search_cases`` sends each shape's statement compiled once, as it is (``search._for_driver``): for every
    filter, way of matching names, cursor and reader it lists exactly the rows the ORM statement lists, in order,
    column for column, including a case added in the same unit of work."""
    staff, coordinator = principal(TENANT, roles=("staff",)), principal(TENANT, roles=("staff", "coordinator"))
    for _ in range(3):
        make_case(database_urls, staff)
    queries = [search.CaseQuery(), search.CaseQuery(status="open"), search.CaseQuery(status="intake"),
               search.CaseQuery(field="elderly"), search.CaseQuery(tag="8050"), search.CaseQuery(assignee="me"),
               search.CaseQuery(review_due="overdue"), search.CaseQuery(review_due="30"), search.CaseQuery(q="やまだ"),
               search.CaseQuery(q="山田"), search.CaseQuery(q="ﾔﾏ"), search.CaseQuery(q="　"), search.CaseQuery(q="20"),
               search.CaseQuery(q="山田", status="open", field="poverty", tag="8050", assignee="me", limit=2)]

    def plain(case, person, household, names):
        return tuple(case), tuple(person), tuple(household), list(names or [])

    async def work(session):
        await service.create_intake(session, intake_body(), staff)  # written in this unit of work, not yet committed
        for who in (staff, coordinator):
            newest = (await search.search_cases(session, who, search.CaseQuery(limit=1))).next_after
            for query in [*queries, search.CaseQuery(after=newest, limit=2)]:
                sent = [plain(r.case, r.person, r.household, r.assignees)
                        for r in (await search.search_cases(session, who, query)).rows]
                orm = (await session.execute(*search._filtered(who, query, search.LIST_COLUMNS,
                                                               limit=query.limit + 1))).all()[:query.limit]
                assert sent == [plain(*row) for row in orm], (who.roles, query)
                if sent:
                    listed.add((who.sub, query.status, query.tag, query.q, query.after is not None))
        return listed

    listed: set = set()
    unit_of_work(database_urls, TENANT, work, actor=staff.sub)
    # a shape's parameter left out is an error, never a NULL that lists nothing (the reader, for a staff member)
    from sqlalchemy.dialects.postgresql import asyncpg as dialect
    shape, params = search._shape_of(staff, search.CaseQuery(status="open"))
    statement = search._for_driver(shape, False, 51, dialect.dialect())
    assert statement.arguments(params)[-1] == 51  # the page size is written into the statement
    del params["viewer_sub"]
    with pytest.raises(KeyError):
        statement.arguments(params)
    for who in (staff, coordinator):  # the comparison was not between two empty lists
        assert {(who.sub, None, None, None, False), (who.sub, "open", None, None, False),
                (who.sub, None, "8050", None, False), (who.sub, None, None, "やまだ", False),
                (who.sub, None, None, "山田", False), (who.sub, None, None, None, True)} <= listed


def test_the_meeting_page_s_consent_check_for_many_cases_says_what_check_sharing_says_for_each(database_urls):
    """A meeting page checks the consent of every case waiting to be carried onto its agenda in one statement
    (``check_sharing_in_meetings``); each answer must be ``check_sharing``'s for that case."""
    consented, revoked, none = (make_case(database_urls) for _ in range(3))

    async def work(session):
        for case_id in (consented, revoked):
            case = await service.get_case(session, case_id, for_update=True)
            consent = await service.record_consent(session, case, {
                "given_on": today().isoformat(), "purpose": "支援方針の検討のため",
                "meeting_kinds": ["multilayer_meeting"], "method": "written"})
            if case_id == revoked:
                await service.revoke_consent(session, consent, {"reason": "本人の申し出"})
        for kind in ("multilayer_meeting", "core_meeting", "support_meeting"):
            many = await service.check_sharing_in_meetings(session, [consented, revoked, none], kind)
            for case_id in (consented, revoked, none):
                assert many[case_id] == await service.check_sharing(session, case_id, meeting_kind=kind), (kind, case_id)
        assert many[consented].allowed and not (await service.check_sharing_in_meetings(
            session, [revoked], "multilayer_meeting"))[revoked].allowed

    unit_of_work(database_urls, TENANT, work)
