"""What a plugin may import from Kyosei: the public plugin API and nothing else (``kyosei plugin check``).

A plugin that reaches into ``core.cases`` or ``core.audit`` works until the next release renames something, and
nothing holds it to the rules the public interface applies (who may see which case, consent, the audit trail).
This module reads a plugin's sources (without importing them) and lists every import of a Kyosei package outside
``PUBLIC_MODULES``. Test code may also use the test helpers (``TEST_MODULES``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PUBLIC_MODULES = frozenset({"core.hookspecs", "core.plugin_types", "core.plugin_data"})
TEST_MODULES = frozenset({"core.plugins.testing"})
KYOSEI_PACKAGES = frozenset({"core", "ui", "tenants", "infra", "plugins", "tests"})


@dataclass(frozen=True)
class ForbiddenImport:
    path: Path
    line: int
    module: str

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: imports {self.module}; a plugin imports only "
                f"{', '.join(sorted(PUBLIC_MODULES))} (docs/plugins.md, 'What is public')")


def _is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.name == "conftest.py" or "tests" in path.parts


def _imported(tree: ast.AST) -> Iterable[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from core import cases`` imports core.cases: check each name as a module too
            yield node.lineno, node.module
            if node.module in KYOSEI_PACKAGES:
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"


def _reached(tree: ast.AST) -> Iterable[tuple[int, str]]:
    """Dotted names reached through a Kyosei package bound by ``import``: ``import core.plugin_data`` binds
    ``core``, and ``core.cases.service.visible_clause`` then reaches a module no import line names."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in KYOSEI_PACKAGES:
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
    if not bound:
        return
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        parts, value = [], node
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in bound:
            yield node.lineno, ".".join([bound[value.id], *reversed(parts)])


def forbidden_imports(root: Path, own_package: str | None = None) -> list[ForbiddenImport]:
    """Imports of Kyosei internals in the ``.py`` files under ``root`` (a plugin package or project folder).

    ``own_package`` (e.g. ``plugins.nankoku``) is the plugin's own import path when it lives inside a Kyosei
    package (the bundled plugins), so its modules may import each other.
    """
    found = []
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    for path in files:
        allowed = PUBLIC_MODULES | (TEST_MODULES if _is_test_file(path) else frozenset())
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        reached = [(line, name) for line, name in _reached(tree)
                   if not any(name == m or name.startswith(m + ".") for m in allowed)]
        for line, module in [*_imported(tree), *reached]:
            top = module.split(".")[0]
            if top not in KYOSEI_PACKAGES or module in allowed or module in KYOSEI_PACKAGES:
                continue
            if own_package and (module == own_package or module.startswith(own_package + ".")):
                continue
            if _is_test_file(path) and top == "tests":
                continue  # a bundled plugin's tests may share Kyosei's test fixtures
            found.append(ForbiddenImport(path, line, module))
    return found
