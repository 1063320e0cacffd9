"""Reference lists of the grant domain (交付金), as code enums: they are fixed by national rules, not per tenant.

The order of each enum is the order documents list them in, and it is also the tie-break order of every
largest-remainder split (see ``core.grants.apportionment.split_yen``).
"""

from __future__ import annotations

from enum import StrEnum

from core.businesses import Business  # noqa: F401  (the grant domain's 構成事業 are the five 事業)


class Scheme(StrEnum):
    """交付の枠組み."""

    INTEGRATED = "integrated"  # 重層的支援体制整備事業交付金 (社会福祉法 106-4)
    TRANSITION = "transition"  # 重層的支援体制整備事業への移行準備事業


SCHEME_LABELS: dict[str, str] = {
    Scheme.INTEGRATED: "重層的支援体制整備事業交付金",
    Scheme.TRANSITION: "移行準備事業",
}


BUSINESS_LABELS: dict[str, str] = {
    Business.CONSULTATION: "包括的相談支援",
    Business.PARTICIPATION: "参加支援",
    Business.COMMUNITY: "地域づくり",
    Business.OUTREACH: "アウトリーチ等を通じた継続的支援",
    Business.MULTI_AGENCY: "多機関協働（支援プラン作成を含む）",
}


class Field(StrEnum):
    """分野: the four funding streams the grant merges, plus the new functions it adds."""

    ELDERLY = "elderly"  # 高齢: 地域支援事業交付金
    DISABILITY = "disability"  # 障害: 地域生活支援事業費等補助金
    CHILD = "child"  # 子ども: 子ども・子育て支援交付金
    POVERTY = "poverty"  # 生活困窮: 自立相談支援事業費国庫負担金 ほか
    NEW_FUNCTIONS = "new_functions"  # 新たな機能: 多機関協働・アウトリーチ・参加支援


FIELD_LABELS: dict[str, str] = {
    Field.ELDERLY: "高齢",
    Field.DISABILITY: "障害",
    Field.CHILD: "子ども",
    Field.POVERTY: "生活困窮",
    Field.NEW_FUNCTIONS: "新たな機能",
}

SHARED_FIELD_LABEL = "共通（按分対象）"  # an amount entered without a field: split by the year's rule


class FiscalYearStatus(StrEnum):
    OPEN = "open"  # 受付中: entries may be added and corrected
    CLOSED = "closed"  # 締め済み: nothing may change


STATUS_LABELS: dict[str, str] = {FiscalYearStatus.OPEN: "受付中", FiscalYearStatus.CLOSED: "締め済み"}

# Who pays, in the order the cost-share columns are printed (負担区分).
PAYERS: tuple[str, ...] = ("state", "prefecture", "municipality", "insurance", "insurance_2")
PAYER_LABELS: dict[str, str] = {
    "state": "国",
    "prefecture": "県",
    "municipality": "市町村",
    "insurance": "1号保険料",
    "insurance_2": "2号保険料",  # 支払基金交付金: only the 一般介護予防事業 part of 地域づくり (高齢)
}


def business_label(code: str | None) -> str:
    return BUSINESS_LABELS.get(code or "", code or "")


def field_label(code: str | None) -> str:
    return FIELD_LABELS.get(code, code) if code else SHARED_FIELD_LABEL
