"""The tenant of the current unit of work, held in a context variable.

It is bound from the authenticated session (never from a URL or form field) and read by the database layer at
the start of every transaction. Unbound means "no tenant": row-level security then shows nothing.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from collections.abc import Iterator

_tenant: ContextVar[str | None] = ContextVar("kyosei_tenant_id", default=None)


def current_tenant_id() -> str | None:
    return _tenant.get()


@contextlib.contextmanager
def tenant_scope(tenant_id: str | None) -> Iterator[None]:
    token = _tenant.set(tenant_id)
    try:
        yield
    finally:
        _tenant.reset(token)


def bind_tenant(tenant_id: str | None) -> None:
    """Bind for the rest of the current task (a request); the request's context is discarded afterwards."""
    _tenant.set(tenant_id)
