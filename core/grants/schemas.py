"""Input of the grant domain: parsing and checking what a JSON body or an HTML form sent, field by field.

Both doors (``api.py`` and ``ui/grants``) hand a plain mapping to the same ``parse_*`` function, so the words a
person sees for a mistake are the same in the API (problem+json ``errors: [{field, message}]``) and on the page.
Form values arrive as strings; JSON values arrive typed. Yen must be a whole number: JSON ``1.5`` or ``"1e3"`` is
refused rather than rounded. Full-width digits and thousands separators typed into a form are accepted (NFKC).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from core.field_input import FieldReader, InputInvalid, parse_json_object
from core.grants.reference import BUSINESS_LABELS, FIELD_LABELS, SCHEME_LABELS
from core.wareki import DATE_FORMS, fiscal_year_label, parse_date

MAX_YEN = 999_999_999_999  # under 1兆円: far above any municipal grant, far below BIGINT
MAX_MINUTES = 31 * 24 * 60  # one person cannot record more than a whole month in a month
MAX_COUNT = 1_000_000
_DIGITS = re.compile(r"[0-9]+")
_HOURS = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,2}))?")  # 15 digits as in _integer: int() reads no more than 4,300
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})(?:-01)?")


class ValidationFailed(InputInvalid):
    """Bad input to the grants domain (problem+json 422, or 400 when the body is unreadable)."""


def parse_json_body(raw: bytes) -> dict[str, Any]:
    return parse_json_object(raw, ValidationFailed)


def fiscal_year_span(fiscal_year: int) -> str:
    return f"{fiscal_year}年4月1日〜{fiscal_year + 1}年3月31日"


class Reader(FieldReader):
    """Reads one mapping of the grants domain; dates and months are checked against ``fiscal_year`` when given."""

    invalid = ValidationFailed

    def __init__(self, data: Mapping[str, Any], fiscal_year: int | None = None):
        super().__init__(data)
        self.fiscal_year = fiscal_year

    def text(self, name: str, label: str, max_length: int, *, required: bool = True, multiline: bool = False) -> str | None:
        return super().text(name, label, max_length, required=required, multiline=multiline)

    def _integer(self, name: str, label: str, unit_hint: str) -> int | None:
        value = self.raw(name)
        if value is None:
            self.fail(name, f"{label}を入力してください。")
            return None
        if isinstance(value, bool):
            self.fail(name, f"{label}は{unit_hint}で入力してください。")
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            normal = unicodedata.normalize("NFKC", value).replace(",", "").replace("円", "").replace("¥", "").strip()
            negative = normal.startswith(("-", "−", "▲", "△"))
            digits = normal.lstrip("-−▲△").strip()
            if _DIGITS.fullmatch(digits) and len(digits) <= 15:
                return -int(digits) if negative else int(digits)
        self.fail(name, f"{label}は{unit_hint}で入力してください。")
        return None

    def yen(self, name: str, label: str) -> int | None:
        value = self._integer(name, label, "0以上の整数（円単位、小数なし）")
        if value is None:
            return None
        if value < 0:
            self.fail(name, f"{label}にマイナスの金額は入力できません。取り消すときは「取消」、直すときは「訂正」を使ってください。")
            return None
        if value > MAX_YEN:
            self.fail(name, f"{label}が大きすぎます（1兆円未満で入力してください）。")
            return None
        return value

    def count(self, name: str, label: str, maximum: int, unit: str) -> int | None:
        value = self._integer(name, label, f"1以上の整数（{unit}）")
        if value is None:
            return None
        if value <= 0:
            self.fail(name, f"{label}は1{unit}以上で入力してください。")
            return None
        if value > maximum:
            self.fail(name, f"{label}は{maximum:,}{unit}以下で入力してください。")
            return None
        return value

    def minutes(self) -> int | None:
        """``minutes`` (integer), or ``hours`` (up to two decimals, must come to whole minutes)."""
        if self.raw("minutes") is None and self.raw("hours") is not None:
            value = self.raw("hours")
            hours: Fraction | None = None
            if isinstance(value, int) and not isinstance(value, bool):
                hours = Fraction(value)
            elif isinstance(value, str):
                m = _HOURS.fullmatch(unicodedata.normalize("NFKC", value))
                if m:
                    hours = Fraction(int(m.group(1))) + Fraction(int(m.group(2) or 0), 10 ** len(m.group(2) or ""))
            if hours is None or (hours * 60).denominator != 1:
                self.fail("hours", "時間は0.25時間（15分）単位などで、分にして整数になる値を入力してください。")
                return None
            minutes = int(hours * 60)
            if not 0 < minutes <= MAX_MINUTES:
                self.fail("hours", f"時間は1分以上、{MAX_MINUTES // 60:,}時間以下で入力してください。")
                return None
            return minutes
        return self.count("minutes", "従事時間（分）", MAX_MINUTES, "分")

    def choice(self, name: str, label: str, choices: Mapping[str, str], *, required: bool = True) -> str | None:
        value = self.raw(name)
        if value is None or value == "shared":
            if required:
                self.fail(name, f"{label}を選んでください。")
            return None
        if not isinstance(value, str) or value not in choices:
            allowed = "、".join(f"{code}（{text}）" for code, text in choices.items())
            self.fail(name, f"{label}の区分が正しくありません。次のいずれかを指定してください: {allowed}")
            return None
        return value

    def date_in_year(self, name: str, label: str) -> dt.date | None:
        value = self.raw(name)
        if value is None:
            self.fail(name, f"{label}を入力してください。")
            return None
        try:
            day = parse_date(value)
        except ValueError:
            self.fail(name, f"{label}は {DATE_FORMS} の形で入力してください。")
            return None
        return self._within(name, label, day)

    def month_in_year(self, name: str, label: str) -> dt.date | None:
        value = self.raw(name)
        if value is None:
            self.fail(name, f"{label}を入力してください。")
            return None
        m = _MONTH.fullmatch(value) if isinstance(value, str) else None
        if not m or not 1 <= int(m.group(2)) <= 12:
            self.fail(name, f"{label}は YYYY-MM の形式（例: 2025-04）で入力してください。")
            return None
        return self._within(name, label, dt.date(int(m.group(1)), int(m.group(2)), 1))

    def _within(self, name: str, label: str, day: dt.date) -> dt.date | None:
        fy = self.fiscal_year
        if fy is not None and not dt.date(fy, 4, 1) <= day <= dt.date(fy + 1, 3, 31):
            self.fail(name, f"{label}は{fiscal_year_label(fy)}の期間（{fiscal_year_span(fy)}）内にしてください。")
            return None
        return day


# -- what each form means ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewFiscalYear:
    fiscal_year: int
    scheme: str
    apportionment_rule: str


def parse_new_fiscal_year(data: Mapping[str, Any], rule_keys: Mapping[str, str]) -> NewFiscalYear:
    r = Reader(data)
    year = r._integer("fiscal_year", "年度（西暦）", "西暦の整数（例: 2025）")
    if year is not None and not 2000 <= year <= 2100:
        r.fail("fiscal_year", "年度は2000〜2100の西暦で入力してください。")
    scheme = r.choice("scheme", "交付の枠組み", SCHEME_LABELS) if r.raw("scheme") is not None else "integrated"
    rule = (
        r.choice("apportionment_rule", "按分方法", rule_keys)
        if r.raw("apportionment_rule") is not None
        else "time_study"
    )
    r.done()
    return NewFiscalYear(year, scheme, rule)  # type: ignore[arg-type]


def parse_year_settings(data: Mapping[str, Any], rule_keys: Mapping[str, str]) -> dict[str, str]:
    r = Reader(data)
    changes: dict[str, str] = {}
    if r.raw("scheme") is not None:
        changes["scheme"] = r.choice("scheme", "交付の枠組み", SCHEME_LABELS)  # type: ignore[assignment]
    if r.raw("apportionment_rule") is not None:
        changes["apportionment_rule"] = r.choice("apportionment_rule", "按分方法", rule_keys)  # type: ignore[assignment]
    if not changes and not r.errors:
        r.fail("apportionment_rule", "変更する項目（按分方法または交付の枠組み）を指定してください。")
    r.done()
    return changes


def parse_reason(data: Mapping[str, Any], label: str = "理由") -> str:
    r = Reader(data)
    reason = r.text("reason", label, 500, multiline=True)
    r.done()
    return reason  # type: ignore[return-value]


def _business_and_field(r: Reader, *, field_required: bool) -> tuple[str | None, str | None]:
    business = r.choice("business", "事業", BUSINESS_LABELS)
    field = r.choice("field", "分野", FIELD_LABELS, required=field_required)
    return business, field


def parse_budget_line(data: Mapping[str, Any], fiscal_year: int, *, with_reason: bool = False) -> dict[str, Any]:
    r = Reader(data, fiscal_year)
    business, field = _business_and_field(r, field_required=False)
    values = {
        "business": business,
        "field": field,
        "category": r.text("category", "費目", 100),
        "amount": r.yen("amount", "予算額"),
        "note": r.text("note", "備考", 500, required=False, multiline=True),
    }
    if with_reason:
        values["reason"] = r.text("reason", "訂正理由", 500, multiline=True)
    r.done()
    return values


def parse_expenditure(data: Mapping[str, Any], fiscal_year: int, *, with_reason: bool = False) -> dict[str, Any]:
    r = Reader(data, fiscal_year)
    business, field = _business_and_field(r, field_required=False)
    values = {
        "business": business,
        "field": field,
        "category": r.text("category", "費目", 100),
        "amount": r.yen("amount", "支出額"),
        "voucher_number": r.text("voucher_number", "伝票番号", 50),
        "voucher_date": r.date_in_year("voucher_date", "支出日"),
        "payee": r.text("payee", "支払先", 200),
        "description": r.text("description", "摘要", 500, multiline=True),
    }
    if with_reason:
        values["reason"] = r.text("reason", "訂正理由", 500, multiline=True)
    r.done()
    return values


def parse_time_entry(data: Mapping[str, Any], fiscal_year: int, *, with_reason: bool = False) -> dict[str, Any]:
    r = Reader(data, fiscal_year)
    business, field = _business_and_field(r, field_required=True)
    values = {
        "staff_label": r.text("staff_label", "従事者", 100),
        "period_month": r.month_in_year("period_month", "対象月"),
        "business": business,
        "field": field,
        "minutes": r.minutes(),
    }
    if with_reason:
        values["reason"] = r.text("reason", "訂正理由", 500, multiline=True)
    r.done()
    return values


def parse_caseload(data: Mapping[str, Any], fiscal_year: int, *, with_reason: bool = False) -> dict[str, Any]:
    r = Reader(data, fiscal_year)
    business, field = _business_and_field(r, field_required=True)
    values = {
        "period_month": r.month_in_year("period_month", "対象月"),
        "business": business,
        "field": field,
        "count": r.count("count", "件数", MAX_COUNT, "件"),
        "note": r.text("note", "備考", 500, required=False, multiline=True),
    }
    if with_reason:
        values["reason"] = r.text("reason", "訂正理由", 500, multiline=True)
    r.done()
    return values
