"""What onboarding, suspension and offboarding share: the step list they report and the prefecture's unit of work.

Every lifecycle action reports a list of ``Step``s — one line per thing it checked or changed — so the wizard, the
CLI and the tests show the same account of what happened ("作成しました" / "既にあります").
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from tenants.registry import PREFECTURE_CODE


class Outcome(StrEnum):
    DONE = "done"  # changed something
    ALREADY = "already"  # was already so: nothing to do
    SKIPPED = "skipped"  # deliberately not done
    FAILED = "failed"


OUTCOME_LABELS = {
    Outcome.DONE: "実行しました",
    Outcome.ALREADY: "既にあります",
    Outcome.SKIPPED: "対象なし",
    Outcome.FAILED: "失敗しました",
}


@dataclass
class Step:
    key: str
    label: str  # what the step is, in Japanese
    outcome: Outcome
    detail: str = ""

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[self.outcome]

    def line(self) -> str:
        return f"[{self.outcome.value:<7}] {self.label}: {self.outcome_label}{' — ' + self.detail if self.detail else ''}"


@dataclass
class Report:
    code: str
    name: str
    steps: list[Step] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.outcome is not Outcome.FAILED for s in self.steps)

    def add(self, key: str, label: str, outcome: Outcome, detail: str = "") -> Step:
        step = Step(key, label, outcome, detail)
        self.steps.append(step)
        return step

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


class LifecycleError(Exception):
    """A refusal explained in Japanese (unknown code, not a tenant, …)."""


@contextlib.asynccontextmanager
async def prefecture_unit_of_work(app_url: str, actor: str) -> AsyncIterator[AsyncSession]:
    """For the CLI: one transaction of the app role acting for the prefecture (as the console does)."""
    from core.audit.trail import bind_actor
    from core.database import create_engine, session_factory
    from core.tenancy.context import tenant_scope

    engine = create_engine(app_url, pool_size=1)
    try:
        with tenant_scope(PREFECTURE_CODE):
            bind_actor(actor)
            async with session_factory(engine)() as session, session.begin():
                yield session
    finally:
        await engine.dispose()
