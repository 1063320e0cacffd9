"""Today's work for the home page, per role (issue 19): what each person should look at first.

- staff: their cases due for review, their next meetings, consents of their cases about to expire;
- coordinators: new consultations (受付 not yet assessed) and open cases without a worker;
- tenant admins: the first setup steps still to do (staff, agencies, grant year, plugins), break-the-glass accesses
  to review, unacknowledged plugin errors, the prefecture's surveys to answer;
- the prefecture: survey deadlines and the year's back-office schedule.

Only case numbers, statuses and dates are shown (no names), so the page reads no personal data: opening a case
is what is audited. Every list is bounded (``LIMIT``) and counted, so a busy municipality's home stays fast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.principal import Principal
from core.cases import break_glass
from core.cases.models import CaseAssignee, Consent, SupportCase
from core.cases.service import visible_clause
from core.cases.workflow import may_decide_support
from core.meetings.models import Meeting, MeetingMember
from core.meetings.service import awaiting_support_decision
from core.wareki import fiscal_year_of
from tenants.staff import setup_needed

SHOWN = 8  # items per card; the card links to the full list
REVIEW_AHEAD = dt.timedelta(days=14)
CONSENT_AHEAD = dt.timedelta(days=30)
CLOSED = ("closed",)


@dataclass
class Item:
    text: str
    href: str
    when: dt.date | dt.datetime | None = None
    note: str = ""


@dataclass
class Card:
    key: str
    title: str
    empty: str
    items: list[Item] = field(default_factory=list)
    more_href: str | None = None
    more_label: str = "すべて見る"


async def _open_cases(session: AsyncSession, principal: Principal, *conditions, order) -> list[SupportCase]:
    query = (select(SupportCase).where(visible_clause(principal), SupportCase.status.not_in(CLOSED), *conditions)
             .order_by(*order).limit(SHOWN))
    return list(await session.scalars(query))


async def staff_cards(session: AsyncSession, principal: Principal, today: dt.date, status_labels: dict) -> list[Card]:
    due = await _open_cases(session, principal, SupportCase.review_on.is_not(None),
                            SupportCase.review_on <= today + REVIEW_AHEAD, order=(SupportCase.review_on,))
    review = Card("review", "見直し期限が近いケース", "2週間以内に見直しを迎えるケースはありません。",
                  [Item(f"ケース {c.case_number}", f"/cases/{c.id}", c.review_on,
                        "期限超過" if c.review_on < today else status_labels.get(c.status, c.status)) for c in due],
                  "/cases")

    now = dt.datetime.now(dt.UTC)
    mine = exists().where(MeetingMember.meeting_id == Meeting.id, MeetingMember.user_sub == principal.sub)
    meetings = list(await session.scalars(select(Meeting).where(Meeting.starts_at >= now, mine)
                                          .order_by(Meeting.starts_at).limit(SHOWN)))
    upcoming = Card("meetings", "次の会議", "参加予定の会議はありません。",
                    [Item(m.title, f"/meetings/{m.id}", m.starts_at, m.place or "") for m in meetings], "/meetings")

    visible_case = select(SupportCase.id).where(visible_clause(principal), SupportCase.status.not_in(CLOSED))
    expiring = list(await session.execute(
        select(Consent, SupportCase.case_number).join(SupportCase, SupportCase.id == Consent.case_id)
        .where(Consent.case_id.in_(visible_case), Consent.revoked_on.is_(None), Consent.expires_on.is_not(None),
               Consent.expires_on >= today, Consent.expires_on <= today + CONSENT_AHEAD)
        .order_by(Consent.expires_on).limit(SHOWN)))
    consents = Card("consents", "有効期限が近い同意", "30日以内に期限を迎える同意はありません。",
                    [Item(f"ケース {number} の同意", f"/cases/{c.case_id}", c.expires_on, "改めて同意を得てください")
                     for c, number in expiring])
    return [review, upcoming, consents]


async def coordinator_cards(session: AsyncSession, principal: Principal, status_labels: dict) -> list[Card]:
    new = await _open_cases(session, principal, SupportCase.status == "intake",
                            order=(SupportCase.received_on.desc(), SupportCase.case_number.desc()))
    intake = Card("intake", "新しい相談（受付）", "受付のままの相談はありません。",
                  [Item(f"ケース {c.case_number}", f"/cases/{c.id}", c.received_on, "アセスメント前") for c in new],
                  "/cases")
    worker = exists().where(CaseAssignee.case_id == SupportCase.id, CaseAssignee.ended_at.is_(None))
    unowned = await _open_cases(session, principal, ~worker, order=(SupportCase.received_on,))
    owners = Card("unassigned", "担当者のいないケース", "担当者のいないケースはありません。",
                  [Item(f"ケース {c.case_number}", f"/cases/{c.id}", c.received_on,
                        status_labels.get(c.status, c.status)) for c in unowned], "/cases")
    return [intake, owners]


async def admin_cards(session: AsyncSession, request, tenant_id: str, today: dt.date) -> list[Card]:
    from core.plugins import service as plugin_service
    from core.prefecture.service import delivered_surveys

    # the review queue (core.cases.break_glass): openings not yet marked 妥当, oldest first
    waiting = await break_glass.review_queue(session, request.scope["user"], limit=SHOWN)
    glass = Card("break-glass", "確認を待っている緊急閲覧", "確認を待っている緊急閲覧はありません。",
                 [Item(f"{w.grant.display_name or '職員'}さんの緊急閲覧（{w.case_number}）", "/admin/break-glass",
                       w.grant.granted_at) for w in waiting],
                 "/admin/break-glass", "緊急閲覧の確認へ")

    host = getattr(request.app.state, "plugins", None)
    errors = [e for e in await plugin_service.tenant_errors(host, tenant_id) if e.acknowledged_at is None] \
        if host is not None and host.plugins else []
    plugin_errors = Card("plugin-errors", "未確認のプラグインエラー", "未確認のエラーはありません。",
                         [Item(f"{host.plugins[e.plugin_name].info.display_name if e.plugin_name in host.plugins else e.plugin_name}"
                               f"（{e.occurrences}回）", "/admin/plugins", e.last_at) for e in errors[:SHOWN]],
                         "/admin/plugins", "プラグインの管理")

    pending = [(s, r) for s, r in await delivered_surveys(session) if r.submitted_at is None]
    surveys = Card("surveys", "回答待ちの実態調査", "回答待ちの調査はありません。",
                   [Item(s.title, f"/survey/{s.id}", s.due_on, "期限超過" if s.due_on and s.due_on < today else "")
                    for s, _ in pending[:SHOWN]], "/survey")
    cards = [await setup_card(session, host, tenant_id), glass, plugin_errors, surveys]
    if may_decide_support(request.scope["user"]):  # the municipality's 支援決定 (docs/meetings-flow.md)
        count, meeting_id = await awaiting_support_decision(session)
        cards.insert(1, Card("support-decision", "市町村の支援決定を待っているケース", "支援決定を待っているケースはありません。",
                             [Item(f"重層的支援会議でプランに合意し、市町村の支援決定を待っているケースが{count}件あります。",
                                   f"/meetings/{meeting_id}")] if count else []))
    return cards


async def setup_card(session: AsyncSession, host, tenant_id: str) -> Card:
    """A new municipality's first steps, each shown until it is done (a first admin's home is never empty)."""
    from core.cases.models import Agency
    from core.grants.models import GrantFiscalYear

    steps = []
    if await setup_needed(session):  # the first admin alone in the directory
        steps.append(Item("職員を招待して役割を設定する", "/admin/staff",
                          note="招待した職員は一時パスワードでログインし、会議や機関で名前から選べます"))
    if not await session.scalar(select(func.count()).select_from(Agency)):
        steps.append(Item("関係機関を登録する", "/agencies", note="地域包括支援センター、社会福祉協議会など"))
    if not await session.scalar(select(func.count()).select_from(GrantFiscalYear)):
        steps.append(Item("交付金の年度を登録する", "/grants"))
    if host is not None and host.plugins and not (await host.tenant_plugins(tenant_id)).enabled:
        steps.append(Item("市町村のプラグインを有効にする", "/admin/plugins", note="事業カタログや会議の設定が入ります"))
    return Card("setup", "はじめの設定", "はじめの設定はひととおり済んでいます。", steps)


async def prefecture_cards(session: AsyncSession, today: dt.date) -> list[Card]:
    from core.prefecture.service import events, surveys

    open_surveys = [s for s in await surveys(session) if s.status not in ("draft", "closed")]
    deadlines = Card("survey-deadlines", "実態調査の締切", "回答受付中の調査はありません。",
                     [Item(s.title, f"/prefecture/surveys/{s.id}", s.due_on) for s in
                      sorted(open_surveys, key=lambda s: s.due_on or dt.date.max)[:SHOWN]], "/prefecture/surveys")
    year = fiscal_year_of(today)
    coming = [e for e in await events(session, year) if (e.ends_on or e.starts_on) >= today]
    schedule = Card("schedule", "今年度のこれからの予定", "今年度の予定はこれ以上ありません。",
                    [Item(e.title, f"/prefecture/schedule/{e.id}", e.starts_on) for e in coming[:SHOWN]],
                    f"/prefecture/schedule?year={year}", "年間スケジュール")
    return [deadlines, schedule]
