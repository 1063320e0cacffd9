"""The two-stage flow of 多機関協働 for one case: where the case stands and what is needed next (docs/meetings-flow.md).

Stage 1 (before consent): アウトリーチ and 支援会議 (art. 106-6) — contacts and attempts are logged, no plan is agreed.
Stage 2 (after consent): 重層的支援会議 agrees the plan → the municipality's 支援決定 → support → evaluation →
終結 judged at a 重層的支援会議. The case page shows the steps with the one in progress and what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.cases import service as cases
from core.cases.file_query import StageFacts, read_stage_facts
from core.cases.models import SupportCase
from core.wareki import today


@dataclass(frozen=True)
class Step:
    code: str
    label: str
    done: bool
    detail: str = ""


@dataclass(frozen=True)
class Stage:
    steps: list[Step]
    current: Step | None  # the first step not done; None when the case is closed
    needed: str  # what is needed next, in one sentence
    before_consent: bool


NEEDED = {
    "outreach": "本人の同意を得て記録してください。それまでは支援会議で情報を共有し、見守り・アウトリーチの役割を決めます（プランは作りません）。",
    "plan_agreed": "アセスメントとプランを作成し、重層的支援会議の議題にしてプランに合意してください。",
    "support_decided": "プランに合意しました。市町村（支援決定の権限を持つ人）が支援決定を記録します（重層的支援会議で合意したときは会議の画面で）。",
    "supporting": "支援決定済みです。プランに沿って支援を開始してください。",
    "evaluation": "支援中です。支援経過を記録し、見直し日に評価してください。",
    "closure": "評価を踏まえ、重層的支援会議で支援継続か終結かを判断してください。",
}


async def case_stage(session: AsyncSession, case: SupportCase, file: cases.CaseFile | None = None) -> Stage:
    """Where ``case`` stands. With the case page's ``file`` (already read for the same request) its consents, plans
    and the counts read beside them (``stage_facts``, whatever the reader's consent scope) are taken from there
    instead of being read again."""
    same = file is not None and file.case.id == case.id
    if same:
        consented = any(cases.consent_valid_on(c, today()) for c in file.consents)
        plan = file.plans[0][0] if file.plans else (
            None if "plan" in file.items else await cases.current_plan(session, case.id))
    else:
        consented = (await cases.check_sharing(session, case.id)).allowed
        plan = await cases.current_plan(session, case.id)
    facts = file.stage_facts if same and file.stage_facts is not None else await read_stage_facts(session, case.id)
    decided_by = _support_decision(facts)
    status = case.status
    after_decision = status in ("decided", "supporting", "evaluation", "closed")
    steps = [
        Step("outreach", "アウトリーチ・支援会議（同意前）", consented or after_decision,
             f"支援経過の記録 {facts.contacts}件・会議での検討 {facts.discussed}回"),
        Step("consent", "同意の記録", consented or after_decision),
        Step("plan_agreed", "重層的支援会議でプランに合意", bool(plan and plan.agreed_on) or after_decision,
             f"合意 {plan.agreed_on.isoformat()}" if plan and plan.agreed_on else ""),
        Step("support_decided", "市町村の支援決定", after_decision, decided_by),
        Step("supporting", "支援", status in ("evaluation", "closed") or (status == "supporting")),
        Step("evaluation", "評価", status in ("evaluation", "closed")),
        Step("closure", "終結（重層的支援会議で判断）", status == "closed"),
    ]
    current = next((s for s in steps if not s.done), None)
    if status == "suspended":
        needed = "中断しています。再開するときはケースを再開してください。"
    elif current is None:
        needed = "終結しました。"
    elif current.code == "consent":
        needed = NEEDED["outreach"]
    elif current.code == "supporting" and status == "decided":
        needed = NEEDED["supporting"]
    elif current.code == "supporting":
        needed = NEEDED["evaluation"]
    elif current.code == "evaluation":
        needed = NEEDED["evaluation"]
    else:
        needed = NEEDED.get(current.code, "")
    return Stage(steps, current, needed, before_consent=not consented and not after_decision)


def _support_decision(facts: StageFacts) -> str:
    """Who decided support and when: at a meeting (the name and time on the latest agenda item that records it),
    or, decided on the case page by the deciding role, the latest status change to 支援決定 (its recorder's name in
    the staff directory, or their user id when the directory has none). Both are read with the stage's facts."""
    from core.wareki import jdatetime

    if facts.decided_at is not None:
        return f"{facts.decided_by_name}（{jdatetime(facts.decided_at)}）"
    if facts.decided_on_page_at is not None:
        return f"{facts.decided_on_page_by}（{jdatetime(facts.decided_on_page_at)}）"
    return ""
