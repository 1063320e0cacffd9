"""Plugins shipped with Kyosei: each sub-package (``plugins/nakatosa``, ``plugins/nankoku``, …) is one plugin with a
module-level ``PLUGIN = PluginInfo(...)`` and its ``@hookimpl`` functions (docs/plugins.md).

The composition root asks this package for the module names (nothing in ``core/`` imports ``plugins/``).
"""

from __future__ import annotations

import pkgutil


def bundled_plugin_modules() -> list[str]:
    """Importable names of the bundled plugin packages (sub-packages whose name does not start with ``_``)."""
    return sorted(
        f"{__name__}.{module.name}"
        for module in pkgutil.iter_modules(__path__)
        if module.ispkg and not module.name.startswith(("_", "test"))
    )
