"""The case workflow as one explicit table: which status may follow which, what must exist first, what needs a reason.

受付 → アセスメント → プラン作成 → 支援決定 → 支援中 → 評価 → 終結/中断, with the way back where practice needs it
(re-assessment, re-planning after an evaluation) and reopening (再開) of a closed or suspended case, with a reason.
Guards are names; ``service.transition`` evaluates them against the database:

- ``has_assessment``: no プラン作成 without an アセスメント;
- ``plan_agreed``: no 支援決定 without an agreed プラン (and only by ``SUPPORT_DECISION_ROLES``: ``service.transition``).

Plugins do not add transitions: their steps (``kyosei_extra_workflow_steps``, e.g. 課長決裁) sit *inside* a status
and can hold a case there until done (see ``core/cases/extensions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


# 支援決定 is the municipality's decision, not any staff member's (多機関協働事業 実施要綱). Until roles are per
# municipality, the municipality's own account holder (団体管理者) carries it: coordinators may come from the 社協
# (中土佐町's 推進員 A–C), which cannot decide for the town. The meetings domain's 支援決定 checks this; one home.
SUPPORT_DECISION_ROLES: tuple[str, ...] = ("tenant-admin",)
SUPPORT_DECISION_ROLE_LABEL = "団体管理者（支援決定の権限）"
SUPPORT_DECISION_FORBIDDEN = (f"支援決定は市町村が行います（多機関協働事業 実施要綱）。記録できるのは市町村の{SUPPORT_DECISION_ROLE_LABEL}"
                              "です。担当者はプランの合意までを記録してください。")
# 多機関協働事業 (重層的支援体制整備事業) plans are agreed at a 重層的支援会議, never on the case page alone.
MULTILAYER_BUSINESS = "multi_agency"
PLAN_AGREED_AT_MEETING = ("多機関協働事業のケースのプランは、重層的支援会議で合意します（多機関協働事業 実施要綱）。"
                          "会議の議題にして「プランに合意」を記録してください。")

OPEN_STATUSES = ("intake", "assessment", "planning", "decided", "supporting", "evaluation")
TERMINAL_STATUSES = ("closed", "suspended")


@dataclass(frozen=True)
class Transition:
    from_status: str
    to_status: str
    label: str  # what the button says
    guard: str | None = None
    needs_reason: bool = False


def _end(frm: str) -> list[Transition]:
    return [Transition(frm, "closed", "終結する", needs_reason=True),
            Transition(frm, "suspended", "中断する", needs_reason=True)]


TRANSITIONS: tuple[Transition, ...] = (
    Transition("intake", "assessment", "アセスメントへ進む"),
    *_end("intake"),
    Transition("assessment", "planning", "プラン作成へ進む", guard="has_assessment"),
    *_end("assessment"),
    Transition("planning", "decided", "支援決定", guard="plan_agreed"),
    Transition("planning", "assessment", "アセスメントに戻る", needs_reason=True),
    *_end("planning"),
    Transition("decided", "supporting", "支援を開始する"),
    Transition("decided", "planning", "プランを見直す", needs_reason=True),
    *_end("decided"),
    Transition("supporting", "evaluation", "評価へ進む"),
    *_end("supporting"),
    Transition("evaluation", "supporting", "支援を継続する"),
    Transition("evaluation", "planning", "プランを見直す", guard="has_assessment"),
    *_end("evaluation"),
    Transition("closed", "assessment", "再開する", needs_reason=True),
    Transition("suspended", "assessment", "再開する", needs_reason=True),
)

GUARD_MESSAGES = {
    "has_assessment": "アセスメントが記録されていないため、プラン作成に進めません。先にアセスメントを記録してください。",
    "has_plan": "プランが作成されていないため、支援決定できません。先にプランを作成してください。",
    "plan_agreed": "プランが合意されていないため、支援決定できません。支援決定はプランの合意（多機関協働事業のケースは"
                   "重層的支援会議での合意）の後に、市町村が行います。",
}


def may_decide_support(principal) -> bool:
    """The municipality's deciding role, in the principal's own municipality (roles are per tenant: core.auth)."""
    return principal is not None and principal.has_role(*SUPPORT_DECISION_ROLES)


def is_multilayer(case) -> bool:
    """A case of 多機関協働事業: its plan is a 重層 plan, agreed at a 重層的支援会議."""
    return MULTILAYER_BUSINESS in (case.businesses or ()) or case.lead_business == MULTILAYER_BUSINESS


def transitions() -> list[Transition]:
    return list(TRANSITIONS)


def find(from_status: str, to_status: str) -> Transition | None:
    return next((t for t in transitions() if t.from_status == from_status and t.to_status == to_status), None)


def allowed_from(status: str) -> list[Transition]:
    return [t for t in transitions() if t.from_status == status]
