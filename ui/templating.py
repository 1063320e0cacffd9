"""Jinja set-up for every HTML page: one environment, Japanese date filters, labels, and plugin template folders.

Templates are looked up first in ``ui/templates`` and then in folders plugins add with ``add_template_directory``
(in the order added). Core templates therefore cannot be replaced by a plugin; a plugin keeps its templates under
a folder named after itself (``nakatosa/timetable.html``) and may ``{% extends "base.html" %}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, ChoiceLoader, Environment, FileSystemLoader
from jinja2.bccache import Bucket
from litestar import Request, Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from core.businesses import BUSINESS_NAMES, business_name
from core.wareki import fiscal_year_label, jdate, jdatetime, to_wareki
from ui.fragments import (case_rows, check_boxes, checkbox_tags, choice_select, csrf_field, field_error, field_invalid,
                          field_names, option_tags, status_badge, text_area, text_input)
from ui.labels import FLASH_LEVELS, ROLE_LABELS, error_text, role_names

UI_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = UI_DIR / "templates"
STATIC_DIR = UI_DIR / "static"

# Shared by every environment template_config() builds, so a folder added at plugin start-up reaches the app.
_loader = ChoiceLoader([FileSystemLoader(TEMPLATE_DIR)])


def add_template_directory(path: str | Path) -> None:
    """Let a plugin's templates be found after Kyosei's own. Adding the same folder twice is harmless."""
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise ValueError(f"template directory {folder} does not exist")
    if folder in template_directories():
        return
    _loader.loaders.append(FileSystemLoader(folder))


def template_directories() -> list[Path]:
    """Where templates are looked up, in order."""
    return [Path(p) for loader in _loader.loaders if isinstance(loader, FileSystemLoader) for p in loader.searchpath]


class _CompiledInThisProcess(BytecodeCache):
    """Compiled templates kept for the life of the process, shared by every environment ``create_environment``
    builds (they are configured alike, and only they use it). An app built a second time in one process (each test
    builds its own, the two-instance drill builds two) loads the code instead of parsing and compiling every
    template again: two thirds of what building an app costs. Jinja checks each entry against the template's
    source (``Bucket``'s checksum), so an edited template is compiled again, never served stale."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_compiled = _CompiledInThisProcess()


def create_environment() -> Environment:
    env = Environment(
        loader=_loader,
        bytecode_cache=_compiled,
        autoescape=True,  # every template, including ones built from strings
        trim_blocks=True,
        lstrip_blocks=True,
        # Compiled once and kept: no file-system check on every render (restart to see an edited template, as
        # with Python code), and no eviction (there are fewer templates than the cache could ever hold).
        auto_reload=False,
        cache_size=-1,
    )
    env.filters.update(jdate=jdate, jdatetime=jdatetime, wareki=to_wareki, fiscal_year=fiscal_year_label,
                       business_name=business_name)
    env.globals.update(business_names=BUSINESS_NAMES, role_labels=ROLE_LABELS, role_names=role_names,
                       flash_levels=FLASH_LEVELS, error_text=error_text, option_tags=option_tags,
                       checkbox_tags=checkbox_tags, status_badge=status_badge, case_rows=case_rows,
                       field_names=field_names, field_invalid=field_invalid, field_error=field_error,
                       text_input=text_input, text_area=text_area, choice_select=choice_select,
                       check_boxes=check_boxes, csrf_field=csrf_field)
    return env


def _drop_litestar_csrf_global(engine: JinjaTemplateEngine) -> None:
    # Litestar registers a global *function* csrf_token (for its own CSRFConfig, which Kyosei does not use). It
    # would shadow our context variable of the same name whenever a view leaves it out, and a function is truthy:
    # `{% if csrf_token %}` would print the function. Pages get the token as a plain string in their context.
    engine.engine.globals.pop("csrf_token", None)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """What ``Litestar(template_config=...)`` takes."""
    engine = JinjaTemplateEngine.from_environment(create_environment())
    _drop_litestar_csrf_global(engine)
    precompile(engine.engine)
    return TemplateConfig(instance=engine)


def precompile(env: Environment) -> int:
    """Compile every HTML template now, at start-up, instead of on the first request that needs it (and before
    ``gc.freeze()``, so the compiled code sits outside the collector's work); a broken template stops start-up."""
    names = [n for n in env.list_templates() if n.endswith(".html")]
    for name in names:
        env.get_template(name)
    return len(names)


def static_files_router() -> Router:
    """``/static/…`` from ui/static (kyosei.css, and vendor/htmx.min.js that the bootstrap installs from npm)."""
    return create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)


def shell_context(request: Request) -> dict[str, Any]:
    """What base.html needs that every request already carries: the principal, the CSRF token, the request id.

    Views add ``nav`` and ``flashes`` themselves.
    """
    state = request.scope.get("state") or {}
    return {
        "request": request,
        "principal": request.scope.get("user"),
        "csrf_token": state.get("csrf_token"),
        "request_id": state.get("request_id"),
    }
