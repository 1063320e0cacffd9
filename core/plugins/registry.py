"""Finding plugins and deciding whether they may load: entry points, bundled packages, API versions.

Two sources, one rule: a plugin is a module with a module-level ``PLUGIN = PluginInfo(...)``.

- Installed distributions declare an entry point in the group ``kyosei.plugins`` whose value is that module
  (``[project.entry-points."kyosei.plugins"] acme = "kyosei_acme"``).
- Bundled plugins are the packages under ``plugins/`` in this repository; the composition root passes them in
  (``plugins.bundled_plugin_modules()``), because nothing in ``core/`` imports ``plugins/``.

API compatibility: the host speaks ``PLUGIN_API_VERSION`` (``MAJOR.MINOR``). A plugin written for ``M.m`` works
on a host ``M.n`` with ``n >= m`` (minor versions only add). A plugin is accepted when at least one of its
declared ``api_versions`` is compatible; otherwise it is refused at start-up with one log line.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from core.hookspecs import PLUGIN_API_VERSION
from core.plugin_types import PluginInfo

ENTRY_POINT_GROUP = "kyosei.plugins"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class Candidate:
    """A plugin found but not yet accepted: the module (or object), where it came from, and its PLUGIN info."""

    obj: Any
    source: str  # "bundled" or "entry point <dist>"
    info: PluginInfo | None
    load_error: str | None = None
    entry_name: str = ""


def _version(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def supported_api_versions(host: str = PLUGIN_API_VERSION) -> str:
    """The range a plugin may declare, in words for the log and the catalog (``1.0–1.0``)."""
    major, minor = _version(host) or (0, 0)
    return f"{major}.0–{major}.{minor}"


def is_compatible(declared: tuple[str, ...] | list[str], host: str = PLUGIN_API_VERSION) -> bool:
    host_version = _version(host)
    for text in declared or ():
        version = _version(str(text))
        if version and host_version and version[0] == host_version[0] and version[1] <= host_version[1]:
            return True
    return False


def hook_added_in(hook: str) -> tuple[int, int] | None:
    """The API version that added ``hook`` (its ``.. versionadded::`` in core/hookspecs.py), None for no hook."""
    import core.hookspecs as hookspecs

    spec = getattr(hookspecs, hook, None)
    found = re.search(r"\.\. versionadded:: (\d+\.\d+)", getattr(spec, "__doc__", None) or "")
    return _version(found.group(1)) if found and hasattr(spec, "kyosei_spec") else None


def hooks_newer_than_declared(obj: Any, declared: tuple[str, ...] | list[str]) -> list[str]:
    """Hooks ``obj`` implements that were added after the newest API version it declares: a plugin that says it
    runs on 1.0 but implements a 1.1 hook is refused by a 1.0 host (its implementation has no spec there)."""
    versions = [v for v in (_version(str(t)) for t in declared or ()) if v]
    newest = max(versions, default=(0, 0))
    return sorted(name for name in dir(obj) if name.startswith("kyosei_") and callable(getattr(obj, name))
                  and (added := hook_added_in(name)) is not None and added > newest)


def info_problem(info: Any) -> str | None:
    """Why a ``PLUGIN`` object is unusable, or None."""
    if not isinstance(info, PluginInfo):
        return "module has no PLUGIN = PluginInfo(...)"
    if not NAME.match(info.name or ""):
        return "PLUGIN.name must be 2-40 lower-case letters, digits or _"
    if not info.version or not info.vendor:
        return "PLUGIN.version and PLUGIN.vendor are required"
    if isinstance(info.api_versions, str):
        return "PLUGIN.api_versions must be a tuple of strings, e.g. (\"1.0\",)"
    return None


def candidate_from_module(obj: Any, source: str, entry_name: str = "") -> Candidate:
    return Candidate(obj=obj, source=source, info=getattr(obj, "PLUGIN", None), entry_name=entry_name)


def entry_point_candidates() -> list[Candidate]:
    """Every plugin installed as a distribution with a ``kyosei.plugins`` entry point (import errors kept)."""
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        source = f"entry point {dist.name if dist else ep.name}"
        try:
            obj = ep.load()
        except Exception as exc:  # a broken vendor package must not stop the service
            found.append(Candidate(obj=None, source=source, info=None, entry_name=ep.name,
                                   load_error=f"{type(exc).__name__} while importing {ep.value}"))
            continue
        found.append(candidate_from_module(obj, source, ep.name))
    return found


def import_candidates(module_names: list[str], source: str = "bundled") -> list[Candidate]:
    found = []
    for name in module_names:
        try:
            module: ModuleType = importlib.import_module(name)
        except Exception as exc:
            found.append(Candidate(obj=None, source=source, info=None, entry_name=name,
                                   load_error=f"{type(exc).__name__} while importing {name}"))
            continue
        found.append(candidate_from_module(module, source, name))
    return found
