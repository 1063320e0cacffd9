"""``kyosei plugin new NAME``: the smallest complete plugin project a vendor starts from.

It writes a distribution with the ``kyosei.plugins`` entry point, a package with ``PLUGIN`` and one hook
implementation (a navigation entry and the page it points to, with a template), and a test that uses Kyosei's
``kyosei_plugin_app`` fixture. ``pip install -e`` it next to Kyosei and run ``pytest``.
"""

from __future__ import annotations

from pathlib import Path

from core.hookspecs import PLUGIN_API_VERSION
from core.plugins.registry import ENTRY_POINT_GROUP, NAME


class ScaffoldError(ValueError):
    pass


PYPROJECT = '''[build-system]
requires = ["setuptools>=70"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{name}: a Kyosei plugin"
requires-python = ">=3.11"
dependencies = []  # Kyosei itself is installed in the environment the plugin runs in

[project.entry-points."{group}"]
{name} = "{package}"

[tool.setuptools.packages.find]
include = ["{package}*"]

[tool.setuptools.package-data]
"{package}" = ["templates/**/*.html"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

MODULE = '''"""{name}: a Kyosei plugin (see Kyosei's docs/plugins.md for every hook).

Import only Kyosei's public plugin API: core.hookspecs, core.plugin_types and core.plugin_data
(``kyosei plugin check .`` tells you if anything else slipped in).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from litestar import Request, get
from litestar.response import Template

from core.hookspecs import hookimpl
from core.plugin_data import case_data
from core.plugin_types import NavItem, PluginInfo

try:  # one version source: pyproject.toml, through the installed package's metadata
    __version__ = version("{dist}")
except PackageNotFoundError:  # imported from a source folder that was never installed
    __version__ = "0+unknown"

PLUGIN = PluginInfo(
    name="{name}",
    version=__version__,
    vendor="{vendor}",
    api_versions=("{api}",),
    description_ja="{name} プラグイン",
)


@get("/")
async def index(request: Request) -> Template:
    # the open cases the signed-in user may see (their own visibility, audited as reads)
    async with case_data(request) as data:
        cases = await data.open_cases(limit=20)
    context = await request.app.state.plugins.page_context(request, active="/plugins/{name}/", cases=cases)
    return Template("{name}/index.html", context=context)


@hookimpl
def kyosei_route_handlers():
    return [index]


@hookimpl
def kyosei_template_dirs():
    return [Path(__file__).parent / "templates"]


@hookimpl
def kyosei_nav_entries(tenant_id, principal):
    return [NavItem("{name}", "/plugins/{name}/")]
'''

TEMPLATE = '''{{% extends "base.html" %}}
{{% block title %}}{name}{{% endblock %}}
{{% block content %}}
<h1>{name}</h1>
<p>{{{{ principal.tenant_name }}}}で有効です。</p>
<p>担当の開いているケース: {{{{ cases.total }}}}件</p>
<ul>
{{% for case in cases.items %}}  <li>{{{{ case.case_number }}}} {{{{ case.person.name }}}}（{{{{ case.status_label }}}}）</li>
{{% endfor %}}</ul>
{{% endblock %}}
'''

TEST = '''import {package}
from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)


def test_the_page_answers_only_for_the_enabling_tenant(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app({package}, tenant_id="394017")
    with plugin_app.client(roles=("staff",)) as client:
        assert 'href="/plugins/{name}/"' in client.get("/").text
        page = client.get("/plugins/{name}/")
        assert page.status_code == 200 and "担当の開いているケース" in page.text
    with plugin_app.client(roles=("staff",), tenant_id="392049") as client:
        assert client.get("/plugins/{name}/").status_code == 404
'''


def create_plugin_project(name: str, vendor: str, folder: Path) -> Path:
    if not NAME.match(name):
        raise ScaffoldError("NAME must be 2-40 lower-case letters, digits or _ and start with a letter")
    if folder.exists() and any(folder.iterdir()):
        raise ScaffoldError(f"{folder} exists and is not empty")
    package = f"kyosei_{name}" if not name.startswith("kyosei_") else name
    values = {"name": name, "vendor": vendor, "package": package, "dist": package.replace("_", "-"),
              "group": ENTRY_POINT_GROUP, "api": PLUGIN_API_VERSION}
    files = {
        "pyproject.toml": PYPROJECT.format(**values),
        f"{package}/__init__.py": MODULE.format(**values),
        f"{package}/templates/{name}/index.html": TEMPLATE.format(**values),
        f"tests/test_{name}.py": TEST.format(**values),
        "README.md": f"# {name}\n\nA Kyosei plugin. `pip install -e .` into Kyosei's environment, then `pytest`.\n",
    }
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
