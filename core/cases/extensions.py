"""What a tenant's plugins add to the case domain, read through the unit of work (core/plugins/unit_of_work.py).

- **Extra intake fields** (``kyosei_extra_intake_fields``): ``FieldDefinition``s shown on the intake form; the
  answers are validated here like any other field and stored in ``support_case.extras`` by field name.
- **Extra workflow steps** (``kyosei_extra_workflow_steps``): a step such as 課長決裁 placed after a core status.
  A *required* step must be completed, by someone holding one of its roles, after the case last entered that status
  and before it moves on. Ending a case (終結・中断) is never held back by a step: a case worker must always be able
  to record that the support stopped.
- **Events** (``kyosei_case_status_changed``, ``kyosei_plan_agreed``): emitted by the service and delivered after
  the commit, with ids only.

A plugin's bad definition (an unknown kind or status, a repeated name) is skipped with a log line, never shown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from core.cases.schemas import MAX_FREE_TEXT, MAX_SHORT, STATUS_LABELS, Reader
from core.plugin_types import FieldDefinition, WorkflowStep
from core.plugins.unit_of_work import ask_plugins

log = structlog.get_logger("kyosei.cases.extensions")

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KINDS = ("text", "textarea", "number", "date", "choice", "multi_choice", "boolean")
# statuses a step may follow: an open status (a closed case has nothing left to approve)
_STEP_STATUSES = ("intake", "assessment", "planning", "decided", "supporting", "evaluation")
MAX_NUMBER = 10**9


async def _definitions(session: AsyncSession, hook_name: str, kind: type, key: str, valid) -> list:
    """Definitions of type ``kind`` from the tenant's plugins, in plugin order; the first plugin to use a key
    (``key`` attribute) keeps it, and a definition failing ``valid`` is skipped with a log line."""
    found: dict[str, Any] = {}
    for plugin, answer in await ask_plugins(session, hook_name):
        for item in answer if isinstance(answer, (list, tuple)) else ():
            if not isinstance(item, kind) or not _NAME.fullmatch(getattr(item, key)) or not valid(item):
                log.warning("plugin definition skipped", plugin=plugin, hook=hook_name)
            else:
                found.setdefault(getattr(item, key), item)
    return list(found.values())


async def intake_fields(session: AsyncSession) -> list[FieldDefinition]:
    return await _definitions(session, "kyosei_extra_intake_fields", FieldDefinition, "name",
                              lambda f: f.kind in _KINDS)


async def workflow_steps(session: AsyncSession) -> list[WorkflowStep]:
    return await _definitions(session, "kyosei_extra_workflow_steps", WorkflowStep, "code",
                              lambda s: s.after_status in _STEP_STATUSES)


def read_extras(fields: list[FieldDefinition], raw: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Validate the answers to the extra fields: ``(values to store, field-level errors)``.

    ``raw`` is the ``extras`` object of a JSON body, or what the form sent as ``extras.<name>``. Errors name the
    field ``extras.<name>`` so the form can put the message next to the input.
    """
    errors: list[dict[str, str]] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return {}, [{"field": "extras", "message": "追加項目（extras）はオブジェクトで指定してください。"}]
    known = {f.name for f in fields}
    for name in raw:
        if name not in known:
            errors.append({"field": f"extras.{name}", "message": "この追加項目は、この自治体では使われていません。"})
    r = Reader(raw, prefix="extras.", errors=errors)
    values: dict[str, Any] = {}
    for f in fields:
        value = _read(r, f)
        if value is None or value == []:
            if f.required and f.kind != "boolean":
                r.fail(f.name, f"{f.label}を入力してください。" if f.kind in ("text", "textarea", "number", "date")
                       else f"{f.label}を選んでください。")
            continue
        values[f.name] = value
    return values, errors


def _read(r: Reader, f: FieldDefinition) -> Any:
    choices = dict(f.choices)
    if f.kind == "text":
        return r.text(f.name, f.label, MAX_SHORT)
    if f.kind == "textarea":
        return r.text(f.name, f.label, MAX_FREE_TEXT, free=True)
    if f.kind == "date":
        day = r.date(f.name, f.label)
        return day.isoformat() if isinstance(day, dt.date) else None
    if f.kind == "choice":
        return r.choice(f.name, f.label, choices)
    if f.kind == "multi_choice":
        return r.choices(f.name, f.label, choices)
    if f.kind == "boolean":
        return r.boolean(f.name, f.label)
    value = r.raw(f.name)  # number: an integer (counts, years); a form sends it as text
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,10}", value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_NUMBER:
        r.fail(f.name, f"{f.label}は整数で入力してください。")
        return None
    return value


def display_value(f: FieldDefinition, value: Any) -> str:
    """How a stored answer reads on the case page."""
    choices = dict(f.choices)
    if f.kind == "choice":
        return choices.get(value, str(value))
    if f.kind == "multi_choice":
        return "、".join(choices.get(v, str(v)) for v in value or [])
    if f.kind == "boolean":
        return "はい" if value else "いいえ"
    return str(value)


@dataclass
class StepState:
    """A plugin step at the case's current status: done (by whom, when) or still open, and who may do it."""

    step: WorkflowStep
    done_by: str | None = None
    done_at: dt.datetime | None = None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.step.after_status, self.step.after_status)
