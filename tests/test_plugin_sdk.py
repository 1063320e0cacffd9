"""The vendor SDK: `kyosei plugin new` writes a project whose plugin loads and works, and the CLI operates
plugins across tenants as the owner role."""

from __future__ import annotations

import importlib.util
import sys
import tomllib

from click.testing import CliRunner

from core.hookspecs import PLUGIN_API_VERSION
from core.plugins.commands import plugin_group
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)


def _load(folder, package):
    spec = importlib.util.spec_from_file_location(package, folder / package / "__init__.py",
                                                  submodule_search_locations=[str(folder / package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    spec.loader.exec_module(module)
    return module


def test_plugin_new_writes_a_project_with_the_entry_point_a_module_and_a_test(tmp_path, kyosei_plugin_app):
    folder = tmp_path / "kyosei-plugin-mimamori"
    result = CliRunner().invoke(plugin_group, ["new", "mimamori", "--vendor", "acme", "--directory", str(folder)])
    assert result.exit_code == 0, result.output
    project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["kyosei.plugins"] == {"mimamori": "kyosei_mimamori"}
    assert (folder / "tests" / "test_mimamori.py").exists()

    module = _load(folder, "kyosei_mimamori")
    try:
        assert module.PLUGIN.vendor == "acme" and module.PLUGIN.api_versions == (PLUGIN_API_VERSION,)  # the template targets this host
        plugin_app = kyosei_plugin_app(module, tenant_id="394017")
        with plugin_app.client() as client:
            assert 'href="/plugins/mimamori/"' in client.get("/").text
            page = client.get("/plugins/mimamori/")
            assert page.status_code == 200 and "中土佐町で有効です" in page.text
    finally:
        sys.modules.pop("kyosei_mimamori", None)


def test_plugin_new_refuses_a_bad_name_or_a_non_empty_folder(tmp_path):
    runner = CliRunner()
    assert runner.invoke(plugin_group, ["new", "Bad-Name", "--directory", str(tmp_path / "x")]).exit_code != 0
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x")
    assert runner.invoke(plugin_group, ["new", "ok_name", "--directory", str(tmp_path / "full")]).exit_code != 0
