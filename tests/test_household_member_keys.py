"""A household's members' search keys in one row (``household_member_keys``, migration 0024), kept by triggers.

A staff member's name search reads that row for each case they may see; if the triggers missed a change, a case
would silently not be found by a member's name. So: what staff do to a household (a member joins, moves out to
another household, a name corrected) is found at once, the row always equals its members' keys, and two people
adding members to one household at the same moment both stay findable.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from core.cases import search, service
from core.cases.models import Person
from core.text_rules import search_key
from infra.database.provision import connect
from tests.cases_support import intake_body, principal, unit_of_work
from tests.db import fetch

TENANT = "394017"
SEPARATOR = "\x1f"


async def _found(session, who, query: str) -> set[uuid.UUID]:
    return {r.case.id for r in (await search.search_cases(session, who, search.CaseQuery(q=query))).rows}


async def _keys_that_differ(url: str, tenant_id: str) -> list:
    """Households whose stored keys are not their members' keys (as sets), recomputed here from the tables."""
    conn = await connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
            rows = await conn.fetch(
                """
                SELECT h.id, coalesce(k.keys, '') AS stored,
                       coalesce((SELECT array_agg(x) FROM household_membership m
                                 JOIN person p ON p.tenant_id = m.tenant_id AND p.id = m.person_id,
                                 LATERAL unnest(ARRAY[p.name_key, p.kana_key]) AS x
                                 WHERE m.household_id = h.id), '{}') AS members
                FROM household h LEFT JOIN household_member_keys k ON k.tenant_id = h.tenant_id AND k.household_id = h.id
                """)
    finally:
        await conn.close()
    return [(r["id"], r["stored"], r["members"]) for r in rows
            if set(filter(None, r["stored"].split(SEPARATOR))) != set(filter(None, r["members"]))]


async def _two_households(session, who, name: str, kana: str):
    """Two new cases of ``who``: the usual 山田 household, and one whose only member is ``name`` (``kana``)."""
    usual = await service.create_intake(session, intake_body(), who)
    alone = await service.create_intake(session, intake_body(members=[
        {"name": name, "kana": kana, "birth_date": "1980-02-02", "sex": "female"}]), who)
    return usual, alone


def test_a_member_who_joins_moves_out_or_is_renamed_is_found_by_staff_at_once(database_urls):
    # A staff member (not a coordinator): their search is the one that reads the keys row case by case.
    who = principal(TENANT, ("staff",))
    ids: dict[str, uuid.UUID] = {}

    async def work(session):
        first, other = await _two_households(session, who, "沖野 大地", "おきの だいち")
        ids.update(first=first.id, other=other.id)
        assert await _found(session, who, "おきの") == {other.id}
        assert first.id not in await _found(session, who, "はまぐち")

        # 浜口 joins the first household: found by her name and kana, typed as staff type them
        joined = await service.add_member(session, first.household_id, {
            "name": "浜口 幸", "kana": "ハマグチ サチ", "relationship": "妹", "birth_date": "1975-05-05",
            "sex": "female"})
        ids["joined"] = joined.id
        assert first.id in await _found(session, who, "はまぐち")
        assert first.id in await _found(session, who, "ﾊﾏｸﾞﾁ")
        assert first.id in await _found(session, who, "浜口")

        # she moves to the other household: found there, and still in the first, where she was a member
        await service.move_person(session, joined.id, other.household_id, "同居人")
        assert {first.id, other.id} <= await _found(session, who, "はまぐち")

        # her name is corrected (濱口 さち): the new name finds both households, the old kanji no longer does
        person = await session.get(Person, (TENANT, joined.id))
        person.name, person.kana = "濱口 さち", "はまぐち さち"
        await session.flush()
        assert {first.id, other.id} <= await _found(session, who, "濱口")
        assert {first.id, other.id} <= await _found(session, who, "浜口")  # 濱 and 浜 share one key (異体字)
        assert not {first.id, other.id} & await _found(session, who, "幸")

    unit_of_work(database_urls, TENANT, work)

    async def later(session):  # committed, and read in a new transaction
        assert {ids["first"], ids["other"]} <= await _found(session, who, "はまぐち さち")
        assert ids["other"] in await _found(session, who, "オキノ")

    unit_of_work(database_urls, TENANT, later)
    assert asyncio.run(_keys_that_differ(database_urls.owner, TENANT)) == []


def test_two_members_added_to_one_household_at_the_same_moment_are_both_found(database_urls):
    who = principal(TENANT, ("staff",))
    made: dict[str, uuid.UUID] = {}

    async def work(session):
        case = await service.create_intake(session, intake_body(), who)
        made.update(case=case.id, household=case.household_id)

    unit_of_work(database_urls, TENANT, work)

    async def add(conn, name: str, kana: str):
        person = uuid.uuid4()
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", TENANT)
        await conn.execute(
            "INSERT INTO person (tenant_id, id, name, kana, name_key, kana_key) VALUES ($1, $2, $3, $4, $5, $6)",
            TENANT, person, name, kana, search_key(name), search_key(kana))
        await conn.execute(
            "INSERT INTO household_membership (tenant_id, id, household_id, person_id, relationship, valid_from) "
            "VALUES ($1, $2, $3, $4, '同居人', current_date)", TENANT, uuid.uuid4(), made["household"], person)

    async def race():
        one, two = await connect(database_urls.app), await connect(database_urls.app)
        try:
            first, second = one.transaction(), two.transaction()
            await first.start()
            await second.start()
            await add(one, "宮地 花", "みやじ はな")
            # the second waits for the first's lock on the household's keys row ...
            waiting = asyncio.ensure_future(add(two, "筒井 空", "つつい そら"))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            await first.commit()  # ... and, once it may go on, computes from what the first committed
            await waiting
            await second.commit()
        finally:
            await one.close()
            await two.close()

    asyncio.run(race())

    async def check(session):
        assert made["case"] in await _found(session, who, "みやじ")
        assert made["case"] in await _found(session, who, "つつい")

    unit_of_work(database_urls, TENANT, check)
    assert asyncio.run(_keys_that_differ(database_urls.owner, TENANT)) == []


def test_a_membership_row_moved_to_another_household_moves_the_name_with_it(database_urls):
    """What the service never does but a plugin or a correction by SQL may: a membership's household changed in
    place. The name leaves the old household's keys and joins the new one's; ending a membership (valid_to) keeps
    the past member findable where they were."""
    who = principal(TENANT, ("staff",))
    made: dict[str, uuid.UUID] = {}

    async def work(session):
        stays, leaves = await _two_households(session, who, "樫谷 円", "かしたに まどか")
        made.update(stays=stays.id, stays_household=stays.household_id, leaves=leaves.id,
                    person=leaves.person_id)
        await service.end_membership(session, leaves.person_id)
        assert await _found(session, who, "かしたに") == {leaves.id}  # a past member is found where she was

    unit_of_work(database_urls, TENANT, work)
    fetch(database_urls.app, "UPDATE household_membership SET household_id = $1 WHERE person_id = $2",
          made["stays_household"], made["person"], tenant=TENANT)

    async def check(session):
        assert await _found(session, who, "かしたに") == {made["stays"]}

    unit_of_work(database_urls, TENANT, check)
    assert asyncio.run(_keys_that_differ(database_urls.owner, TENANT)) == []
