"""タイムスタディ from a spreadsheet: a CSV of minutes per staff member, month, 事業 and 分野, imported as ledger
entries (all rows or none), and the sums per staff member and month that a 交付申請 attaches.

The CSV is what staff already keep in Excel: a header row, then one row per staff member, month, 事業 and 分野.
Headers (Japanese or the API's names): 従事者 (staff_label), 対象月 (period_month, ``2026-04``), 事業 (business:
code or name, e.g. 参加支援事業), 分野 (field: code or name, e.g. 高齢), and 分 (minutes) or 時間 (hours). UTF-8 with
or without BOM, or Shift_JIS (what Excel on a Japanese desktop writes by default).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.businesses import BUSINESS_NAMES
from core.grants import service
from core.grants.models import GrantFiscalYear, GrantTimeEntry
from core.grants.reference import BUSINESS_LABELS, FIELD_LABELS
from core.grants.schemas import ValidationFailed

MAX_ROWS = 5000
HEADERS = {
    "従事者": "staff_label", "staff_label": "staff_label",
    "対象月": "period_month", "月": "period_month", "period_month": "period_month",
    "事業": "business", "business": "business",
    "分野": "field", "field": "field",
    "分": "minutes", "従事時間（分）": "minutes", "minutes": "minutes",
    "時間": "hours", "hours": "hours",
}
# Names people write → codes (both the Act's 事業 names and the grant pages' short labels).
_CODES = {**{v: k for k, v in BUSINESS_NAMES.items()}, **{v: k for k, v in BUSINESS_LABELS.items()}}
_FIELD_CODES = {v: k for k, v in FIELD_LABELS.items()}


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed([{"field": "file", "message": "CSVの文字コードを読めません（UTF-8かShift_JISで保存してください）。"}])


def _lines(reader):
    """The reader's rows; a line the csv module cannot read (a field beyond its 131,072-character limit) is the
    file's refusal with the line number, not a server error."""
    try:
        yield from reader
    except csv.Error:
        raise ValidationFailed([{"field": "file", "message": f"CSVの{reader.line_num}行目を読めません"
                                 "（1つの欄が長すぎます。Excelで開いて確かめてください）。"}]) from None


def parse_csv(raw: bytes) -> list[dict[str, str]]:
    """Rows as the ledger's input mappings; header problems are refused before any row is read."""
    text = _decode(raw)
    reader = _lines(csv.reader(io.StringIO(text)))
    header = next(reader, None)
    if not header:
        raise ValidationFailed([{"field": "file", "message": "CSVが空です。1行目に見出し（従事者,対象月,事業,分野,分）を入れてください。"}])
    names = [HEADERS.get(h.strip()) for h in header]
    missing = [label for label, key in (("従事者", "staff_label"), ("対象月", "period_month"), ("事業", "business"),
                                        ("分野", "field")) if key not in names]
    if missing or not ({"minutes", "hours"} & set(names)):
        missing += [] if {"minutes", "hours"} & set(names) else ["分（または時間）"]
        raise ValidationFailed([{"field": "file", "message": "CSVの見出しに次の列がありません: " + "、".join(missing)}])
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        row = {key: value.strip() for key, value in zip(names, values) if key}
        row["business"] = _CODES.get(row.get("business", ""), row.get("business", ""))
        row["field"] = _FIELD_CODES.get(row.get("field", ""), row.get("field", ""))
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise ValidationFailed([{"field": "file", "message": f"一度に取り込めるのは{MAX_ROWS:,}行までです。"}])
    if not rows:
        raise ValidationFailed([{"field": "file", "message": "CSVに取り込む行がありません。"}])
    return rows


async def import_csv(session: AsyncSession, year_id: object, raw: bytes) -> int:
    """Add every row as a タイムスタディ entry; one bad row refuses the file with each problem's line number."""
    rows = parse_csv(raw)
    errors: list[dict[str, str]] = []
    async with session.begin_nested() as savepoint:
        for line, row in enumerate(rows, start=2):
            try:
                await service.add_entry(session, service.TIME, year_id, row)
            except ValidationFailed as exc:
                errors += [{"field": f"line {line}.{e['field']}", "message": f"{line}行目: {e['message']}"}
                           for e in exc.errors]
        if errors:
            await savepoint.rollback()
    if errors:
        raise ValidationFailed(errors[:50])
    return len(rows)


@dataclass
class StaffMonth:
    staff_label: str
    minutes_by_month: dict[str, int]  # "2026-04" → minutes

    @property
    def total_minutes(self) -> int:
        return sum(self.minutes_by_month.values())


async def summary(session: AsyncSession, year: GrantFiscalYear) -> tuple[list[str], list[StaffMonth]]:
    """Minutes per staff member and month of the year's live entries (reversals cancel what they reverse)."""
    t = GrantTimeEntry
    rows = await session.execute(
        select(t.staff_label, t.period_month, func.sum(t.minutes)).where(t.fiscal_year_id == year.id)
        .group_by(t.staff_label, t.period_month).order_by(t.staff_label, t.period_month))
    months = [f"{(year.fiscal_year + (m < 4))}-{m:02d}" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    by_staff: dict[str, dict[str, int]] = defaultdict(lambda: {m: 0 for m in months})
    for staff, month, minutes in rows:
        by_staff[staff][f"{month:%Y-%m}"] += int(minutes or 0)
    return months, [StaffMonth(staff, minutes) for staff, minutes in by_staff.items() if any(minutes.values())]
