"""Calling one plugin's implementation of a hook so that nothing it does can break the page or another tenant.

What "contained" means here:

- **exceptions**: caught per implementation; the caller gets the other plugins' results.
- **wrong results**: a result that is not what the hook's return annotation says (``list[NavItem]``) is dropped
  and counted as a failure of that plugin, so a template never meets an unexpected object.
- **timeouts**: an ``async def`` implementation is cancelled after ``timeout`` seconds (``anyio.fail_after``).
  A plain ``def`` implementation runs in a worker thread (``anyio.to_thread.run_sync``) and the caller stops
  waiting for it after ``timeout`` seconds; Python cannot kill a thread, so the abandoned call runs on to its
  end in the background and its result is thrown away. Each plugin has its own small thread limiter, so a plugin
  whose calls hang can exhaust only its own threads (its later calls then time out waiting for one) and never
  the threads other plugins or Litestar's sync handlers use.

A failure is described without personal data: plugin, hook, kind, the exception's *type* and the place in the
plugin's code (file:line in function), never the exception's message or arguments, which may hold names.
"""

from __future__ import annotations

import functools
import inspect
import traceback
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

import core.plugin_types as plugin_types
from core import hookspecs

FailureKind = Literal["exception", "timeout", "bad_result"]
THREADS_PER_PLUGIN = 4


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    version: str
    hook: str
    kind: FailureKind
    exc_type: str
    location: str


class BadResult(TypeError):
    """The implementation returned something its hook does not allow."""


def _where(exc: BaseException, plugin_file: str | None) -> str:
    """``file.py:12 in func`` of the innermost frame inside the plugin (else the innermost frame at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    chosen = frames[-1]
    if plugin_file:
        root = str(Path(plugin_file).resolve().parent)
        inside = [f for f in frames if str(Path(f.filename).resolve()).startswith(root)]
        if inside:
            chosen = inside[-1]
    return f"{Path(chosen.filename).name}:{chosen.lineno} in {chosen.name}"


# -- result checking, derived from the hookspec's return annotation -------------------------------------------

_NAMESPACE = {**vars(plugin_types), "Path": Path, "Any": Any, "Mapping": Mapping, "None": None}


@functools.cache
def result_check(hook_name: str):
    """A function that raises ``BadResult`` for a result the hook's annotation does not allow."""
    spec = getattr(hookspecs, hook_name)
    annotation = inspect.signature(spec).return_annotation
    try:
        expected = eval(annotation, dict(_NAMESPACE)) if isinstance(annotation, str) else annotation
    except Exception:  # an annotation we cannot evaluate is not checked
        return lambda result: None
    return functools.partial(_check, expected)


def _check(expected, result) -> None:
    if expected is None or expected is Any:
        return  # events: the result is ignored
    origin = typing.get_origin(expected)
    if origin in (types.UnionType, typing.Union):
        for option in typing.get_args(expected):
            try:
                _check(option, result)
                return
            except BadResult:
                continue
        raise BadResult(f"expected {expected}, got {type(result).__name__}")
    if expected is type(None):
        if result is not None:
            raise BadResult(f"expected None, got {type(result).__name__}")
        return
    if origin is list or expected is list:
        if not isinstance(result, (list, tuple)):
            raise BadResult(f"expected a list, got {type(result).__name__}")
        (item,) = typing.get_args(expected) or (Any,)
        if item is not Any:
            for element in result:
                if not isinstance(element, item):
                    raise BadResult(f"expected list items of {item.__name__}, got {type(element).__name__}")
        return
    plain = origin or expected
    if isinstance(plain, type) and not isinstance(result, plain):
        raise BadResult(f"expected {plain.__name__}, got {type(result).__name__}")


# -- calling ----------------------------------------------------------------------------------------------------


async def call_contained(
    impl,
    hook_name: str,
    kwargs: Mapping[str, Any],
    *,
    timeout: float,
    limiter: anyio.CapacityLimiter,
    settings: Mapping[str, Any],
    version: str,
) -> tuple[Any, PluginFailure | None]:
    """Call one implementation; return ``(result, None)`` or ``(None, failure)``. Never raises (except cancel)."""
    function = impl.function
    arguments = {name: kwargs[name] for name in impl.argnames if name in kwargs}
    plugin_file = getattr(impl.plugin, "__file__", None) or inspect.getsourcefile(function)
    token = hookspecs._settings.set(types.MappingProxyType(dict(settings)))
    try:
        with anyio.fail_after(timeout):
            if inspect.iscoroutinefunction(function):
                result = await function(**arguments)
            else:
                result = await anyio.to_thread.run_sync(
                    functools.partial(function, **arguments), abandon_on_cancel=True, limiter=limiter
                )
        result_check(hook_name)(result)
        return result, None
    except TimeoutError:
        return None, PluginFailure(impl.plugin_name, version, hook_name, "timeout", "TimeoutError",
                                   f"after {timeout:g}s")
    except BadResult as exc:
        return None, PluginFailure(impl.plugin_name, version, hook_name, "bad_result", "BadResult", str(exc)[:200])
    except Exception as exc:
        return None, PluginFailure(impl.plugin_name, version, hook_name, "exception", type(exc).__name__,
                                   _where(exc, plugin_file))
    finally:
        hookspecs._settings.reset(token)


def call_startup(impl, hook_name: str, version: str) -> tuple[Any, PluginFailure | None]:
    """Start-up hooks run once, synchronously, in create_app: exceptions and bad results are contained, no timeout
    (start-up is not a request; a plugin that hangs here hangs start-up, which the operator sees at once)."""
    plugin_file = getattr(impl.plugin, "__file__", None)
    try:
        result = impl.function(**{})
        result_check(hook_name)(result)
        return result, None
    except BadResult as exc:
        return None, PluginFailure(impl.plugin_name, version, hook_name, "bad_result", "BadResult", str(exc)[:200])
    except Exception as exc:
        return None, PluginFailure(impl.plugin_name, version, hook_name, "exception", type(exc).__name__,
                                   _where(exc, plugin_file))
