"""The plugin admin pages as a tenant admin meets them (issue 19): real HTML pages, settings as a typed form built
from what the plugin declares, and a municipality's bundled catalog installed when its plugin is enabled."""

from __future__ import annotations

from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)
from tests.plugin_fixtures import everything

NANKOKU, PREFECTURE = "392049", "390003"
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_the_plugin_pages_are_html_pages_with_a_language_and_a_title(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(everything)
    with plugin_app.client(("staff", "tenant-admin")) as client:
        page = client.get("/admin/plugins", headers=BROWSER)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<html lang="ja">' in page.text and "<title>プラグイン" in page.text
    with plugin_app.client(("prefecture-admin",), tenant_id=PREFECTURE) as client:
        catalog = client.get("/admin/plugins/catalog", headers=BROWSER)
        assert catalog.status_code == 200 and catalog.headers["content-type"].startswith("text/html")


def test_settings_are_a_form_of_the_declared_fields_typed_by_their_defaults(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(everything)  # declares {"greeting": "こんにちは", "limit": 3}
    with plugin_app.client(("staff", "tenant-admin")) as client:
        page = client.get("/admin/plugins", headers=BROWSER).text
        assert 'name="setting.greeting" value="こんにちは" type="text"' in page
        assert 'name="setting.limit" value="3" type="number"' in page
        assert 'name="settings"' not in page  # no raw JSON textarea

        saved = client.post("/admin/plugins/settings", headers=BROWSER, data={
            "csrf_token": client.csrf, "plugin": "everything", "setting.greeting": "やあ", "setting.limit": "5"})
        assert saved.status_code == 200 and "設定を保存しました" in saved.text
        assert 'name="setting.limit" value="5"' in saved.text and 'value="やあ"' in saved.text

        refused = client.post("/admin/plugins/settings", headers=BROWSER, data={
            "csrf_token": client.csrf, "plugin": "everything", "setting.greeting": "おはよう", "setting.limit": "五"})
        assert "「limit」には整数を入力してください。" in refused.text
        # nothing saved: the greeting too stays as it was
        assert 'name="setting.limit" value="5"' in refused.text and 'value="やあ"' in refused.text


def test_enabling_nankokus_plugin_installs_its_bundled_catalog(kyosei_plugin_app):
    import plugins.nankoku as nankoku

    plugin_app = kyosei_plugin_app(nankoku, NANKOKU, enable=False)
    with plugin_app.client(("staff", "tenant-admin")) as client:
        enabled = client.post("/admin/plugins/enable", headers=BROWSER,
                              data={"csrf_token": client.csrf, "plugin": "nankoku", "enabled": "on"})
        assert enabled.status_code == 200
        assert "プラグイン「南国市 活動拠点」を有効にしました。" in enabled.text
        assert "「南国市 活動拠点」の事業カタログを取り込みました" in enabled.text
        programs = client.get("/programs", headers=BROWSER).text
        assert "MORITO ROOM" in programs


def test_enabling_from_the_command_line_installs_the_catalog_too(database_urls, tmp_path):
    import subprocess

    from core.plugins import operator
    from tests.conftest import run
    from tests.db import fetch
    from tests.test_cli import KYOSEI, cli_env

    import plugins.nankoku as nankoku

    tenant = "394106"  # a tenant of its own, so no other test's catalog is counted
    fetch(database_urls.owner, "INSERT INTO tenant (tenant_id, status) VALUES ($1, 'active') ON CONFLICT DO NOTHING",
          tenant)
    run(operator.approve(database_urls.owner, nankoku.PLUGIN))
    env = cli_env(DATABASE_URL=database_urls.owner, DATABASE_APP_URL=database_urls.app, KYOSEI_DATA_DIR=str(tmp_path),
                  LOG_FORMAT="json")
    try:
        done = subprocess.run([KYOSEI, "plugins", "enable", tenant, "nankoku"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        programs = fetch(database_urls.owner, "SELECT code FROM program WHERE source = 'nankoku'", tenant=tenant)
        assert "study_support" in {p["code"] for p in programs}
    finally:
        run(operator.set_enabled(database_urls.owner, tenant, "nankoku", False))


def test_a_number_or_json_setting_postgresql_cannot_hold_is_refused_as_input(kyosei_plugin_app):
    """"nan", "1e999", [NaN] and brackets nested thousands deep all read as Python values, but jsonb holds no NaN
    or Infinity (the save failed with a server error) and the deep brackets stopped the JSON reader itself."""
    stored = {"greeting": "こんにちは", "limit": 3, "ratio": 0.5, "rules": {"a": 1}}  # shown as number and JSON fields
    plugin_app = kyosei_plugin_app(everything, settings_values=stored)
    with plugin_app.client(("staff", "tenant-admin")) as client:
        for ratio, rules in (("nan", "{}"), ("1e999", "{}"), ("-inf", "{}"), ("0.5", "[NaN]"), ("0.5", "[1e999]"),
                             ("0.5", "[" * 5_000 + "]" * 5_000)):
            answer = client.post("/admin/plugins/settings", headers=BROWSER, data={
                "csrf_token": client.csrf, "plugin": "everything", "setting.greeting": "やあ", "setting.limit": "3",
                "setting.ratio": ratio, "setting.rules": rules})
            assert answer.status_code == 200, (ratio, rules[:10], answer.status_code)
            assert "には数値を入力してください" in answer.text or "の値を読み取れません" in answer.text, (ratio, rules[:10])
            assert 'value="こんにちは"' in answer.text  # nothing saved
