"""What a meeting may decide: one table and one check (the rule's only home; docs/meetings-flow.md).

The national 実施要綱 of 多機関協働事業 and アウトリーチ等を通じた継続的支援事業 separate two meetings:

- **支援会議** (社会福祉法第106条の6): no consent needed, members bound to secrecy. It shares information about people
  who have not (yet) consented and decides how to reach and watch over them. It may not agree a plan, decide
  支援決定 or close (終結) a plan.
- **重層的支援会議**: consented cases only. It discusses whether the plan is appropriate (プランの合意), judges the
  end of support (終結), and reviews local resources. 支援決定 is then the municipality's act, not the meeting's
  (``SUPPORT_DECISION_ROLES``; ``core.meetings.service.decide_support``).

A plugin's kind runs as one of these (``kyosei_meeting_kind_rules``) and may narrow its decisions, never widen
them. ``refusal`` is the single check every path calls (pages, API, tests); it returns the Japanese message naming
the rule, or ``None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from core.meetings.kinds import MULTILAYER_MEETING, SUPPORT_MEETING
from core.plugin_types import MeetingKindDefinition, MeetingKindRule
from core.wareki import jdate, jdatetime


@dataclass(frozen=True)
class Decision:
    code: str
    label: str
    needs_consent: bool = False  # only for a case whose consent covers this meeting, checked again when deciding
    needs_reason: bool = False
    to_status: str | None = None  # the case status it moves to (through the cases service)


DECISIONS: dict[str, Decision] = {d.code: d for d in (
    Decision("info_shared", "情報共有"),
    Decision("outreach_roles", "見守り・アウトリーチの役割分担"),
    Decision("consent_approach", "同意取得への働きかけ"),
    Decision("refer_next", "次回検討（次の会議へ）"),
    Decision("plan_agreed", "プランに合意", needs_consent=True),
    Decision("continue", "支援継続", needs_consent=True, to_status="supporting"),
    Decision("resource_review", "地域資源の検討"),
    Decision("closed", "終結", needs_consent=True, needs_reason=True, to_status="closed"),
    Decision("suspended", "中断", needs_consent=True, needs_reason=True, to_status="suspended"),
)}

# The table of the law (docs/meetings-flow.md repeats it for people).
ALLOWED: dict[str, tuple[str, ...]] = {
    SUPPORT_MEETING: ("info_shared", "outreach_roles", "consent_approach", "refer_next"),
    MULTILAYER_MEETING: ("plan_agreed", "continue", "closed", "suspended", "resource_review", "info_shared",
                         "refer_next"),
}
# A plugin kind that needs consent but states no rule: it talks, it decides nothing that binds the case.
UNDECLARED: tuple[str, ...] = ("info_shared", "refer_next")

CORE_LABELS = {SUPPORT_MEETING: "支援会議（社会福祉法第106条の6）", MULTILAYER_MEETING: "重層的支援会議"}

# Decisions of earlier versions, still shown on old agenda items, never offered again.
HISTORIC_LABELS = {"support_decided": "支援決定", "start_support": "支援開始"}
LABELS = {**{c: d.label for c, d in DECISIONS.items()}, **HISTORIC_LABELS}

# 支援決定 is the municipality's decision (core.cases.workflow.SUPPORT_DECISION_ROLES: 団体管理者 for now); every
# path asks ``core.cases.workflow.may_decide_support``, where ``cases.transition`` checks it too.


@dataclass(frozen=True)
class KindRules:
    """A meeting kind with the legal kind it runs as and what it may decide."""

    kind: MeetingKindDefinition
    runs_as: str | None  # None: a plugin kind that stated no rule and needs consent
    decisions: tuple[str, ...]

    @property
    def held_as(self) -> str:
        return CORE_LABELS.get(self.runs_as or "", "")

    @property
    def choices(self) -> dict[str, str]:
        return {c: DECISIONS[c].label for c in self.decisions}

    @property
    def agrees_plans(self) -> bool:
        return "plan_agreed" in self.decisions


def rules_for(kind: MeetingKindDefinition, declared: Iterable[MeetingKindRule] = ()) -> KindRules:
    """The rules of ``kind``: core kinds as the law says; a plugin kind as its rule says, within the law."""
    if kind.code in ALLOWED:
        return KindRules(kind, kind.code, ALLOWED[kind.code])
    lawful_without_consent = kind.confidential and not kind.requires_consent
    rule = next((r for r in declared if isinstance(r, MeetingKindRule) and r.kind == kind.code), None)
    fits = rule is not None and rule.runs_as in ALLOWED and (
        (rule.runs_as == SUPPORT_MEETING) == lawful_without_consent)
    if not fits:
        if lawful_without_consent:
            return KindRules(kind, SUPPORT_MEETING, ALLOWED[SUPPORT_MEETING])
        return KindRules(kind, None, UNDECLARED)
    allowed = ALLOWED[rule.runs_as]
    narrowed = tuple(c for c in allowed if c in rule.decisions) if rule.decisions else allowed
    return KindRules(kind, rule.runs_as, narrowed)


@dataclass(frozen=True)
class Facts:
    """What the check needs to know about the case, the meeting and the person at the moment of deciding."""

    case_status: str
    plan_version: int | None  # the current plan, if any
    plan_agreed_on: dt.date | None
    consent_reason: str | None  # None: consent covers this meeting (or the kind needs none); else why not
    meeting_day: dt.date
    today: dt.date
    minutes_finalised_at: dt.datetime | None
    is_member: bool


def _listing(rules: KindRules) -> str:
    return "・".join(DECISIONS[c].label for c in rules.decisions)


def refusal(rules: KindRules, code: str, facts: Facts) -> str | None:
    """Why ``code`` may not be decided now at a meeting of ``rules``, in Japanese naming the rule; None if it may."""
    from core.cases.schemas import STATUS_LABELS

    if facts.minutes_finalised_at is not None:
        return f"議事録が確定しているため、決定を記録できません（確定: {jdatetime(facts.minutes_finalised_at)}）。"
    if not facts.is_member:
        return "決定を記録できるのは、この会議の参加者です。参加者に加わってから記録してください。"
    if facts.today < facts.meeting_day:
        return f"会議の日（{jdate(facts.meeting_day)}）より前には、決定を記録できません。"
    label = LABELS.get(code, code)
    if code not in rules.decisions:
        kind = rules.kind.label
        if rules.runs_as == SUPPORT_MEETING:
            where = "支援会議（社会福祉法第106条の6）" if rules.kind.code == SUPPORT_MEETING else \
                f"「{kind}」（支援会議として開催）"
            return (f"{where}では「{label}」は決められません。決められるのは {_listing(rules)} です。"
                    "プランの合意・支援決定・終結は、本人の同意を得てから重層的支援会議で扱います。")
        if code == "support_decided":
            return "支援決定は会議では決めません。重層的支援会議でプランに合意した後、市町村（支援決定の権限を持つ人）が記録します。"
        return f"「{kind}」では「{label}」は決められません。決められるのは {_listing(rules)} です。"
    decision = DECISIONS[code]
    if decision.needs_consent and facts.consent_reason is not None:
        return f"「{label}」は本人の同意があるケースだけ決められます: {facts.consent_reason}"
    status = STATUS_LABELS.get(facts.case_status, facts.case_status)
    if facts.case_status in ("closed", "suspended") and code != "info_shared":
        return f"このケースはすでに「{status}」です。再開してから会議で扱ってください。"
    if code == "plan_agreed":
        if facts.plan_version is None:
            return "プランが作成されていないため、合意できません。先にプランを作成してください。"
        if facts.plan_agreed_on is not None:
            return (f"このケースのプラン（第{facts.plan_version}版）は{jdate(facts.plan_agreed_on)}にすでに合意されています。"
                    "同じプランに二度合意することはできません。見直すときは新しい版のプランを作成してください。")
        if facts.case_status != "planning":
            return f"プランの合意は「プラン作成」の段階のケースに限ります（現在: {status}）。"
    if code == "continue" and facts.case_status not in ("supporting", "evaluation"):
        return f"支援継続は、支援中または評価の段階のケースに限ります（現在: {status}）。"
    return None


async def tenant_rules(host, tenant_id: str, kinds: dict[str, MeetingKindDefinition]) -> dict[str, KindRules]:
    """The rules of each of the tenant's kinds (its plugins' ``kyosei_meeting_kind_rules`` applied)."""
    declared = await host.call(tenant_id, "kyosei_meeting_kind_rules") if host is not None else []
    return {code: rules_for(kind, declared or ()) for code, kind in kinds.items()}
