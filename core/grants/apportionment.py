"""Apportionment (按分): splitting shared grant costs over the fields, computed from records, never typed in.

How a year is apportioned
-------------------------
Every amount carries a business (構成事業). An amount that also names a field is charged to that field directly.
An amount without a field is *shared*: per business, the shared total is split over the fields in proportion to
the weights the year's **rule** reports for that business (minutes of time study, or caseload counts). Each share
keeps the list of entries that produced its weight, so a reader can follow every yen back to a time sheet.

Rules
-----
A rule is anything that satisfies :class:`ApportionmentRule`. Two are built in (``time_study``, ``caseload``);
Plugins add rules through the ``kyosei_apportionment_rules`` hook; :func:`plugin_rules` turns them into
:class:`PluginTimeStudyRule` (time-study minutes, the plugin's own split) and :func:`available_rules` joins them
after the built-in ones. The fiscal year stores the key of the rule it uses.

Rounding
--------
Money is integer yen. :func:`split_yen` uses the largest-remainder method: every part gets the floor of its exact
share, then the yen left over go one each to the parts with the largest remainders. Ties are broken by the order
the parts were given in (earlier wins), and callers always pass parts in the canonical order of the reference enums
(高齢, 障害, 子ども, 生活困窮, 新たな機能; 国, 県, 市町村, 1号保険料), so the same inputs always give the same split.
¥1,000,001 over three equal weights is 333,334 / 333,334 / 333,333. The parts always sum to the total exactly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field as dc_field
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.grants.reference import Business, Field, business_label, field_label


# -- integer splitting --------------------------------------------------------------------------------------------


def split_yen(total: int, weights: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Split ``total`` yen over ``weights`` (key, non-negative integer weight) by largest remainder.

    Returns every key (zero-weight keys get 0). Raises ``ValueError`` when all weights are zero or one is negative.
    A negative total is split as the mirror image of its absolute value, so a reversal splits exactly like the
    entry it cancels.
    """
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError("total must be an int (yen)")
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for _, w in weights):
        raise ValueError("weights must be non-negative integers")
    weight_sum = sum(w for _, w in weights)
    if weight_sum == 0:
        raise ValueError("cannot split over weights that are all zero")
    if total < 0:
        return {k: -v for k, v in split_yen(-total, weights).items()}
    parts: dict[str, int] = {}
    remainders: list[tuple[int, int, str]] = []
    for position, (key, weight) in enumerate(weights):
        quotient, remainder = divmod(total * weight, weight_sum)
        parts[key] = quotient
        remainders.append((-remainder, position, key))  # largest remainder first, then the earlier position
    left = total - sum(parts.values())
    for _, _, key in sorted(remainders)[:left]:
        parts[key] += 1
    return parts


def percent_text(part: int, whole: int) -> str:
    """``1, 3`` → ``33.33%``: a share for display, rounded half up to two decimals with integer arithmetic."""
    if whole == 0:
        return "—"
    hundredths = (part * 10000 * 2 + whole) // (2 * whole)
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


# -- rules --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Driver:
    """One record that weighs in on a business's split: e.g. 120 minutes of 推進員A for 高齢 in April."""

    business: str
    field: str
    weight: int
    entry_id: str
    description: str


@runtime_checkable
class ApportionmentRule(Protocol):
    """How a rule looks to the apportionment: a key, Japanese words, and the drivers of one fiscal year.

    ``drivers`` runs inside the request's transaction (tenant already bound, so it sees only that tenant's rows)
    and returns positive integer weights per (business, field); rows with a weight of zero or less are ignored.
    """

    key: str  # stored on grant_fiscal_year.apportionment_rule; lowercase, unique among rules
    label: str  # shown to people: タイムスタディ（従事時間）
    unit: str  # what a weight counts: 分, 件

    async def drivers(self, session: AsyncSession, fiscal_year) -> list[Driver]: ...


def _live(model):
    """Rows that count: not reversals and not reversed (their sum equals the sum of the whole ledger)."""
    reversed_ids = select(model.reverses_id).where(model.reverses_id.is_not(None))
    return select(model).where(model.reverses_id.is_(None), model.id.not_in(reversed_ids))


class TimeStudyRule:
    """タイムスタディ: weights are the minutes staff recorded per business and field."""

    key = "time_study"
    label = "タイムスタディ（従事時間）"
    unit = "分"

    async def drivers(self, session: AsyncSession, fiscal_year) -> list[Driver]:
        from core.grants.models import GrantTimeEntry as T

        rows = await session.scalars(
            _live(T).where(T.fiscal_year_id == fiscal_year.id).order_by(T.period_month, T.staff_label, T.created_at)
        )
        return [
            Driver(
                r.business, r.field, r.minutes, str(r.id),
                f"{r.staff_label} {r.period_month:%Y年%m月} {r.minutes:,}分",
            )
            for r in rows
        ]


class CaseloadRule:
    """件数按分: weights are the caseload counts recorded per business and field."""

    key = "caseload"
    label = "対応件数"
    unit = "件"

    async def drivers(self, session: AsyncSession, fiscal_year) -> list[Driver]:
        from core.grants.models import GrantCaseloadCount as C

        rows = await session.scalars(
            _live(C).where(C.fiscal_year_id == fiscal_year.id).order_by(C.period_month, C.created_at)
        )
        return [
            Driver(r.business, r.field, r.count, str(r.id), f"{r.period_month:%Y年%m月} {r.count:,}件"
                   + (f"（{r.note}）" if r.note else ""))
            for r in rows
        ]


class CaseRecordsRule:
    """相談ケース数按分: weights are the cases handled in the 年度, per 事業 involved and 分野, counted from the case
    records themselves (``core.grants.counts.caseload_from_cases``), so nobody types them in."""

    key = "case_records"
    label = "相談ケース数（ケース記録から集計）"
    unit = "件"

    async def drivers(self, session: AsyncSession, fiscal_year) -> list[Driver]:
        from core.grants.counts import caseload_from_cases

        counts = await caseload_from_cases(session, fiscal_year.fiscal_year)
        return [
            Driver(b.value, f.value, counts[(b.value, f.value)], f"cases:{b.value}:{f.value}",
                   f"{fiscal_year.fiscal_year}年度に対応したケース {counts[(b.value, f.value)]:,}件")
            for b in Business for f in Field if counts.get((b.value, f.value))
        ]


BUILT_IN_RULES: tuple[ApportionmentRule, ...] = (TimeStudyRule(), CaseloadRule(), CaseRecordsRule())


class PluginRuleFailed(Exception):
    """A plugin's split broke its contract (wrong sum, negative or unknown field); the caller reports it."""


class PluginTimeStudyRule:
    """A plugin's 按分ルール (``core.plugin_types.ApportionmentRule``) seen as a rule of this module.

    The plugin contract is ``apportion(minutes_by_field, total) -> yen_by_field``: the plugin decides how minutes
    become yen, Kyosei keeps deciding what the minutes are (the tenant's own time-study entries, so the
    explanation of each share still names the entries) and checks that the parts sum exactly to the pool.
    """

    unit = "分"

    def __init__(self, plugin: str, definition) -> None:
        self.plugin = plugin
        self.key = definition.code
        self.label = definition.label
        self._apportion = definition.apportion

    async def drivers(self, session: AsyncSession, fiscal_year) -> list[Driver]:
        return await TimeStudyRule().drivers(session, fiscal_year)

    def split(self, pool: int, weights: Sequence[tuple[str, int]]) -> dict[str, int]:
        minutes = {field: weight for field, weight in weights}
        result = dict(self._apportion(dict(minutes), pool))
        if set(result) - set(minutes):
            raise PluginRuleFailed(f"{self.plugin}: unknown fields {sorted(set(result) - set(minutes))}")
        if any(type(v) is not int or v < 0 for v in result.values()):
            raise PluginRuleFailed(f"{self.plugin}: shares must be non-negative integer yen")
        if sum(result.values()) != pool:
            raise PluginRuleFailed(f"{self.plugin}: shares sum to {sum(result.values())}, not {pool}")
        return {field: result.get(field, 0) for field in minutes}


def plugin_rules(contributions: Iterable[tuple[str, Iterable[object]]]) -> list[ApportionmentRule]:
    """Rules from the ``kyosei_apportionment_rules`` hook, as ``(plugin name, definitions)`` pairs.

    Definitions that are not ``core.plugin_types.ApportionmentRule`` are skipped (the host's result check has
    already recorded them as the plugin's error).
    """
    from core.plugin_types import ApportionmentRule as PluginDefinition

    return [
        PluginTimeStudyRule(plugin, definition)
        for plugin, definitions in contributions
        for definition in definitions or ()
        if isinstance(definition, PluginDefinition)
    ]


def available_rules(extra: Iterable[ApportionmentRule] = ()) -> dict[str, ApportionmentRule]:
    """Every rule a tenant may choose, built-in first, keyed by ``rule.key``.

    ``extra`` are the rules of the tenant's enabled plugins; one whose key repeats an earlier key is ignored, so a
    plugin cannot replace the national time-study rule.
    """
    rules: dict[str, ApportionmentRule] = {r.key: r for r in BUILT_IN_RULES}
    for rule in extra:
        if isinstance(rule, ApportionmentRule) and rule.key not in rules:
            rules[rule.key] = rule
    return rules


# -- the computation ----------------------------------------------------------------------------------------------


@dataclass
class FieldShare:
    """One field's part of one business: what was charged directly, what the split gave it, and why."""

    field: str
    weight: int = 0
    share: str = "—"
    direct_yen: int = 0
    apportioned_yen: int = 0
    drivers: list[Driver] = dc_field(default_factory=list)

    @property
    def total_yen(self) -> int:
        return self.direct_yen + self.apportioned_yen

    @property
    def label(self) -> str:
        return field_label(self.field)


@dataclass
class BusinessApportionment:
    business: str
    shared_yen: int  # amounts without a field: what the rule splits
    weight_total: int
    fields: list[FieldShare]
    unapportioned_yen: int  # shared yen that no record could split (no drivers for this business)

    @property
    def label(self) -> str:
        return business_label(self.business)

    @property
    def total_yen(self) -> int:
        return sum(f.total_yen for f in self.fields) + self.unapportioned_yen


@dataclass
class Apportionment:
    rule_key: str
    rule_label: str
    unit: str
    businesses: list[BusinessApportionment]

    @property
    def by_field(self) -> dict[str, int]:
        totals = {f.value: 0 for f in Field}
        for b in self.businesses:
            for share in b.fields:
                totals[share.field] += share.total_yen
        return totals

    @property
    def unapportioned_yen(self) -> int:
        return sum(b.unapportioned_yen for b in self.businesses)

    @property
    def total_yen(self) -> int:
        return sum(b.total_yen for b in self.businesses)


def apportion(
    amounts: Iterable[tuple[str, str | None, int]], drivers: Iterable[Driver], rule: ApportionmentRule
) -> Apportionment:
    """Apportion ``(business, field or None, yen)`` amounts with the rule's drivers (pure: no database)."""
    direct: dict[tuple[str, str], int] = defaultdict(int)
    shared: dict[str, int] = defaultdict(int)
    for business, field, yen in amounts:
        if field is None:
            shared[business] += yen
        else:
            direct[(business, field)] += yen
    weights: dict[tuple[str, str], int] = defaultdict(int)
    by_share: dict[tuple[str, str], list[Driver]] = defaultdict(list)
    for d in drivers:
        if d.weight > 0 and d.business in Business._value2member_map_ and d.field in Field._value2member_map_:
            weights[(d.business, d.field)] += d.weight
            by_share[(d.business, d.field)].append(d)

    businesses = []
    for business in Business:
        b = business.value
        weight_list = [(f.value, weights.get((b, f.value), 0)) for f in Field]
        weight_total = sum(w for _, w in weight_list)
        pool = shared.get(b, 0)
        # built-in rules split by largest remainder; a plugin's rule brings its own split (checked for the sum)
        split_rule = getattr(rule, "split", split_yen)
        split = split_rule(pool, weight_list) if pool and weight_total else {}
        shares = [
            FieldShare(
                field=f,
                weight=w,
                share=percent_text(w, weight_total) if weight_total else "—",
                direct_yen=direct.get((b, f), 0),
                apportioned_yen=split.get(f, 0),
                drivers=by_share.get((b, f), []),
            )
            for f, w in weight_list
        ]
        businesses.append(
            BusinessApportionment(
                business=b,
                shared_yen=pool,
                weight_total=weight_total,
                fields=shares,
                unapportioned_yen=pool if pool and not weight_total else 0,
            )
        )
    return Apportionment(rule.key, rule.label, rule.unit, businesses)


@dataclass(frozen=True)
class CostShare:
    """負担区分 of one field's total: yen per payer (国・県・市町村・1号保険料), summing to the total."""

    field: str
    total_yen: int
    funding_stream: str
    parts: dict[str, int]

    @property
    def label(self) -> str:
        return field_label(self.field)


def cost_shares(by_field: dict[str, int], rates: dict[str, object]) -> list[CostShare]:
    """Split each field's total over the payers by the rate in force (parts as weights, largest remainder)."""
    from core.grants.reference import PAYERS

    result = []
    for f in Field:
        rate = rates.get(f.value)
        total = by_field.get(f.value, 0)
        if rate is None:
            result.append(CostShare(f.value, total, "（負担割合未登録）", {p: 0 for p in PAYERS}))
            continue
        # the per-field table (0008) has no 2号保険料 column: that payer's part is 0 there
        parts = split_yen(total, [(p, getattr(rate, p, 0)) for p in PAYERS]) if total else {p: 0 for p in PAYERS}
        result.append(CostShare(f.value, total, rate.funding_stream, parts))
    return result


@dataclass(frozen=True)
class BusinessCostShare:
    """負担区分 of one 事業 × 分野 total, by that pair's rate (``grant_cost_share_reference``)."""

    business: str
    field: str
    total_yen: int
    funding_stream: str
    rate: tuple[int, ...]  # parts in PAYERS order, then the denominator: what the split used
    source: str
    parts: dict[str, int]

    @property
    def label(self) -> str:
        return f"{business_label(self.business)}・{field_label(self.field)}"

    @property
    def rate_text(self) -> str:
        """The rate as the 要綱 writes it: ``国1/2・県1/4・市町村1/4``, or percentages for parts of 100/1000/10000
        (``国38.5%・県19.25%…``); payers with no part are left out."""
        from decimal import Decimal
        from fractions import Fraction

        from core.grants.reference import PAYER_LABELS, PAYERS

        if not self.rate:
            return "—"
        *parts, denominator = self.rate
        words = []
        for payer, part in zip(PAYERS, parts):
            if not part:
                continue
            if denominator in (100, 1000, 10000):  # exact decimal: no float ever touches a rate
                value = format((Decimal(part) * 100 / Decimal(denominator)).normalize(), "f") + "%"
            else:
                value = str(Fraction(part, denominator))
            words.append(f"{PAYER_LABELS[payer]}{value}")
        return "・".join(words)


def business_cost_shares(result: Apportionment, references: dict[tuple[str, str], object]) -> list[BusinessCostShare]:
    """Split each 事業 × 分野 total of an apportionment by that pair's rate (largest remainder, canonical payer
    order); pairs with no yen are left out, a pair without a rate gets no parts and says so."""
    from core.grants.reference import PAYERS

    rows = []
    for b in result.businesses:
        for share in b.fields:
            total = share.total_yen
            if not total:
                continue
            ref = references.get((b.business, share.field))
            if ref is None:
                rows.append(BusinessCostShare(b.business, share.field, total, "（負担割合未登録）", (), "",
                                              {p: 0 for p in PAYERS}))
                continue
            weights = [(p, getattr(ref, p)) for p in PAYERS]
            rows.append(BusinessCostShare(b.business, share.field, total, ref.funding_stream,
                                          (*(w for _, w in weights), ref.denominator), ref.source,
                                          split_yen(total, weights)))
    return rows


def field_totals_of(rows: list[BusinessCostShare]) -> list[CostShare]:
    """The per-field 負担区分 as the sum of its 事業 rows (so field and 事業 tables always agree to the yen)."""
    from core.grants.reference import PAYERS

    result = []
    for f in Field:
        mine = [r for r in rows if r.field == f.value]
        streams = list(dict.fromkeys(r.funding_stream for r in mine))
        parts = {p: sum(r.parts[p] for r in mine) for p in PAYERS}
        result.append(CostShare(f.value, sum(r.total_yen for r in mine), "／".join(streams) or "—", parts))
    return result


def month_label(day: dt.date) -> str:
    return f"{day.year}年{day.month}月"
