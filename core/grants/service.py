"""Rules of the grant domain (交付金): fiscal years, the four ledgers, corrections, apportionment and aggregates.

Every function runs inside the caller's transaction (one per request) with the tenant already bound, so
row-level security limits every query to the caller's municipality. Writes:

- check the input first (``core.grants.schemas``), then lock the fiscal-year row (``FOR UPDATE``) so closing a year
  and writing to it never interleave, then refuse if the year is closed (``YearClosed``, 409);
- never update or delete a ledger row (the app role may not): a 取消 adds a reversing row with the negated
  quantity that points at the original (``reverses_id``); a 訂正 adds that reversal *and* a new row that points at
  the original (``corrects_id``);
- record every change in the audit trail in the same transaction.

Who may do what is decided by the callers (see ``core.grants.api``): reading by every tenant role, ledger entries
by coordinators and tenant admins, year settings (create, close, reopen, rule) by tenant admins only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit.trail import AuditAction, current_actor, record
from core.database import utc_now
from core.grants import schemas
from core.plugins.unit_of_work import ask_plugins
from core.grants.apportionment import (
    BUILT_IN_RULES,
    Apportionment,
    ApportionmentRule,
    BusinessCostShare,
    CostShare,
    apportion,
    available_rules,
    business_cost_shares,
    cost_shares,
    field_totals_of,
    plugin_rules,
)
from core.grants.models import (
    GrantBudgetLine,
    GrantCaseloadCount,
    GrantCostShareRate,
    GrantCostShareReference,
    GrantExpenditure,
    GrantFiscalYear,
    GrantTimeEntry,
    LedgerEntry,
)
from core.grants.reference import FiscalYearStatus
from core.wareki import fiscal_year_label


log = structlog.get_logger("kyosei.grants")
BUILT_IN_KEYS = frozenset(r.key for r in BUILT_IN_RULES)


class GrantError(Exception):
    """A refusal with Japanese words for the person: answered as problem+json or a flash, never as a 500."""

    status = 400
    title = "リクエストが正しくありません"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(GrantError):
    status = 404
    title = "見つかりません"


class YearClosed(GrantError):
    status = 409
    title = "締め済みの年度は変更できません"


class AlreadyReversed(GrantError):
    status = 409
    title = "この記録は変更できません"


class DuplicateYear(GrantError):
    status = 409
    title = "その年度はすでに登録されています"


class RuleUnavailable(GrantError):
    """The year's rule belongs to a plugin that is disabled or failed: the year's setting conflicts with what the
    tenant has now, so 409 (choosing another rule or fixing the plugin resolves it), not a 400 for a fine request."""

    status = 409
    title = "按分方法を利用できません"


# -- the ledgers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """One kind of ledger row and how to read it from input."""

    key: str  # URL segment and audit object type suffix
    model: type[LedgerEntry]
    quantity: str  # the signed column a reversal negates
    label: str  # 予算, 支出, …
    parse: Callable[..., dict[str, Any]]

    @property
    def object_type(self) -> str:
        return f"grant_{self.key}"


BUDGET = Ledger("budget_line", GrantBudgetLine, "amount", "予算", schemas.parse_budget_line)
EXPENDITURE = Ledger("expenditure", GrantExpenditure, "amount", "支出", schemas.parse_expenditure)
TIME = Ledger("time_entry", GrantTimeEntry, "minutes", "タイムスタディ", schemas.parse_time_entry)
CASELOAD = Ledger("caseload", GrantCaseloadCount, "count", "対応件数", schemas.parse_caseload)
LEDGERS: dict[str, Ledger] = {l.key: l for l in (BUDGET, EXPENDITURE, TIME, CASELOAD)}


def _uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _closed_message(year: GrantFiscalYear) -> str:
    return (
        f"{fiscal_year_label(year.fiscal_year)}は締め済みのため、登録・訂正・取消はできません。"
        "変更が必要な場合は団体管理者に年度の再開を依頼してください。"
    )


# -- fiscal years -----------------------------------------------------------------------------------------------


async def list_years(session: AsyncSession) -> list[GrantFiscalYear]:
    return list(await session.scalars(select(GrantFiscalYear).order_by(GrantFiscalYear.fiscal_year.desc())))


async def get_year(session: AsyncSession, year_id: object, *, lock: bool = False) -> GrantFiscalYear:
    ident = _uuid(year_id)
    query = select(GrantFiscalYear).where(GrantFiscalYear.id == ident)
    if lock:  # and read the locked row as it is now, not as this session last saw it
        query = query.with_for_update().execution_options(populate_existing=True)
    year = (await session.scalars(query)).one_or_none() if ident else None
    if year is None:
        raise NotFound("指定された年度は見つかりません。")
    return year


async def _open_year(session: AsyncSession, year_id: object) -> GrantFiscalYear:
    year = await get_year(session, year_id, lock=True)
    if year.is_closed:
        raise YearClosed(_closed_message(year))
    return year


async def rules_for_tenant(session: AsyncSession) -> dict[str, ApportionmentRule]:
    """Built-in rules plus those of the bound tenant's enabled plugins, asked once per unit of work.

    A session without a plugin host (a CLI or a test building its own) gets the built-in rules only.
    """
    return available_rules(plugin_rules(await ask_plugins(session, "kyosei_apportionment_rules")))


async def rule_labels(session: AsyncSession) -> dict[str, str]:
    return {key: rule.label for key, rule in (await rules_for_tenant(session)).items()}


async def create_year(session: AsyncSession, data: Mapping[str, Any]) -> GrantFiscalYear:
    new = schemas.parse_new_fiscal_year(data, await rule_labels(session))
    exists = await session.scalar(select(GrantFiscalYear.id).where(GrantFiscalYear.fiscal_year == new.fiscal_year))
    if exists is not None:
        raise DuplicateYear(
            f"{fiscal_year_label(new.fiscal_year)}はすでに登録されています。",
            [{"field": "fiscal_year", "message": f"{fiscal_year_label(new.fiscal_year)}はすでに登録されています。"}],
        )
    year = GrantFiscalYear(
        fiscal_year=new.fiscal_year, scheme=new.scheme, apportionment_rule=new.apportionment_rule, status="open"
    )
    session.add(year)
    await session.flush()
    await record(session, AuditAction.CREATE, "grant_fiscal_year", year.id)
    return year


async def update_year_settings(session: AsyncSession, year_id: object, data: Mapping[str, Any]) -> GrantFiscalYear:
    await get_year(session, year_id)  # 404 before 422 for someone else's year
    changes = schemas.parse_year_settings(data, await rule_labels(session))
    year = await _open_year(session, year_id)
    for name, value in changes.items():
        setattr(year, name, value)
    await session.flush()
    await record(session, AuditAction.UPDATE, "grant_fiscal_year", year.id,
                 reason="設定変更: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
    return year


async def close_year(session: AsyncSession, year_id: object) -> GrantFiscalYear:
    year = await _open_year(session, year_id)
    year.status = FiscalYearStatus.CLOSED.value
    year.closed_at = utc_now()
    year.closed_by = current_actor()
    await session.flush()
    await record(session, AuditAction.UPDATE, "grant_fiscal_year", year.id, reason="年度締め")
    return year


async def reopen_year(session: AsyncSession, year_id: object, data: Mapping[str, Any]) -> GrantFiscalYear:
    year = await get_year(session, year_id, lock=True)
    reason = schemas.parse_reason(data, "再開の理由")
    if not year.is_closed:
        raise GrantError(f"{fiscal_year_label(year.fiscal_year)}は締められていません。")
    year.status = FiscalYearStatus.OPEN.value
    year.closed_at = None
    year.closed_by = None
    await session.flush()
    await record(session, AuditAction.UPDATE, "grant_fiscal_year", year.id, reason=f"年度再開: {reason}")
    return year


# -- ledger entries ---------------------------------------------------------------------------------------------


async def add_entry(session: AsyncSession, ledger: Ledger, year_id: object, data: Mapping[str, Any]) -> LedgerEntry:
    year = await get_year(session, year_id)
    values = ledger.parse(data, year.fiscal_year)
    year = await _open_year(session, year_id)
    entry = ledger.model(fiscal_year_id=year.id, recorded_by=current_actor(), **values)
    session.add(entry)
    await _flush(session, year)
    await record(session, AuditAction.CREATE, ledger.object_type, entry.id)
    return entry


async def get_entry(session: AsyncSession, ledger: Ledger, entry_id: object) -> LedgerEntry:
    ident = _uuid(entry_id)
    entry = (await session.scalars(select(ledger.model).where(ledger.model.id == ident))).one_or_none() if ident else None
    if entry is None:
        raise NotFound(f"指定された{ledger.label}の記録は見つかりません。")
    return entry


async def _reversible(session: AsyncSession, ledger: Ledger, entry_id: object) -> tuple[GrantFiscalYear, LedgerEntry]:
    entry = await get_entry(session, ledger, entry_id)
    year = await _open_year(session, entry.fiscal_year_id)
    if entry.reverses_id is not None:
        raise AlreadyReversed("取消の記録は取り消せません。元の記録を確認してください。")
    model = ledger.model
    if await session.scalar(select(model.id).where(model.reverses_id == entry.id)) is not None:
        raise AlreadyReversed("この記録はすでに取消または訂正されています。最新の記録を操作してください。")
    return year, entry


def _reversal_of(ledger: Ledger, entry: LedgerEntry, reason: str) -> LedgerEntry:
    columns = {c.key: getattr(entry, c.key) for c in ledger.model.__table__.columns}
    for name in ("id", "created_at", "corrects_id", "reverses_id", "reason", "recorded_by"):
        columns.pop(name, None)
    columns[ledger.quantity] = -getattr(entry, ledger.quantity)
    return ledger.model(**columns, reverses_id=entry.id, reason=reason, recorded_by=current_actor())


async def reverse_entry(session: AsyncSession, ledger: Ledger, entry_id: object, data: Mapping[str, Any]) -> LedgerEntry:
    """取消: one reversing row cancels the entry; the entry itself stays as it was."""
    await get_entry(session, ledger, entry_id)
    reason = schemas.parse_reason(data, "取消の理由")
    year, entry = await _reversible(session, ledger, entry_id)
    reversal = _reversal_of(ledger, entry, reason)
    session.add(reversal)
    await _flush(session, year)
    await record(session, AuditAction.CREATE, ledger.object_type, reversal.id, reason=f"取消 {entry.id}: {reason}")
    return reversal


async def correct_entry(
    session: AsyncSession, ledger: Ledger, entry_id: object, data: Mapping[str, Any]
) -> tuple[LedgerEntry, LedgerEntry]:
    """訂正: a reversing row for the entry plus the corrected row, both pointing at the entry."""
    original = await get_entry(session, ledger, entry_id)
    year = await get_year(session, original.fiscal_year_id)
    values = ledger.parse(data, year.fiscal_year, with_reason=True)
    reason = values.pop("reason")
    year, entry = await _reversible(session, ledger, entry_id)
    reversal = _reversal_of(ledger, entry, reason)
    session.add(reversal)
    await _flush(session, year)
    corrected = ledger.model(
        fiscal_year_id=year.id, corrects_id=entry.id, reason=reason, recorded_by=current_actor(), **values
    )
    session.add(corrected)
    await _flush(session, year)
    await record(session, AuditAction.CREATE, ledger.object_type, reversal.id, reason=f"訂正（取消） {entry.id}: {reason}")
    await record(session, AuditAction.CREATE, ledger.object_type, corrected.id, reason=f"訂正 {entry.id}: {reason}")
    return reversal, corrected


async def _flush(session: AsyncSession, year: GrantFiscalYear) -> None:
    try:
        await session.flush()
    except DBAPIError as exc:  # the closed-year trigger: a second wall behind the check above
        if "grant fiscal year is closed" in str(exc.orig):
            raise YearClosed(_closed_message(year)) from None
        raise


@dataclass(frozen=True)
class EntryView:
    """A ledger row as lists show it: with whether it still counts and how it relates to others."""

    row: LedgerEntry
    reversed_by: uuid.UUID | None  # the reversing row, if this one was cancelled
    corrected_by: uuid.UUID | None  # the replacement, if this one was corrected

    @property
    def live(self) -> bool:
        return self.reversed_by is None and self.row.reverses_id is None

    @property
    def status(self) -> str:
        if self.row.reverses_id is not None:
            return "取消行"
        if self.corrected_by is not None:
            return "訂正済み"
        if self.reversed_by is not None:
            return "取消済み"
        return "訂正後" if self.row.corrects_id is not None else "有効"


async def list_entries(session: AsyncSession, ledger: Ledger, year_id: object) -> list[EntryView]:
    year = await get_year(session, year_id)
    model = ledger.model
    rows = list(
        await session.scalars(select(model).where(model.fiscal_year_id == year.id).order_by(model.created_at, model.id))
    )
    reversed_by = {r.reverses_id: r.id for r in rows if r.reverses_id is not None}
    corrected_by = {r.corrects_id: r.id for r in rows if r.corrects_id is not None}
    return [EntryView(r, reversed_by.get(r.id), corrected_by.get(r.id)) for r in rows]


async def ledger_total(session: AsyncSession, ledger: Ledger, year: GrantFiscalYear) -> int:
    """The sum of a ledger for a year: reversals are negative, so this is the live total."""
    column = getattr(ledger.model, ledger.quantity)
    return int(await session.scalar(select(func.coalesce(func.sum(column), 0)).where(ledger.model.fiscal_year_id == year.id)))


# -- apportionment and cost shares ------------------------------------------------------------------------------


async def rule_of(session: AsyncSession, year: GrantFiscalYear) -> ApportionmentRule:
    rules = await rules_for_tenant(session)
    rule = rules.get(year.apportionment_rule)
    if rule is None:
        raise RuleUnavailable(f"按分方法「{year.apportionment_rule}」は現在利用できません（プラグインが無効の可能性があります）。")
    return rule


async def _amounts(session: AsyncSession, ledger: Ledger, year: GrantFiscalYear) -> list[tuple[str, str | None, int]]:
    model = ledger.model
    rows = await session.execute(
        select(model.business, model.field, func.sum(model.amount))
        .where(model.fiscal_year_id == year.id)
        .group_by(model.business, model.field)
    )
    return [(b, f, int(total)) for b, f, total in rows]


async def compute_apportionment(session: AsyncSession, year: GrantFiscalYear, source: str = "expenditure") -> Apportionment:
    """按分結果 of a year's expenditures (実績) or budget (予算), from the year's rule; nothing is stored."""
    ledger = EXPENDITURE if source == "expenditure" else BUDGET
    rule = await rule_of(session, year)
    amounts = await _amounts(session, ledger, year)
    if rule.key in BUILT_IN_KEYS:
        return apportion(amounts, await rule.drivers(session, year), rule)
    # a plugin's rule: its failure is contained (savepoint) and reported, never a 500 for the tenant
    try:
        async with session.begin_nested():
            drivers = list(await rule.drivers(session, year))
        return apportion(amounts, drivers, rule)
    except Exception:
        log.exception("apportionment rule failed", rule=rule.key)
        raise RuleUnavailable(f"按分方法「{rule.label}」の計算に失敗しました。団体管理者にお問い合わせください。") from None


async def cost_share_rates(session: AsyncSession, fiscal_year: int) -> dict[str, GrantCostShareRate]:
    """The rate in force per field: the latest ``effective_from`` not after the year."""
    rows = await session.scalars(
        select(GrantCostShareRate)
        .where(GrantCostShareRate.effective_from <= fiscal_year)
        .order_by(GrantCostShareRate.field, GrantCostShareRate.effective_from.desc())
    )
    rates: dict[str, GrantCostShareRate] = {}
    for rate in rows:
        rates.setdefault(rate.field, rate)
    return rates


async def cost_share_references(session: AsyncSession, fiscal_year: int) -> dict[tuple[str, str], GrantCostShareReference]:
    """The 事業 × 分野 rate in force per pair: the latest ``effective_from`` not after the year."""
    rows = await session.scalars(
        select(GrantCostShareReference)
        .where(GrantCostShareReference.effective_from <= fiscal_year)
        .order_by(GrantCostShareReference.business, GrantCostShareReference.field,
                  GrantCostShareReference.effective_from.desc())
    )
    references: dict[tuple[str, str], GrantCostShareReference] = {}
    for ref in rows:
        references.setdefault((ref.business, ref.field), ref)
    return references


async def compute_business_cost_shares(session: AsyncSession, year: GrantFiscalYear,
                                       result: Apportionment) -> list[BusinessCostShare]:
    return business_cost_shares(result, await cost_share_references(session, year.fiscal_year))


async def compute_cost_shares(session: AsyncSession, year: GrantFiscalYear, result: Apportionment) -> list[CostShare]:
    """負担区分 per field: the sum of the 事業 × 分野 splits when the reference table covers the year, else the
    older per-field rates."""
    references = await cost_share_references(session, year.fiscal_year)
    if references:
        return field_totals_of(business_cost_shares(result, references))
    return cost_shares(result.by_field, await cost_share_rates(session, year.fiscal_year))


# -- the prefecture's aggregate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendingSum:
    tenant_id: str
    business: str
    field: str | None  # None: shared cost, apportioned inside the municipality
    amount: int


async def prefecture_spending(session: AsyncSession, fiscal_year: int) -> list[SpendingSum]:
    """Spending sums of every municipality for a year, through ``grant_spending_by_municipality`` (migration
    0008). The function answers only when the transaction's tenant is the prefecture; anyone else gets no rows."""
    rows = await session.execute(
        text("SELECT tenant_id, business, field, amount FROM grant_spending_by_municipality(:fy)"), {"fy": fiscal_year}
    )
    return [SpendingSum(t, b, f, int(a)) for t, b, f, a in rows]
