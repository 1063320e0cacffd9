"""Japanese names as people type them (tests/japanese_input.py): stored exactly, found by every form.

One key function (core.text_rules.search_key) makes the key of the stored name and of the query, so a name in the
register's own form (髙橋, 渡邊, 𠮷野, 葛 with a variation selector) is found by the common form staff type, and the
other way round; full-width spaces, half-width kana, a separate voiced mark and zero-width characters do not matter.
Values that must never be stored are refused with a Japanese message and nothing is written.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from core.auth import staff_directory
from core.cases import search, service
from core.cases.models import Person
from core.cases.schemas import ValidationFailed
from core.programs import service as programs
from core.text_rules import search_key, text_problem
from tests.cases_support import intake_body, principal, unit_of_work
from tests.japanese_input import NAME_FAMILIES, PARTIAL_QUERIES, REFUSED

TENANT = "394017"


@pytest.mark.parametrize(("kana", "forms"), NAME_FAMILIES, ids=[f[1][0] for f in NAME_FAMILIES])
def test_every_form_of_a_name_has_one_search_key(kana, forms):
    assert len({search_key(form) for form in forms}) == 1, [search_key(f) for f in forms]
    assert search_key(kana) != ""


def test_names_are_stored_exactly_and_every_form_finds_every_other(database_urls):
    who = principal(TENANT, ("staff",))

    async def work(session):
        stored: dict[str, uuid.UUID] = {}
        for kana, forms in NAME_FAMILIES:
            for form in forms:
                member = {"name": form, "kana": kana, "birth_date": "1960-01-01", "sex": "female"}
                case = await service.create_intake(session, intake_body(members=[member]), who)
                stored[form] = case.person_id
        names = dict((await session.execute(select(Person.id, Person.name).where(
            Person.id.in_(stored.values())))).all())
        missed = []
        for _, forms in NAME_FAMILIES:
            for query in forms:
                found = {r.person.id for r in (await search.search_cases(
                    session, who, search.CaseQuery(q=query, limit=200))).rows}
                missed += [(query, form) for form in forms if stored[form] not in found]
        partial_missed = []
        for form, queries in PARTIAL_QUERIES.items():
            for query in queries:
                found = {r.person.id for r in (await search.search_cases(
                    session, who, search.CaseQuery(q=query, limit=200))).rows}
                partial_missed += [query] if stored[form] not in found else []
        return stored, names, missed, partial_missed

    stored, names, missed, partial_missed = unit_of_work(database_urls, TENANT, work, actor=who.sub)
    assert {form: names[person_id] for form, person_id in stored.items()} == {form: form for form in stored}
    assert missed == []
    assert partial_missed == []


def test_kana_is_stored_as_typed_and_found_in_either_script(database_urls):
    who = principal(TENANT, ("staff",))

    async def work(session):
        member = {"name": "半角 読子", "kana": "ﾊﾝｶｸ ﾖﾐｺ", "birth_date": "1970-01-01", "sex": "female"}
        case = await service.create_intake(session, intake_body(members=[member]), who)
        person = await session.get(Person, (TENANT, case.person_id))
        found = [case.person_id in {r.person.id for r in (await search.search_cases(
            session, who, search.CaseQuery(q=q))).rows} for q in ("はんかく", "ハンカク よみこ", "ﾊﾝｶｸﾖﾐｺ")]
        return person.kana, found

    kana, found = unit_of_work(database_urls, TENANT, work, actor=who.sub)
    assert kana == "ﾊﾝｶｸ ﾖﾐｺ"
    assert found == [True, True, True]


@pytest.mark.parametrize(("value", "fragment"), REFUSED, ids=[repr(v) for v, _ in REFUSED])
def test_what_must_never_be_stored_is_refused_in_japanese(value, fragment):
    problem = text_problem(value, "氏名", 100, multiline=False, allow_emoji=False)
    assert problem and fragment in problem and problem.startswith("氏名")
    # free text too (tab and newlines are the only controls it may hold)
    assert text_problem(value, "相談内容", 4000, multiline=True) is not None


def test_zero_width_joiner_is_accepted_and_no_emoji():
    assert text_problem("山口\u200d三郎", "氏名", 100, multiline=False, allow_emoji=False) is None
    assert "絵文字" in text_problem("山口😀", "氏名", 100, multiline=False, allow_emoji=False)
    assert "絵文字" in text_problem("❤\ufe0f", "氏名", 100, multiline=False, allow_emoji=False)


def test_a_refused_name_writes_nothing(database_urls):
    who = principal(TENANT, ("staff",))

    async def count(session):
        return await session.scalar(select(func.count()).select_from(Person))

    before = unit_of_work(database_urls, TENANT, count)
    for value, fragment in REFUSED:
        async def work(session, value=value):
            member = {"name": value, "kana": "やまだ たろう", "birth_date": "1960-01-01", "sex": "male"}
            await service.create_intake(session, intake_body(members=[member]), who)

        with pytest.raises(ValidationFailed) as refused:
            unit_of_work(database_urls, TENANT, work, actor=who.sub)
        assert any(fragment in e["message"] for e in refused.value.errors), refused.value.errors
    assert unit_of_work(database_urls, TENANT, count) == before


def test_staff_directory_and_resources_search_by_the_same_key(database_urls):
    async def work(session):
        sub = str(uuid.uuid4())
        await session.execute(staff_directory.insert(staff_directory.StaffEntry).values(
            **staff_directory._values(TENANT, sub, "takahashi", "髙橋 一郎", "ﾀｶﾊｼ ｲﾁﾛｳ")))
        staff = [[e.user_sub for e in await staff_directory.search(session, q)] for q in ("高橋", "たかはし", "髙橋一郎")]
        resource = await programs.add_resource(session, {
            "name": "渡邊こども食堂", "kana": "ワタナベコドモショクドウ", "field": "child", "area": "久礼", "address": "",
            "contact": "", "description": "毎週水曜日　ｶﾚｰの日"})
        found = [[r.id for r in await programs.search_resources(session, text=q)]
                 for q in ("渡辺", "わたなべ", "カレー", "こども 食堂")]
        return sub, staff, resource.id, found

    sub, staff, resource_id, found = unit_of_work(database_urls, TENANT, work)
    assert all(sub in hits for hits in staff)
    assert all(resource_id in hits for hits in found)


def test_migration_backfills_the_keys_of_existing_rows_and_indexes_them(pg_server, database_urls):
    """Rows written before 0016 (at 0012) get their keys on upgrade, under the wall, and the keys are indexed."""
    from core import migrate
    from infra.database.provision import with_database
    from tests.db import empty_database, fetch

    urls = empty_database(pg_server.superuser_url, database_urls.owner, database_urls.app, "kyosei_backfill")
    migrate.upgrade(urls, "0012")
    superuser = with_database(pg_server.superuser_url, "kyosei_backfill")
    person, resource = uuid.uuid4(), uuid.uuid4()
    fetch(superuser, "INSERT INTO person (tenant_id, id, name, kana) VALUES ($1, $2, '渡邊\u3000健', 'ﾜﾀﾅﾍﾞ ｹﾝ')",
          TENANT, person)
    fetch(superuser, "INSERT INTO community_resource (tenant_id, id, name, kana, field, area, address, contact, "
          "description, active) VALUES ($1, $2, '𠮷野サロン', '', 'elderly', '', '', '', '', true)", TENANT, resource)
    fetch(superuser, "INSERT INTO staff_directory (tenant_id, user_sub, display_name, kana, username) "
          "VALUES ($1, 'sub-1', '髙橋 一郎', NULL, 'takahashi')", TENANT)
    migrate.upgrade(urls)
    assert [tuple(r) for r in fetch(urls.owner, "SELECT name, name_key, kana_key FROM person", tenant=TENANT)] == [
        ("渡邊\u3000健", "渡辺健", "わたなべけん")]
    assert [r[0] for r in fetch(urls.owner, "SELECT name_key FROM community_resource", tenant=TENANT)] == ["吉野さろん"]
    assert [tuple(r) for r in fetch(urls.owner, "SELECT display_name_key, kana_key FROM staff_directory",
                                    tenant=TENANT)] == [("高橋一郎", "")]
    forced = fetch(urls.owner, "SELECT relname FROM pg_class WHERE relname IN ('person', 'staff_directory', "
                   "'community_resource') AND relforcerowsecurity")
    assert len(forced) == 3
    indexes = {r[0] for r in fetch(urls.owner, "SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'")}
    assert {"ix_person_tenant_id_name_key_trgm", "ix_person_tenant_id_kana_key_trgm",
            "ix_community_resource_tenant_id_name_key_trgm", "ix_staff_directory_tenant_id_display_name_key_trgm"} <= indexes


# -- dates as people type them ----------------------------------------------------------------------------------


def test_intake_dates_accept_wareki_and_refuse_iso_week_dates_with_both_forms_shown(database_urls):
    who = principal(TENANT, ("staff",))

    async def accepted(session):
        case = await service.create_intake(session, intake_body(received_on="令和7年4月1日", members=[
            {"name": "和暦 太郎", "kana": "われき たろう", "birth_date": "S47.4.1", "sex": "male"}]), who)
        person = await session.get(Person, (TENANT, case.person_id))
        return case.received_on.isoformat(), person.birth_date.isoformat()

    assert unit_of_work(database_urls, TENANT, accepted, actor=who.sub) == ("2025-04-01", "1972-04-01")

    async def refused(session):
        await service.create_intake(session, intake_body(received_on="2026-W14-3"), who)

    with pytest.raises(ValidationFailed) as error:
        unit_of_work(database_urls, TENANT, refused, actor=who.sub)
    message = next(e["message"] for e in error.value.errors if e["field"] == "received_on")
    assert "2025-04-01" in message and "令和7年4月1日" in message
