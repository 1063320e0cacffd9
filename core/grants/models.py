"""Tables of the grant domain (交付金).

- ``grant_fiscal_year``: one row per tenant and fiscal year (年度, April–March): scheme, status, apportionment rule.
- Four ledgers, all append-only for the app role (INSERT and SELECT only, see migration 0008):
  ``grant_budget_line`` (予算), ``grant_expenditure`` (支出, with voucher metadata), ``grant_time_entry``
  (タイムスタディ: minutes per person, month, business and field) and ``grant_caseload_count`` (件数).
  A correction never overwrites: it adds a reversing row (negative quantity, ``reverses_id`` → the original) and,
  for 訂正, a new row (``corrects_id`` → the original). Sums over a ledger are therefore always the live figures.
- ``grant_cost_share_rate`` (global): who pays what part of each field (国・県・市町村・1号保険料), per year.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from core.database import Base, TenantOwned, Timestamps, new_id


class GrantFiscalYear(TenantOwned, Timestamps, Base):
    """交付金の年度: one municipality's fiscal year of the grant."""

    __tablename__ = "grant_fiscal_year"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)  # Western year the 年度 starts in (2025 = 令和7年度)
    scheme: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="open")
    apportionment_rule: Mapped[str] = mapped_column(String(60), default="time_study")
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("tenant_id", "fiscal_year"),
        CheckConstraint("fiscal_year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    @property
    def starts_on(self) -> dt.date:
        return dt.date(self.fiscal_year, 4, 1)

    @property
    def ends_on(self) -> dt.date:
        return dt.date(self.fiscal_year + 1, 3, 31)


class LedgerEntry(TenantOwned):
    """What every ledger row has: its year, who recorded it, and the reversal/correction links."""

    QUANTITY = "amount"  # the signed column a reversal negates (overridden per ledger)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    business: Mapped[str] = mapped_column(String(20))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # 取消: this row cancels that one
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # 訂正: this row replaces that one
    reason: Mapped[str | None] = mapped_column(String(500))  # why a reversal or correction was made
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC))

    @declared_attr.directive
    def __table_args__(cls):
        name = cls.__tablename__
        quantity = cls.QUANTITY
        return (
            ForeignKeyConstraint(
                ["tenant_id", "fiscal_year_id"], ["grant_fiscal_year.tenant_id", "grant_fiscal_year.id"],
                name=f"fk_{name}_year",
            ),
            ForeignKeyConstraint(["tenant_id", "reverses_id"], [f"{name}.tenant_id", f"{name}.id"], name=f"fk_{name}_reverses"),
            ForeignKeyConstraint(["tenant_id", "corrects_id"], [f"{name}.tenant_id", f"{name}.id"], name=f"fk_{name}_corrects"),
            # Only a reversal may be negative, and a reversal is never positive.
            CheckConstraint(
                f"(reverses_id IS NULL AND {quantity} >= 0) OR (reverses_id IS NOT NULL AND {quantity} <= 0)",
                name="sign",
            ),
            CheckConstraint("reverses_id IS NULL OR corrects_id IS NULL", name="one_link"),
            Index(f"ix_{name}_tenant_id_fiscal_year_id", "tenant_id", "fiscal_year_id"),
            # A row is reversed at most once, and replaced at most once.
            Index(f"uq_{name}_tenant_id_reverses_id", "tenant_id", "reverses_id", unique=True),
            Index(f"uq_{name}_tenant_id_corrects_id", "tenant_id", "corrects_id", unique=True),
            *getattr(cls, "EXTRA_ARGS", ()),
        )


class GrantBudgetLine(LedgerEntry, Base):
    """予算: a planned amount for one business (and a field, or none: shared, apportioned by the year's rule)."""

    __tablename__ = "grant_budget_line"

    field: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(100))  # 費目 (人件費, 委託料, …)
    amount: Mapped[int] = mapped_column(BigInteger)  # yen
    note: Mapped[str | None] = mapped_column(String(500))


class GrantExpenditure(LedgerEntry, Base):
    """支出: money spent, with its voucher (証憑)."""

    __tablename__ = "grant_expenditure"

    field: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)  # yen
    voucher_number: Mapped[str] = mapped_column(String(50))  # 伝票番号
    voucher_date: Mapped[dt.date] = mapped_column(Date)  # 支出日
    payee: Mapped[str] = mapped_column(String(200))  # 支払先
    description: Mapped[str] = mapped_column(String(500))  # 摘要


class GrantTimeEntry(LedgerEntry, Base):
    """タイムスタディ: minutes one person spent on one business for one field in one month."""

    __tablename__ = "grant_time_entry"
    QUANTITY = "minutes"

    staff_label: Mapped[str] = mapped_column(String(100))  # 従事者 (e.g. 包括化推進員A)
    period_month: Mapped[dt.date] = mapped_column(Date)  # first day of the month
    field: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)


class GrantCaseloadCount(LedgerEntry, Base):
    """件数: cases handled by one business for one field in one month (the caseload apportionment rule)."""

    __tablename__ = "grant_caseload_count"
    QUANTITY = "count"

    period_month: Mapped[dt.date] = mapped_column(Date)
    field: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))


LEDGERS: tuple[type[LedgerEntry], ...] = (GrantBudgetLine, GrantExpenditure, GrantTimeEntry, GrantCaseloadCount)


class GrantCostShareRate(Base):
    """負担割合 (global reference data): the parts of a field's cost paid by 国・県・市町村・1号保険料.

    Parts are integers over ``denominator`` (1/2 + 1/4 + 1/4 = 2 + 1 + 1 over 4; 38.5% = 3850 over 10000), so
    no rate is ever a float. The row in force for a fiscal year is the latest ``effective_from`` not after it.
    """

    __tablename__ = "grant_cost_share_rate"

    field: Mapped[str] = mapped_column(String(20), primary_key=True)
    effective_from: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    funding_stream: Mapped[str] = mapped_column(String(200))  # 財源 (地域支援事業交付金 …)
    state: Mapped[int] = mapped_column(Integer)
    prefecture: Mapped[int] = mapped_column(Integer)
    municipality: Mapped[int] = mapped_column(Integer)
    insurance: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(
            "state >= 0 AND prefecture >= 0 AND municipality >= 0 AND insurance >= 0 "
            "AND denominator > 0 AND state + prefecture + municipality + insurance = denominator",
            name="parts",
        ),
    )


class GrantCostShareReference(Base):
    """負担割合 per 事業 × 分野 (global reference data, migration 0018b), with the document it was read from.

    Like ``GrantCostShareRate`` but per 事業, and with the 第2号保険料 (支払基金交付金) that the 一般介護予防事業 part of
    地域づくり carries. The row in force for a 年度 is the latest ``effective_from`` not after it.
    """

    __tablename__ = "grant_cost_share_reference"

    business: Mapped[str] = mapped_column(String(20), primary_key=True)
    field: Mapped[str] = mapped_column(String(20), primary_key=True)
    effective_from: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    funding_stream: Mapped[str] = mapped_column(String(200))
    state: Mapped[int] = mapped_column(Integer)
    prefecture: Mapped[int] = mapped_column(Integer)
    municipality: Mapped[int] = mapped_column(Integer)
    insurance: Mapped[int] = mapped_column(Integer)
    insurance_2: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(500))


class ImplementationPlan(TenantOwned, Base):
    """重層的支援体制整備事業実施計画 (社会福祉法第106条の5), one version of one 年度 (migration 0018c).

    Versions are never edited: a save adds the next version. ``figures`` freezes the system's counts of the 年度
    at the save; ``sent_at`` marks the version sent to the prefecture (the latest sent one is what it reads).
    """

    __tablename__ = "implementation_plan"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(SmallInteger)
    sections: Mapped[dict] = mapped_column(JSONB, default=dict)
    figures: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("uq_implementation_plan_tenant_id_fiscal_year_version", "tenant_id", "fiscal_year", "version",
              unique=True),
    )
