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
