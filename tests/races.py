"""Two requests at the same moment: the second checks while the first has inserted and not yet committed — the
window a double click or a script hits in a check-then-insert. What the database then does is what the user gets."""

from __future__ import annotations

import asyncio

from infra.database.provision import DatabaseUrls


def two_at_once(urls: DatabaseUrls, tenant_id: str, actor: str, act) -> list[str]:
    """Run ``await act(session)`` in two transactions of ``tenant_id`` as the app role, the second one starting
    while the first holds its insert uncommitted. Returns each one's outcome, sorted: "done", or the SQLSTATE of
    the database's refusal."""
    from sqlalchemy.exc import DBAPIError

    from core.audit.trail import bind_actor
    from core.database import create_engine, session_factory
    from core.tenancy.context import tenant_scope
    from tests.conftest import run

    async def both():
        engine = create_engine(urls.app, pool_size=2)
        first_inserted, outcomes = asyncio.Event(), []

        async def one(first: bool):
            with tenant_scope(tenant_id):
                bind_actor(actor)
                try:
                    async with session_factory(engine)() as session, session.begin():
                        if not first:
                            await first_inserted.wait()
                        await act(session)
                        if first:
                            first_inserted.set()
                            await asyncio.sleep(0.5)  # hold the transaction while the other one checks and inserts
                    outcomes.append("done")
                except DBAPIError as exc:
                    first_inserted.set()
                    outcomes.append(getattr(exc.orig, "sqlstate", None) or type(exc.orig).__name__)

        try:
            await asyncio.gather(one(True), one(False))
        finally:
            await engine.dispose()
        return sorted(outcomes)

    return run(both())
