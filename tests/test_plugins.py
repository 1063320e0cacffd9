"""The plugin platform: registration and refusal at start-up, per-tenant enablement, containment, governance."""

from __future__ import annotations

import functools
import time

import pytest
from structlog.testing import capture_logs

from core.hookspecs import PLUGIN_API_VERSION, hookimpl
from core.plugin_types import NavItem, PluginInfo
from core.plugins import build_host, operator
from core.plugins.registry import is_compatible, supported_api_versions
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)
from tests.conftest import run
from tests.db import fetch
from tests.plugin_fixtures import everything

NAKATOSA, NANKOKU, PREFECTURE = "394017", "392049", "390003"


def info(name: str, api=("1.0",), vendor="test-vendor") -> PluginInfo:
    return PluginInfo(name=name, version="0.1.0", vendor=vendor, api_versions=api, description_ja="試験")


class NavPlugin:
    """A well-behaved plugin that adds one nav entry."""

    def __init__(self, name="good_nav", label="よいプラグイン"):
        self.PLUGIN = info(name)
        self.label = label

    @hookimpl
    def kyosei_nav_entries(self, principal):
        return [NavItem(self.label, f"/plugins/{self.PLUGIN.name}/")]


class RaisingPlugin:
    PLUGIN = info("raising")

    @hookimpl
    def kyosei_nav_entries(self, tenant_id):
        raise ValueError("山田太郎さんのケースで失敗")  # a message with a name: must reach neither log nor DB


class SlowPlugin:
    PLUGIN = info("slow")

    @hookimpl
    def kyosei_nav_entries(self):
        time.sleep(3)
        return [NavItem("遅い", "/slow")]


class WrongResultPlugin:
    PLUGIN = info("wrong_result")

    @hookimpl
    def kyosei_nav_entries(self):
        return "not a list of NavItem"


class OldApiPlugin:
    PLUGIN = info("old_api", api=("0.9", "2.0"))

    @hookimpl
    def kyosei_nav_entries(self):
        return []


class UnspeccedPlugin:
    PLUGIN = info("unspecced")

    @hookimpl
    def kyosei_nav_entrys(self):  # a typo: no such hook
        return []


class WrapperPlugin:
    PLUGIN = info("wrapper")

    @hookimpl(wrapper=True)
    def kyosei_nav_entries(self):
        return (yield)


# -- start-up: what registers and what is refused --------------------------------------------------------------


def test_api_version_compatibility_rule():
    assert is_compatible(("1.0",), host="1.0")
    assert is_compatible(("1.0",), host="1.3")  # minor versions only add hooks
    assert not is_compatible(("1.1",), host="1.0")  # written for a newer host
    assert not is_compatible(("2.0",), host="1.9")
    assert not is_compatible(("0.9",), host="1.0")
    assert supported_api_versions("1.2") == "1.0–1.2"


def test_a_plugin_with_an_incompatible_api_version_is_refused_at_start_up_with_one_clear_log_line(
        kyosei_database):
    from core.app import create_app

    settings, urls = kyosei_database
    with capture_logs() as logs:
        host = build_host((), entry_points=False, extra=[OldApiPlugin(), NavPlugin()])
        create_app(settings, app_database_url=urls.app, plugin_host=host)
    refused = [e for e in logs if e["event"] == "plugin refused"]
    assert len(refused) == 1
    assert refused[0]["plugin"] == "old_api"
    assert refused[0]["declared"] == ["0.9", "2.0"]
    assert refused[0]["supported"] == f"1.0–{PLUGIN_API_VERSION}"
    assert refused[0]["log_level"] == "error"
    assert "old_api" not in host.plugins and not host.pm.has_plugin("old_api")
    assert "good_nav" in host.plugins


def test_an_implementation_without_a_hook_spec_is_refused_and_the_others_keep_working():
    with capture_logs() as logs:
        host = build_host((), entry_points=False, extra=[UnspeccedPlugin(), NavPlugin()])
    assert [r.name for r in host.refused] == ["unspecced"]
    assert "without a hook spec" in host.refused[0].reason
    assert not host.pm.has_plugin("unspecced")
    assert "good_nav" in host.plugins
    assert any(e["event"] == "plugin refused" and e["plugin"] == "unspecced" for e in logs)


def test_hook_wrappers_duplicates_and_plugins_without_info_are_refused():
    class NoInfo:
        @hookimpl
        def kyosei_roles(self):
            return []

    host = build_host((), entry_points=False,
                      extra=[WrapperPlugin(), NoInfo(), NavPlugin(), NavPlugin(label="二つ目")])
    reasons = {r.name: r.reason for r in host.refused}
    assert "hook wrappers" in reasons["wrapper"]
    assert any("PLUGIN = PluginInfo" in reason for reason in reasons.values())
    assert "already registered" in reasons["good_nav"]
    assert list(host.plugins) == ["good_nav"]


def test_start_up_hooks_cannot_be_called_per_tenant():
    host = build_host((), entry_points=False, extra=[everything])
    with pytest.raises(ValueError):
        run(host.call(NAKATOSA, "kyosei_route_handlers"))


# -- per tenant ------------------------------------------------------------------------------------------------


def test_an_enabled_plugin_works_for_its_tenant_and_is_absent_for_another(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(everything, NAKATOSA)
    with plugin_app.client(("staff",)) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert 'href="/plugins/everything/page"' in home.text
        page = client.get("/plugins/everything/page")
        assert page.status_code == 200 and "全部入りプラグインのページ" in page.text
        assert "こんにちは" in page.text  # the default setting
    with plugin_app.client(("staff", "tenant-admin"), tenant_id=NANKOKU) as client:
        home = client.get("/")
        assert home.status_code == 200 and "/plugins/everything" not in home.text
        assert client.get("/plugins/everything/page").status_code == 404


def test_tenant_settings_are_laid_over_the_plugin_defaults(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(everything, NAKATOSA, settings_values={"greeting": "おはようございます"})
    with plugin_app.client(("staff",)) as client:
        assert "おはようございます" in client.get("/plugins/everything/page").text
        settings = client.blocking_portal.call(plugin_app.host.settings_for, NAKATOSA, "everything")
    assert settings == {"greeting": "おはようございます", "limit": 3}


def test_disabling_takes_effect_at_once_and_a_change_from_elsewhere_within_the_recheck_interval(
        kyosei_plugin_app, kyosei_database):
    _, urls = kyosei_database
    plugin_app = kyosei_plugin_app(everything, NAKATOSA)
    with plugin_app.client(("staff", "tenant-admin")) as client:
        assert "/plugins/everything/page" in client.get("/").text
        response = client.post("/admin/plugins/enable", data={"plugin": "everything", "enabled": "off",
                                                              "csrf_token": client.csrf}, follow_redirects=False)
        assert response.status_code == 303
        assert "/plugins/everything/page" not in client.get("/").text
        assert client.get("/plugins/everything/page").status_code == 404
        # Another instance (here: the CLI as the owner) enables it again; the generation counter tells us.
        run(operator.set_enabled(urls.owner, NAKATOSA, "everything", True))
        plugin_app.host.recheck_seconds = 0
        assert "/plugins/everything/page" in client.get("/").text


def test_the_subset_hook_caller_is_cached_per_tenant_and_hook(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app([everything, NavPlugin()], NAKATOSA)
    host = plugin_app.host
    with plugin_app.client(("staff",)) as client:
        client.get("/")
        client.get("/")
        key = (NAKATOSA, "kyosei_nav_entries")
        assert key in host._callers
        enabled, caller = host._callers[key]
        assert enabled == frozenset({"everything", "good_nav"})
        assert {impl.plugin_name for impl in caller.get_hookimpls()} == {"everything", "good_nav"}
        assert client.blocking_portal.call(functools.partial(host.call, NANKOKU, "kyosei_roles")) == []


def test_a_plugin_version_the_prefecture_has_not_approved_cannot_be_enabled_or_run(kyosei_plugin_app, kyosei_database):
    _, urls = kyosei_database
    plugin_app = kyosei_plugin_app(everything, NAKATOSA)
    run(operator.approve(urls.owner, everything.PLUGIN, status="revoked"))
    with plugin_app.client(("staff", "tenant-admin")) as client:
        plugin_app.host.invalidate()
        assert "/plugins/everything/page" not in client.get("/").text
        page = client.post("/admin/plugins/enable", data={"plugin": "everything", "enabled": "on",
                                                          "csrf_token": client.csrf})
        assert "県の承認前のため有効にできません" in page.text
    # The prefecture's own tenant is the sandbox: an unapproved version may run there.
    with plugin_app.client(("prefecture-admin",), tenant_id=PREFECTURE) as client:
        response = client.post("/admin/plugins/enable", data={"plugin": "everything", "enabled": "on",
                                                              "csrf_token": client.csrf})
        assert response.status_code == 200
        assert "/plugins/everything/page" in client.get("/").text


# -- containment -----------------------------------------------------------------------------------------------


def test_a_plugin_that_raises_shows_an_error_badge_to_its_tenant_admin_and_the_page_still_renders(
        kyosei_plugin_app, database_urls):
    plugin_app = kyosei_plugin_app([RaisingPlugin(), NavPlugin()], NAKATOSA)
    with capture_logs() as logs, plugin_app.client(("staff", "tenant-admin")) as client:
        home = client.get("/")
    assert home.status_code == 200
    assert "よいプラグイン" in home.text  # the other plugin still answered
    assert "プラグイン ⚠ エラー1件" in home.text
    failures = [e for e in logs if e["event"] == "plugin hook failed"]
    assert failures and failures[0]["plugin"] == "raising" and failures[0]["tenant"] == NAKATOSA
    assert failures[0]["exc_type"] == "ValueError"
    assert "山田" not in repr(logs)
    stored = fetch(database_urls.owner, "SELECT * FROM plugin_error_overview()")  # owner, no tenant bound: none
    assert stored == []
    with plugin_app.client(("staff", "tenant-admin")) as client:
        admin = client.get("/admin/plugins")
        assert admin.status_code == 200
        assert "ValueError" in admin.text and "kyosei_nav_entries" in admin.text and "山田" not in admin.text
        client.post("/admin/plugins/errors/acknowledge", data={"csrf_token": client.csrf})
        # acknowledged: the badge goes away until the plugin fails again (which it does on this very render)
        assert "エラー1件" in client.get("/").text
    with plugin_app.client(("staff",)) as client:
        assert "エラー" not in client.get("/").text.split("<main")[0]  # staff see no badge
    with plugin_app.client(("staff", "tenant-admin"), tenant_id=NANKOKU) as client:
        other = client.get("/")
        assert other.status_code == 200 and "エラー" not in other.text.split("<main")[0]


def test_a_slow_plugin_times_out_and_the_page_renders(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app([SlowPlugin(), NavPlugin()], NAKATOSA, timeout=0.3)
    with capture_logs() as logs, plugin_app.client(("staff", "tenant-admin")) as client:
        started = time.monotonic()
        home = client.get("/")
        assert time.monotonic() - started < 2.5
    assert home.status_code == 200 and "よいプラグイン" in home.text and "遅い" not in home.text
    assert any(e["event"] == "plugin hook failed" and e["kind"] == "timeout" and e["plugin"] == "slow" for e in logs)


def test_a_wrong_result_is_dropped_and_reported(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app([WrongResultPlugin()], NAKATOSA)
    with plugin_app.client(("staff", "tenant-admin")) as client:
        home = client.get("/")
        assert home.status_code == 200 and "エラー1件" in home.text
        assert "不正な戻り値" in client.get("/admin/plugins").text


def test_an_exception_in_a_plugin_page_is_recorded_for_the_tenant_admin(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(everything, NAKATOSA)
    with plugin_app.client(("staff", "tenant-admin")) as client:
        response = client.get("/plugins/everything/boom")
        assert response.status_code == 500 and "個人名" not in response.text
        client.blocking_portal.call(plugin_app.host.drain)
        admin = client.get("/admin/plugins")
        assert "RuntimeError" in admin.text and "route" in admin.text


# -- governance pages ------------------------------------------------------------------------------------------


def test_only_admins_manage_plugins_and_only_the_prefecture_manages_other_tenants(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(everything, NAKATOSA)
    with plugin_app.client(("staff",)) as client:
        assert client.get("/admin/plugins").status_code == 403
        assert client.post("/admin/plugins/enable", data={"plugin": "everything", "enabled": "off",
                                                          "csrf_token": client.csrf}).status_code == 403
    with plugin_app.client(("tenant-admin",)) as client:
        assert client.get("/admin/plugins").status_code == 200
        assert client.get(f"/admin/plugins?tenant={NANKOKU}").status_code == 403
        assert client.get("/admin/plugins/catalog").status_code == 403
    with plugin_app.client(("prefecture-admin",), tenant_id=PREFECTURE) as client:
        page = client.get(f"/admin/plugins?tenant={NAKATOSA}")
        assert page.status_code == 200 and "中土佐町" in page.text and "稼働中" in page.text
        catalog = client.get("/admin/plugins/catalog")
        assert catalog.status_code == 200 and "全部入り" in catalog.text and "中土佐町（394017）" in catalog.text
        assert "承認済み" in catalog.text
        client.post("/admin/plugins/catalog/decide", data={"plugin": "everything", "version": "1.2.0",
                                                           "decision": "revoke", "csrf_token": client.csrf})
        assert "承認取消" in client.get("/admin/plugins/catalog").text
        client.post("/admin/plugins/enable", data={"plugin": "everything", "enabled": "off", "tenant": NANKOKU,
                                                    "csrf_token": client.csrf})
    with plugin_app.client(("staff",)) as client:
        assert "/plugins/everything/page" not in client.get("/").text  # revoked: runs nowhere but the sandbox


def test_the_vendor_seat_shows_own_plugins_tenants_and_errors_without_personal_data(kyosei_plugin_app, kyosei_database):
    _, urls = kyosei_database
    plugin_app = kyosei_plugin_app([everything, RaisingPlugin()], NAKATOSA)
    with plugin_app.client(("staff",)) as client:
        client.get("/")  # the raising plugin fails once for 中土佐町
    run(operator.add_vendor_user(urls.owner, "test-vendor", "vendor.kimura"))
    # Vendors log in to the sandbox organization (the prefecture's tenant) with only the vendor role.
    with plugin_app.client(("vendor",), tenant_id=PREFECTURE, username="vendor.kimura") as client:
        page = client.get("/vendor/plugins")
        assert client.get("/admin/plugins").status_code == 403
        assert client.get("/admin/plugins/catalog").status_code == 403
    assert page.status_code == 200
    assert "全部入り" in page.text and "中土佐町（394017）" in page.text
    assert "ValueError" in page.text and "山田" not in page.text
    with plugin_app.client(("vendor",), tenant_id=PREFECTURE, username="someone.else") as client:
        other = client.get("/vendor/plugins")
        assert "登録されていません" in other.text and "全部入り" not in other.text
    with plugin_app.client(("staff",)) as client:
        assert client.get("/vendor/plugins").status_code == 403
