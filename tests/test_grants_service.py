"""Grants (交付金): apportionment to the yen, closed years, and corrections as reversing entries."""

from __future__ import annotations

import random
from fractions import Fraction

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.grants import service
from core.grants.apportionment import split_yen
from core.grants.models import GrantExpenditure
from core.grants.schemas import ValidationFailed
from tests.cases_support import unit_of_work

NAKATOSA = "394017"


def in_tenant(urls, tenant: str, work, actor: str = "grants-test"):
    """Run ``work(session)`` in one transaction of ``tenant`` as the app role, like a request does."""
    return unit_of_work(urls, tenant, work, actor)


def new_year(urls, fiscal_year: int, tenant: str = NAKATOSA, rule: str = "time_study") -> str:
    async def work(s):
        return str((await service.create_year(s, {"fiscal_year": fiscal_year, "apportionment_rule": rule})).id)

    return in_tenant(urls, tenant, work)


def add(urls, ledger, year_id: str, tenant: str = NAKATOSA, **values):
    async def work(s):
        return str((await service.add_entry(s, ledger, year_id, values)).id)

    return in_tenant(urls, tenant, work)


def expenditure(amount, business="consultation", field=None, day="2030-05-10", **extra):
    return {"business": business, "field": field, "category": "人件費", "amount": amount, "voucher_number": "V-1",
            "voucher_date": day, "payee": "中土佐町社会福祉協議会", "description": "包括化推進員 人件費", **extra}


# -- largest remainder --------------------------------------------------------------------------------------------


def test_one_million_and_one_yen_over_three_equal_fields():
    parts = split_yen(1_000_001, [("elderly", 1), ("disability", 1), ("child", 1)])
    assert parts == {"elderly": 333_334, "disability": 333_334, "child": 333_333}
    assert sum(parts.values()) == 1_000_001


def test_ties_go_to_the_earlier_part_and_negative_totals_mirror():
    assert split_yen(2, [("a", 1), ("b", 1), ("c", 1)]) == {"a": 1, "b": 1, "c": 0}
    assert split_yen(-1_000_001, [("a", 1), ("b", 1), ("c", 1)]) == {"a": -333_334, "b": -333_334, "c": -333_333}
    assert split_yen(100, [("a", 0), ("b", 3)]) == {"a": 0, "b": 100}
    with pytest.raises(ValueError):
        split_yen(100, [("a", 0)])
    with pytest.raises(TypeError):
        split_yen(100.0, [("a", 1)])  # type: ignore[arg-type]


def test_parts_always_sum_to_the_total_and_stay_within_a_yen_of_the_exact_share():
    rng = random.Random(20250401)
    for _ in range(5000):
        total = rng.choice([rng.randrange(0, 100), rng.randrange(0, 10**7), rng.randrange(0, 10**12)])
        keys = [f"k{i}" for i in range(rng.randrange(1, 9))]
        weights = [(k, rng.choice([0, rng.randrange(1, 10), rng.randrange(1, 10**6)])) for k in keys]
        if not any(w for _, w in weights):
            weights[0] = (weights[0][0], 1)
        parts = split_yen(total, weights)
        assert sum(parts.values()) == total
        weight_sum = sum(w for _, w in weights)
        for key, weight in weights:
            exact = Fraction(total * weight, weight_sum)
            assert exact - 1 < parts[key] < exact + 1
            assert parts[key] >= 0
        assert split_yen(total, weights) == parts  # deterministic


# -- apportionment from time entries ------------------------------------------------------------------------------


def test_known_time_entries_split_the_shared_cost_to_the_yen(database_urls):
    year_id = new_year(database_urls, 2030)
    # Shared staff cost of the consultation business, plus one amount charged to 生活困窮 directly.
    add(database_urls, service.EXPENDITURE, year_id, **expenditure(1_000_000))
    add(database_urls, service.EXPENDITURE, year_id, **expenditure(50_000, field="poverty"))
    for staff, field, minutes in [("推進員A", "elderly", 120), ("推進員B", "elderly", 60),
                                  ("推進員A", "disability", 90), ("推進員C", "child", 30)]:
        add(database_urls, service.TIME, year_id, staff_label=staff, period_month="2030-04",
            business="consultation", field=field, minutes=minutes)

    async def work(s):
        year = await service.get_year(s, year_id)
        result = await service.compute_apportionment(s, year)
        return result, await service.compute_cost_shares(s, year, result)

    result, shares = in_tenant(database_urls, NAKATOSA, work)
    consultation = next(b for b in result.businesses if b.business == "consultation")
    by_field = {s.field: s for s in consultation.fields}
    assert consultation.weight_total == 300
    assert (by_field["elderly"].weight, by_field["elderly"].share, by_field["elderly"].apportioned_yen) == (180, "60.00%", 600_000)
    assert (by_field["disability"].weight, by_field["disability"].apportioned_yen) == (90, 300_000)
    assert (by_field["child"].weight, by_field["child"].apportioned_yen) == (30, 100_000)
    assert by_field["poverty"].apportioned_yen == 0 and by_field["poverty"].direct_yen == 50_000
    # The explanation names the entries behind each share.
    assert [d.weight for d in by_field["elderly"].drivers] == [120, 60]
    assert "推進員B" in by_field["elderly"].drivers[1].description
    assert result.total_yen == 1_050_000 == sum(result.by_field.values())
    # 高齢: 国 38.5%, 県 19.25%, 市町村 19.25%, 1号保険料 23% (data in grant_cost_share_rate).
    elderly = next(c for c in shares if c.field == "elderly")
    assert elderly.parts == {"state": 231_000, "prefecture": 115_500, "municipality": 115_500, "insurance": 138_000,
                            "insurance_2": 0}
    for share in shares:
        assert sum(share.parts.values()) == share.total_yen


def test_an_awkward_total_over_three_equal_fields_is_split_by_largest_remainder(database_urls):
    year_id = new_year(database_urls, 2031)
    add(database_urls, service.EXPENDITURE, year_id, **expenditure(1_000_001, day="2031-06-01"))
    for field in ("elderly", "disability", "child"):
        add(database_urls, service.TIME, year_id, staff_label="推進員A", period_month="2031-06",
            business="consultation", field=field, hours="2.5")

    async def work(s):
        return await service.compute_apportionment(s, await service.get_year(s, year_id))

    result = in_tenant(database_urls, NAKATOSA, work)
    consultation = next(b for b in result.businesses if b.business == "consultation")
    assert [(s.field, s.weight, s.apportioned_yen) for s in consultation.fields[:3]] == [
        ("elderly", 150, 333_334), ("disability", 150, 333_334), ("child", 150, 333_333)
    ]


def test_caseload_rule_and_unsplittable_shared_costs(database_urls):
    year_id = new_year(database_urls, 2032, rule="caseload")
    add(database_urls, service.EXPENDITURE, year_id, **expenditure(90_000, business="outreach", day="2032-07-01"))
    add(database_urls, service.EXPENDITURE, year_id, **expenditure(7_000, business="community", day="2032-07-01"))
    add(database_urls, service.CASELOAD, year_id, period_month="2032-07", business="outreach", field="child", count=2)
    add(database_urls, service.CASELOAD, year_id, period_month="2032-07", business="outreach", field="poverty", count=1)

    async def work(s):
        return await service.compute_apportionment(s, await service.get_year(s, year_id))

    result = in_tenant(database_urls, NAKATOSA, work)
    assert result.rule_key == "caseload" and result.unit == "件"
    assert result.by_field["child"] == 60_000 and result.by_field["poverty"] == 30_000
    community = next(b for b in result.businesses if b.business == "community")
    assert community.unapportioned_yen == 7_000  # no caseload recorded for 地域づくり: shown, not guessed
    assert result.total_yen == 97_000


# -- closed years -------------------------------------------------------------------------------------------------


def test_a_closed_year_refuses_every_change_with_a_clear_message(database_urls):
    year_id = new_year(database_urls, 2033)
    entry_id = add(database_urls, service.EXPENDITURE, year_id, **expenditure(10_000, day="2033-04-01"))

    async def close(s):
        await service.close_year(s, year_id)

    in_tenant(database_urls, NAKATOSA, close)

    for attempt in (
        lambda s: service.add_entry(s, service.EXPENDITURE, year_id, expenditure(1, day="2033-04-01")),
        lambda s: service.reverse_entry(s, service.EXPENDITURE, entry_id, {"reason": "誤り"}),
        lambda s: service.correct_entry(s, service.EXPENDITURE, entry_id, {**expenditure(2, day="2033-04-01"), "reason": "誤り"}),
        lambda s: service.update_year_settings(s, year_id, {"apportionment_rule": "caseload"}),
        lambda s: service.close_year(s, year_id),
    ):
        with pytest.raises(service.YearClosed) as refused:
            in_tenant(database_urls, NAKATOSA, attempt)
        assert "令和15年度（2033年度）は締め済みのため" in refused.value.message

    async def count(s):
        return await s.scalar(select(func.count()).select_from(GrantExpenditure).where(GrantExpenditure.fiscal_year_id == year_id))

    assert in_tenant(database_urls, NAKATOSA, count) == 1


def test_the_database_itself_refuses_rows_in_a_closed_year(database_urls):
    year_id = new_year(database_urls, 2034)

    async def close(s):
        await service.close_year(s, year_id)

    in_tenant(database_urls, NAKATOSA, close)

    async def sneak_in(s):
        s.add(GrantExpenditure(fiscal_year_id=year_id, recorded_by="x", **{
            **expenditure(5, day="2034-04-01"), "voucher_date": __import__("datetime").date(2034, 4, 1)}))
        await s.flush()

    with pytest.raises(DBAPIError, match="grant fiscal year is closed"):
        in_tenant(database_urls, NAKATOSA, sneak_in)


def test_reopening_needs_a_reason_and_lets_entries_in_again(database_urls):
    year_id = new_year(database_urls, 2035)

    async def close(s):
        await service.close_year(s, year_id)

    in_tenant(database_urls, NAKATOSA, close)
    with pytest.raises(ValidationFailed):
        in_tenant(database_urls, NAKATOSA, lambda s: service.reopen_year(s, year_id, {}))
    in_tenant(database_urls, NAKATOSA, lambda s: service.reopen_year(s, year_id, {"reason": "監査指摘の反映"}))
    assert add(database_urls, service.EXPENDITURE, year_id, **expenditure(1, day="2035-04-01"))


# -- corrections --------------------------------------------------------------------------------------------------


def test_a_correction_is_a_reversing_entry_plus_the_corrected_entry(database_urls):
    year_id = new_year(database_urls, 2036)
    original = add(database_urls, service.EXPENDITURE, year_id, **expenditure(10_000, day="2036-05-01"))

    async def correct(s):
        return await service.correct_entry(
            s, service.EXPENDITURE, original, {**expenditure(12_000, day="2036-05-01"), "reason": "請求書の金額を誤記"}
        )

    reversal, corrected = in_tenant(database_urls, NAKATOSA, correct)
    assert reversal.amount == -10_000 and str(reversal.reverses_id) == original
    assert corrected.amount == 12_000 and str(corrected.corrects_id) == original
    assert reversal.reason == corrected.reason == "請求書の金額を誤記"

    async def look(s):
        views = await service.list_entries(s, service.EXPENDITURE, year_id)
        total = await service.ledger_total(s, service.EXPENDITURE, await service.get_year(s, year_id))
        return [(v.row.amount, v.status, v.live) for v in views], total

    rows, total = in_tenant(database_urls, NAKATOSA, look)
    assert rows == [(10_000, "訂正済み", False), (-10_000, "取消行", False), (12_000, "訂正後", True)]
    assert total == 12_000

    # The original cannot be corrected twice, and a reversal cannot be reversed.
    with pytest.raises(service.AlreadyReversed):
        in_tenant(database_urls, NAKATOSA, correct)
    with pytest.raises(service.AlreadyReversed):
        in_tenant(database_urls, NAKATOSA,
                  lambda s: service.reverse_entry(s, service.EXPENDITURE, str(reversal.id), {"reason": "x"}))
    # The corrected row can itself be reversed (取消).
    in_tenant(database_urls, NAKATOSA,
              lambda s: service.reverse_entry(s, service.EXPENDITURE, str(corrected.id), {"reason": "支出取りやめ"}))
    assert in_tenant(database_urls, NAKATOSA, look)[1] == 0


def test_the_app_role_cannot_overwrite_or_delete_ledger_rows(database_urls):
    year_id = new_year(database_urls, 2037)
    add(database_urls, service.EXPENDITURE, year_id, **expenditure(10_000, day="2037-05-01"))
    for statement in ("UPDATE grant_expenditure SET amount = 1", "DELETE FROM grant_expenditure"):
        with pytest.raises(DBAPIError) as refused:
            in_tenant(database_urls, NAKATOSA, lambda s: s.execute(text(statement)))
        assert isinstance(refused.value.orig.__cause__, asyncpg.InsufficientPrivilegeError)


def test_time_entries_accept_hours_that_come_to_whole_minutes(database_urls):
    year_id = new_year(database_urls, 2038)
    with pytest.raises(ValidationFailed) as bad:
        add(database_urls, service.TIME, year_id, staff_label="A", period_month="2038-04",
            business="consultation", field="elderly", hours="0.01")
    assert bad.value.errors[0]["field"] == "hours"
    with pytest.raises(ValidationFailed) as outside:
        add(database_urls, service.TIME, year_id, staff_label="A", period_month="2039-04",
            business="consultation", field="elderly", minutes=30)
    assert "令和20年度（2038年度）の期間" in outside.value.errors[0]["message"]
