"""Plugins as seen from a domain service: through the request's unit of work (the ``AsyncSession``).

Services take a session, not a request, so the session carries the plugin host (``provide_db_session`` puts it in
``session.info``). Two ways to reach the bound tenant's enabled plugins:

- ``ask_plugins(session, hook)``: a question whose answer shapes this request (extra intake fields, extra
  workflow steps, apportionment rules). Answers are cached per unit of work, so one request asks once.
- ``emit_after_commit(session, hook, **kwargs)``: an event (case status changed, plan agreed). Hookspecs promise
  events only for changes that are committed, so they are queued here and delivered by ``deliver_events`` after
  the transaction commits; a rolled-back request delivers nothing, and neither does a rolled-back savepoint (a
  form handler's ``begin_nested()`` that refused the change).

A session without a host (the CLI, a test building its own session) asks no plugin and queues no event.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from core.tenancy.context import current_tenant_id

HOST_KEY = "plugins"
_ANSWERS_KEY = "kyosei.plugin_answers"
_EVENTS_KEY = "kyosei.plugin_events"

log = structlog.get_logger("kyosei.plugins")


def bind_host(session: AsyncSession, host: Any) -> None:
    session.info[HOST_KEY] = host


async def ask_plugins(session: AsyncSession, hook_name: str) -> list[tuple[str, Any]]:
    """``(plugin name, answer)`` of the bound tenant's plugins for a hook without arguments besides the tenant."""
    host, tenant_id = session.info.get(HOST_KEY), current_tenant_id()
    if host is None or tenant_id is None:
        return []
    answers = session.info.setdefault(_ANSWERS_KEY, {})
    key = (tenant_id, hook_name)
    if key not in answers:
        answers[key] = await host.call_each(tenant_id, hook_name)
    return answers[key]


def emit_after_commit(session: AsyncSession, hook_name: str, **kwargs: Any) -> None:
    """Queue an event hook for the bound tenant; delivered once the unit of work has committed."""
    if session.info.get(HOST_KEY) is None or current_tenant_id() is None:
        return
    savepoints = []
    transaction = session.sync_session.get_nested_transaction()
    while transaction is not None and transaction.nested:
        savepoints.append(transaction)
        transaction = transaction.parent
    session.info.setdefault(_EVENTS_KEY, []).append((current_tenant_id(), hook_name, kwargs, tuple(savepoints)))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_events(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back: the events raised inside it describe changes that no longer exist."""
    events = session.info.get(_EVENTS_KEY)
    if events and previous.nested:
        session.info[_EVENTS_KEY] = [e for e in events if not any(sp is previous for sp in e[3])]


async def deliver_events(session: AsyncSession) -> None:
    """Deliver the queued events (call only after commit). A plugin's failure is contained and recorded by the
    host; it never turns a saved change into an error for the case worker."""
    host = session.info.get(HOST_KEY)
    events = session.info.pop(_EVENTS_KEY, [])
    for tenant_id, hook_name, kwargs, _savepoints in events:
        try:
            await host.call(tenant_id, hook_name, **kwargs)
        except Exception as exc:  # call() contains plugin errors; this guards the host itself
            log.error("plugin event not delivered", hook=hook_name, exc_type=type(exc).__name__)
