"""Where the case domain calls out to plugins: a tiny local interface, until the plugin platform connects it.

The service calls these points (and only these) through ``case_events()``:

===============================  =====================================================================================
``status_changed(case, old, new)`` after every status change (in the same transaction, after it was audited)
``plan_agreed(case, plan)``        after a plan was agreed (合意), before the automatic move to 支援決定
``extra_intake_fields()``          extra fields a tenant's plugin wants on the intake form: ``[IntakeField]``
``extra_workflow_steps()``         extra allowed transitions: ``[WorkflowStep(from_status, to_status, label)]``
===============================  =====================================================================================

The default is ``NoCaseEvents`` (does nothing, adds nothing). The lead connects the pluggy hooks with
``set_case_events(adapter)``, where the adapter calls the tenant's ``subset_hook_caller``. An implementation must
not raise for ordinary problems; whatever it raises is logged and swallowed by ``notify()`` so a broken plugin
never undoes a case worker's change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import structlog

log = structlog.get_logger("kyosei.cases.events")


@dataclass(frozen=True)
class IntakeField:
    """An extra question on the intake form (stored in the case's free text until the platform stores it)."""

    name: str
    label: str
    kind: str = "text"  # text | checkbox


@dataclass(frozen=True)
class WorkflowStep:
    from_status: str
    to_status: str
    label: str


@runtime_checkable
class CaseEvents(Protocol):
    def status_changed(self, case: Any, old: str, new: str) -> None: ...

    def plan_agreed(self, case: Any, plan: Any) -> None: ...

    def extra_intake_fields(self) -> list[IntakeField]: ...

    def extra_workflow_steps(self) -> list[WorkflowStep]: ...


class NoCaseEvents:
    """The default: no plugin is listening."""

    def status_changed(self, case: Any, old: str, new: str) -> None:
        return None

    def plan_agreed(self, case: Any, plan: Any) -> None:
        return None

    def extra_intake_fields(self) -> list[IntakeField]:
        return []

    def extra_workflow_steps(self) -> list[WorkflowStep]:
        return []


_events: CaseEvents = NoCaseEvents()


def set_case_events(events: CaseEvents | None) -> None:
    """Install the implementation (``None`` restores the no-op default)."""
    global _events
    _events = events if events is not None else NoCaseEvents()


def case_events() -> CaseEvents:
    return _events


def notify(point: str, *args: Any) -> None:
    """Call a notification point; a failing listener is logged (no personal data) and never breaks the change."""
    try:
        getattr(_events, point)(*args)
    except Exception as exc:  # a plugin's failure is its own
        log.error("case_event_failed", point=point, exc_type=type(exc).__name__)


def query(point: str) -> list:
    try:
        return list(getattr(_events, point)() or [])
    except Exception as exc:
        log.error("case_event_failed", point=point, exc_type=type(exc).__name__)
        return []
