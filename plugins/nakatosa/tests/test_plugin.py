"""The plugin as a vendor tests it: enabled for 中土佐町 only, through the public test fixtures."""

from __future__ import annotations

import plugins.nakatosa as nakatosa
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401 (fixtures)

NAKATOSA, NANKOKU = "394017", "392049"


def test_the_progress_entry_is_in_nakatosas_navigation_only(kyosei_plugin_app):  # noqa: F811
    plugin_app = kyosei_plugin_app(nakatosa, tenant_id=NAKATOSA)
    with plugin_app.client(roles=("staff", "coordinator")) as client:
        assert 'href="/meetings/progress"' in client.get("/").text
    with plugin_app.client(roles=("staff", "coordinator"), tenant_id=NANKOKU) as client:
        assert 'href="/meetings/progress"' not in client.get("/").text
