"""監査ログの閲覧: who read or changed whose record, for the tenant's auditors (監査担当) and admins.

The report a municipality needs after a suspected leak (個人情報保護法: who saw this person's data, and when)
comes out of one search: name the person, and every event on the person, their household and their cases is
listed with the staff member, the action, the time (和暦 beside the Western date) and the stated reason.

The trail is read through ``audit_events_read`` / ``audit_chain_status`` (migration 0014b): SECURITY DEFINER
functions that return only the bound tenant's rows; the app role still cannot SELECT the table. Looking at the
trail is itself audited (``audit_event`` READ with the filters used, never the names typed).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import DateTime, Integer, String, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit.trail import AuditAction, record
from core.auth import staff_directory
from core.auth.principal import Principal, Role
from core.wareki import TOKYO

ACTION_LABELS: dict[str, str] = {
    "read": "閲覧", "create": "作成", "update": "変更", "delete": "削除", "export": "出力（CSV等）",
    "break_glass": "緊急閲覧", "denied": "拒否された操作",
}
OBJECT_LABELS: dict[str, str] = {
    "case": "相談ケース", "case_list": "ケース一覧", "person": "個人", "household": "世帯", "household_list": "世帯一覧", "consent": "同意",
    "assessment": "アセスメント", "support_plan": "プラン", "progress_record": "支援経過記録", "evaluation": "評価",
    "referral": "紹介", "agency": "関係機関", "case_access_grant": "緊急閲覧の記録", "meeting": "会議",
    "program_enrolment": "参加登録", "staff": "職員", "audit_event": "監査ログ",
}
VIEW_ROLES = (Role.AUDITOR, Role.TENANT_ADMIN)
MAX_ROWS = 2000
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)  # the days a search may name (as its message says)


class AuditViewRefused(Exception):
    pass


def require_viewer(principal: Principal) -> None:
    if principal.is_prefecture or not principal.has_role(*VIEW_ROLES):
        raise AuditViewRefused("監査ログを閲覧できるのは、この団体の監査担当と団体管理者です。")


@dataclass
class AuditQuery:
    person: str | None = None  # a resident's name or kana, in part
    staff: str | None = None  # a staff member's name or kana, in part
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive
    errors: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "AuditQuery":
        query = cls()
        for name in ("person", "staff"):
            value = (params.get(name) or "").strip()
            if len(value) > 50:
                query.errors.append({"field": name, "message": "50文字以内で入力してください。"})
            else:
                setattr(query, name, value or None)
        action = params.get("action") or None
        if action is not None and action not in ACTION_LABELS:
            query.errors.append({"field": "action", "message": "操作の種類は一覧から選んでください。"})
        else:
            query.action = action
        for name in ("since", "until"):
            value = params.get(name) or None
            if value:
                try:
                    day = dt.date.fromisoformat(value)
                except ValueError:
                    query.errors.append({"field": name, "message": "日付は 2026-04-01 の形で入力してください。"})
                    continue
                # the search turns a day into Tokyo midnight (and ``until`` into the next one): 0001-01-01 and
                # 9999-12-31 fall off the calendar there; no audit event is older than the system anyway
                if not FIRST_DAY <= day <= LAST_DAY:
                    query.errors.append({"field": name, "message": "日付は2000年から2100年までで入力してください。"})
                else:
                    setattr(query, name, day)
        if query.since and query.until and query.until < query.since:
            query.errors.append({"field": "until", "message": "終わりの日は始まりの日以降にしてください。"})
        return query

    def params(self) -> dict[str, str]:
        values = {"person": self.person, "staff": self.staff, "action": self.action,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None}
        return {k: v for k, v in values.items() if v}


@dataclass
class AuditRow:
    seq: int
    occurred_at: dt.datetime
    actor_sub: str
    actor_name: str
    action: str
    object_type: str
    object_id: str | None
    object_label: str  # e.g. the case number
    reason: str | None

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def object_type_label(self) -> str:
        return OBJECT_LABELS.get(self.object_type, self.object_type)


@dataclass
class AuditResult:
    rows: list[AuditRow]
    people: list[str]  # the residents the person filter matched (names), so the reader sees whom it covers
    truncated: bool


_READ = text(
    "SELECT * FROM audit_events_read(:object_ids, :actors, :actions, :since, :until, :max_rows)"
).bindparams(
    bindparam("object_ids", type_=ARRAY(String)), bindparam("actors", type_=ARRAY(String)),
    bindparam("actions", type_=ARRAY(String)), bindparam("since", type_=DateTime(timezone=True)),
    bindparam("until", type_=DateTime(timezone=True)), bindparam("max_rows", type_=Integer),
)


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=TOKYO)


async def _staff_names(session: AsyncSession, rows) -> dict[str, str]:
    subs = {r.actor_sub for r in rows}
    if not subs:
        return {}
    return {e.user_sub: e.display_name for e in await session.scalars(
        select(staff_directory.StaffEntry).where(staff_directory.StaffEntry.user_sub.in_(subs)))}


async def search(session: AsyncSession, principal: Principal, query: AuditQuery, *,
                 object_ids: list[str] | None = None, people: list[str] | None = None,
                 object_labels=None, exporting: bool = False) -> AuditResult:
    """The tenant's audit events matching ``query``, newest first (at most ``MAX_ROWS``).

    The person filter is resolved by the caller into ``object_ids`` (the person's, their household's and their
    cases' ids: ``core.cases.access.person_record_ids``; the audit trail knows no domain), with the names matched
    in ``people``; ``object_labels(session, rows)`` may name objects (case numbers) for the reader. ``exporting``:
    the rows leave as a CSV file, audited as an EXPORT (like the case list's CSV), not a READ."""
    require_viewer(principal)
    action, what = (AuditAction.EXPORT, "csv") if exporting else (AuditAction.READ, "search")
    if query.person and not object_ids:
        await record(session, action, "audit_event", None, reason=f"{what} person=no match")
        return AuditResult([], people or [], False)
    actors = None
    if query.staff:
        actors = [e.user_sub for e in await staff_directory.search(session, query.staff, limit=50, include_retired=True)]
        if not actors:
            return AuditResult([], people or [], False)
    rows = list(await session.execute(_READ, {
        "object_ids": object_ids, "actors": actors, "actions": [query.action] if query.action else None,
        "since": _start_of(query.since) if query.since else None,
        "until": _start_of(query.until + dt.timedelta(days=1)) if query.until else None,
        "max_rows": MAX_ROWS + 1}))
    truncated = len(rows) > MAX_ROWS
    rows = rows[:MAX_ROWS]
    names = await _staff_names(session, rows)
    numbers = await object_labels(session, rows) if object_labels else {}
    used = ",".join(k for k in query.params())
    await record(session, action, "audit_event", None, reason=f"{what} filters={used or 'none'} rows={len(rows)}")
    return AuditResult([AuditRow(seq=r.seq, occurred_at=r.occurred_at, actor_sub=r.actor_sub,
                                 actor_name=names.get(r.actor_sub, r.actor_sub), action=r.action,
                                 object_type=r.object_type, object_id=r.object_id,
                                 object_label=numbers.get(r.object_id or "", r.object_id or ""), reason=r.reason)
                        for r in rows], people or [], truncated)


CSV_COLUMNS = ("番号", "日時", "職員", "職員ID", "操作", "対象の種類", "対象", "理由・内容")


def _csv_safe(value: str) -> str:
    """A cell starting with = + - @ would run as a formula in a spreadsheet: prefix an apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(result: AuditResult) -> bytes:
    """UTF-8 with a BOM (Excel), formula-looking cells defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in result.rows:
        writer.writerow([_csv_safe(str(v)) for v in (
            r.seq, r.occurred_at.astimezone(TOKYO).isoformat(timespec="seconds"), r.actor_name, r.actor_sub,
            r.action_label, r.object_type_label, r.object_label, r.reason or "")])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


@dataclass(frozen=True)
class ChainStatus:
    rows_checked: int
    first_broken_seq: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_seq is None


async def chain_status(session: AsyncSession, principal: Principal) -> ChainStatus:
    """The bound tenant's hash chain recomputed now (``kyosei audit verify`` for one municipality)."""
    require_viewer(principal)
    row = (await session.execute(text("SELECT * FROM audit_chain_status()"))).one()
    await record(session, AuditAction.READ, "audit_event", None, reason="chain verify")
    return ChainStatus(int(row.rows_checked or 0), row.first_broken_seq)
