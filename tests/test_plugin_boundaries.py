"""Plugins import nothing from Kyosei but the public plugin API (core.hookspecs, core.plugin_types, core.plugin_data).

The check reads sources without importing them (core/plugins/boundaries.py, also ``kyosei plugin check PATH``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from core.plugins.boundaries import PUBLIC_MODULES, forbidden_imports

ROOT = Path(__file__).resolve().parent.parent
# Test plugins that reach into internals on purpose: they play a plugin that ignores the public API, so the
# isolation suite can show the database wall holds against it (tests/test_isolation.py, docs/isolation.md).
HOSTILE_FIXTURES = {"isolation_probe.py", "leaky.py"}
SHIPPED = [
    (ROOT / "plugins" / "nakatosa", "plugins.nakatosa"),
    (ROOT / "plugins" / "nankoku", "plugins.nankoku"),
    (ROOT / "tests" / "vendor_plugin_example", None),
    *((path, "tests.plugin_fixtures") for path in sorted((ROOT / "tests" / "plugin_fixtures").glob("*.py"))
      if path.name not in HOSTILE_FIXTURES),
]


# Test plugins of the isolation matrix (issue 21) that go past the public API on purpose: they read cases through
# the ORM (isolation_probe) or leave their tenant (leaky) so the matrix proves the database wall holds even for a
# plugin that ignores the rules. They are never shipped; the check must still see each of them.
DELIBERATE_RULE_BREAKERS = {"isolation_probe.py", "leaky.py"}


@pytest.mark.parametrize(("root", "own"), SHIPPED, ids=[str(r.relative_to(ROOT)) for r, _ in SHIPPED])
def test_every_shipped_plugin_imports_only_the_public_api(root, own):
    found = forbidden_imports(root, own)
    assert [str(v) for v in found if v.path.name not in DELIBERATE_RULE_BREAKERS] == []
    if root.name == "plugin_fixtures":
        assert {v.path.name for v in found} == DELIBERATE_RULE_BREAKERS  # caught, each of them


def test_the_bundled_plugin_folders_are_all_checked():
    bundled = {p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists()}
    assert bundled == {r.name for r, _ in SHIPPED if r.parent.name == "plugins"}


def _plugin_package(tmp_path: Path, name: str, *lines: str) -> Path:
    """A one-file plugin package ``name`` whose __init__.py is ``lines``."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return package


def test_a_plugin_that_reaches_into_the_cases_domain_is_caught(tmp_path):
    package = _plugin_package(tmp_path, "kyosei_peek", "from core.hookspecs import hookimpl",
                              "from core.plugin_data import case_data", "from core.cases.service import visible_clause",
                              "from core import audit", "import core.cases.models as m")
    found = forbidden_imports(package)
    assert [(v.line, v.module) for v in found] == [(3, "core.cases.service"), (4, "core.audit"), (5, "core.cases.models")]
    assert "core.plugin_data" in PUBLIC_MODULES and "docs/plugins.md" in str(found[0])


def test_test_code_may_use_the_test_helpers_but_plugin_code_may_not(tmp_path):
    (tmp_path / "kyosei_x").mkdir()
    (tmp_path / "kyosei_x" / "__init__.py").write_text("from core.plugins.testing import kyosei_data\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("from core.plugins.testing import kyosei_data\n", encoding="utf-8")
    assert [v.path.name for v in forbidden_imports(tmp_path)] == ["__init__.py"]


def test_the_cli_check_fails_with_the_offending_line_and_passes_a_clean_plugin(tmp_path):
    from core.plugins.commands import plugin_group

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "__init__.py").write_text("from core.plugin_types import NavItem\n", encoding="utf-8")
    result = CliRunner().invoke(plugin_group, ["check", str(clean)])
    assert result.exit_code == 0 and "公開APIのみ" in result.output

    (clean / "bad.py").write_text("from core.cases import service\n", encoding="utf-8")
    result = CliRunner().invoke(plugin_group, ["check", str(clean)])
    assert result.exit_code == 1 and "bad.py:1: imports core.cases;" in result.output


def test_a_plugin_that_reaches_past_a_public_import_by_attribute_is_caught(tmp_path):
    """``import core.plugin_data`` binds ``core``: the internals are then one attribute away, with no import line."""
    package = _plugin_package(tmp_path, "kyosei_detour", "import core.plugin_data", "import core.hookspecs as api",
                              "hookimpl = core.hookspecs.hookimpl", "data = core.plugin_data.case_data",
                              "rule = core.cases.access.visible_clause", "marker = api.hookimpl")
    found = forbidden_imports(package)
    assert [(v.line, v.module) for v in found] == [(5, "core.cases.access.visible_clause")]
