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
        assert module.PLUGIN.vendor == "acme" and module.PLUGIN.api_versions == (PLUGIN_API_VERSION,)
        assert module.PLUGIN.version == "0+unknown"  # not installed: no metadata to read the version from
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


def test_a_plugin_wheel_builds_without_the_registry_and_takes_its_version_from_pyproject(tmp_path):
    """docs/plugins.md 'Building a wheel': no network, no build isolation; the version has one source."""
    import subprocess

    folder = tmp_path / "kyosei-plugin-hanbai"
    assert CliRunner().invoke(plugin_group, ["new", "hanbai", "--directory", str(folder)]).exit_code == 0
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace('version = "0.1.0"', 'version = "2.3.4"'),
                         encoding="utf-8")
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-index", "--no-deps", "--no-build-isolation",
                            "-w", str(wheels), str(folder)], capture_output=True, text=True, timeout=180)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("kyosei_hanbai-2.3.4-*.whl")
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--target",
                                str(target), str(wheel)], capture_output=True, text=True, timeout=180)
    assert installed.returncode == 0, installed.stderr
    probe = subprocess.run([sys.executable, "-c", "import kyosei_hanbai; print(kyosei_hanbai.PLUGIN.version)"],
                           capture_output=True, text=True, timeout=60,
                           env={**__import__("os").environ, "PYTHONPATH": str(target)})
    assert probe.stdout.strip() == "2.3.4", probe.stderr
