"""中土佐町's plugin through Kyosei's plugin platform: its kinds and roles reach 中土佐町 only."""

from __future__ import annotations

import plugins.nakatosa as nakatosa
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401 (fixtures)
from tests.conftest import run

NAKATOSA, NANKOKU = "394017", "392049"


def test_kinds_and_roles_for_nakatosa_only(kyosei_plugin_app):  # noqa: F811
    plugin_app = kyosei_plugin_app(nakatosa, tenant_id=NAKATOSA)
    host = plugin_app.host

    async def ask():
        return ([k.code for k in await host.call(NAKATOSA, "kyosei_meeting_kinds")],
                [r.code for r in await host.call(NAKATOSA, "kyosei_roles")],
                await host.call(NANKOKU, "kyosei_meeting_kinds"), await host.call(NANKOKU, "kyosei_roles"))

    async def attached():
        from core.database import create_engine, session_factory

        engine = create_engine(plugin_app.urls.app, pool_size=1)
        try:
            host.attach(session_factory(engine))
            return await ask()
        finally:
            await engine.dispose()

    kinds, roles, other_kinds, other_roles = run(attached())
    assert kinds == ["core_meeting", "network_meeting", "community_meeting"]
    assert roles == [f"coordinator_{x}" for x in "abcde"]
    assert other_kinds == [] and other_roles == []
