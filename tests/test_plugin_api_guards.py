"""Guards that keep the plugin API honest (as datasette does): every hook is documented in docs/plugins.md with
its exact signature, and every hook has a test named after it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from core import hookspecs

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
HOOKS = sorted(name for name, fn in vars(hookspecs).items()
               if name.startswith("kyosei_") and callable(fn) and hasattr(fn, "kyosei_spec"))


def signature_text(name: str) -> str:
    """``kyosei_x(a: str, b: Principal) -> list[NavItem]`` exactly as written in core/hookspecs.py."""
    signature = inspect.signature(getattr(hookspecs, name))
    parameters = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"{name}({parameters}) -> {signature.return_annotation}"


def test_there_are_hooks():
    assert "kyosei_nav_entries" in HOOKS and len(HOOKS) >= 15


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(hook):
    assert signature_text(hook) in GUIDE.read_text(encoding="utf-8"), (
        f"docs/plugins.md must show `{signature_text(hook)}`")


def test_every_hook_has_a_versionadded_and_says_whether_first_result_wins():
    for hook in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
        assert ".. versionadded::" in doc, hook
        assert "firstresult" in doc.lower(), hook
        firstresult = getattr(hookspecs, hook).kyosei_spec.get("firstresult", False)
        assert ("**firstresult**" in doc) == firstresult, hook


def _test_function_names() -> set[str]:
    names = set()
    for path in [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("plugins/**/test_*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_every_hook_has_a_test_that_exercises_it():
    tests = _test_function_names()
    missing = [hook for hook in HOOKS if not any(t.startswith(f"test_{hook}") for t in tests)]
    assert missing == [], "write a test named test_<hook>_… that calls these hooks"


def _shipped_plugin_modules():
    """Every plugin this repository ships or documents: the bundled ones, the test fixtures (the worked example
    among them) and the vendor example."""
    import importlib
    import pkgutil
    import sys

    import plugins
    import tests.plugin_fixtures as fixtures

    found = [importlib.import_module(f"plugins.{m.name}") for m in pkgutil.iter_modules(plugins.__path__)]
    found += [importlib.import_module(f"tests.plugin_fixtures.{m.name}") for m in pkgutil.iter_modules(fixtures.__path__)]
    example = ROOT / "tests" / "vendor_plugin_example"
    sys.path.insert(0, str(example))
    try:
        found.append(importlib.import_module("kyosei_example_vendor"))
    finally:
        sys.path.remove(str(example))
    return [m for m in found if hasattr(m, "PLUGIN")]


def test_every_shipped_plugin_declares_an_api_version_that_has_its_hooks():
    """A plugin declaring ("1.0",) that implements a hook added in 1.1 says it runs on a 1.0 host, which refuses it
    (PLUGIN_API_VERSION semantics, core/plugins/registry.py)."""
    from core.plugins.registry import hooks_newer_than_declared

    modules = _shipped_plugin_modules()
    assert len(modules) >= 5
    wrong = {m.__name__: hooks_newer_than_declared(m, m.PLUGIN.api_versions) for m in modules}
    assert {name: hooks for name, hooks in wrong.items() if hooks} == {}


def test_a_plugin_declaring_an_older_api_than_its_hooks_is_caught():
    from types import SimpleNamespace

    from core.plugins.registry import hook_added_in, hooks_newer_than_declared

    assert hook_added_in("kyosei_consent_purposes") == (1, 1) and hook_added_in("kyosei_roles") == (1, 0)
    plugin = SimpleNamespace(kyosei_roles=lambda tenant_id: [], kyosei_consent_purposes=lambda tenant_id: [])
    assert hooks_newer_than_declared(plugin, ("1.0",)) == ["kyosei_consent_purposes"]
    assert hooks_newer_than_declared(plugin, ("1.0", "1.1")) == []
