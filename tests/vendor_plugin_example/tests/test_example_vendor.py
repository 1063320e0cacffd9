"""The vendor's own test, with Kyosei's fixture: the plugin enabled for 中土佐町 only."""

import kyosei_example_vendor
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)


def test_the_page_answers_for_the_enabling_tenant_only(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(kyosei_example_vendor, tenant_id="394017")
    with plugin_app.client(roles=("staff",)) as client:
        assert "見守り記録" in client.get("/").text
        assert client.get("/plugins/example_vendor/").status_code == 200
    with plugin_app.client(roles=("staff",), tenant_id="392049") as client:
        assert client.get("/plugins/example_vendor/").status_code == 404
