"""``PluginHost``: the one plugin manager of an app (``app.state.plugins``), and the only way to call a hook.

Start-up (``create_app``): every installed plugin is registered once in a pluggy ``PluginManager``; a plugin with
an incompatible API version, a broken ``PLUGIN``, a duplicate name, a hook wrapper or an implementation without a
spec (``check_pending``) is refused with one log line (event ``plugin refused``) and the others load.

Per tenant: ``await host.call(tenant_id, hook, **kwargs)`` reaches only the plugins that tenant enabled and whose
installed version the prefecture approved, through ``pm.subset_hook_caller(hook, remove_plugins=...)`` cached per
(tenant, hook). Each implementation is called on its own, contained (``core.plugins.containment``).

Cache freshness across instances: enablement and approvals live in PostgreSQL. Each process caches them per
tenant and, at most every ``recheck_seconds`` (2 s), reads the one-row ``plugin_generation`` counter that a
trigger bumps on every change; a new number drops every cache. Changes made in this process drop the caches at
once (``invalidate``). So another instance sees an enable/disable within about 2 s, for the price of one
primary-key read per process every 2 s, not one per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pluggy
import structlog
from sqlalchemy import text

from core import hookspecs
from core.plugin_types import PluginInfo
from core.plugins import containment, registry
from core.plugins.containment import PluginFailure
from core.tenancy.context import tenant_scope

log = structlog.get_logger("kyosei.plugins")

# Hooks called once at start-up for every installed plugin, never per tenant.
STARTUP_HOOKS = ("kyosei_route_handlers", "kyosei_template_dirs", "kyosei_plugin_settings_defaults")
URL_PREFIX = "/plugins"
# The prefecture's own tenant doubles as the sandbox where a version may run before it is approved (service.py).
SANDBOX_TENANT = "390003"


@dataclass(frozen=True)
class LoadedPlugin:
    info: PluginInfo
    obj: Any
    source: str


@dataclass(frozen=True)
class Refusal:
    name: str
    source: str
    reason: str


@dataclass(frozen=True)
class TenantPlugins:
    """What one tenant runs: enabled-and-approved plugin names and each one's stored settings."""

    enabled: frozenset[str]
    settings: Mapping[str, Mapping[str, Any]]
    rows: Mapping[str, bool] = field(default_factory=dict)  # every stored row: name -> enabled flag


class PluginHost:
    def __init__(self, *, timeout: float = 2.0, recheck_seconds: float = 2.0):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.timeout = timeout
        self.recheck_seconds = recheck_seconds
        self.plugins: dict[str, LoadedPlugin] = {}
        self.refused: list[Refusal] = []
        self.defaults: dict[str, dict] = {}
        self.startup_failures: list[PluginFailure] = []
        # Set by the composition root: ui.page.page_context, for plugin pages that want the site's shell.
        self.page_context: Callable[..., Any] | None = None
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        self.sessions = None  # the app role's async_sessionmaker, set by attach() in the app's lifespan
        self._tenants: dict[str, TenantPlugins] = {}
        self._callers: dict[tuple[str, str], tuple[frozenset[str], pluggy.HookCaller]] = {}
        self._generation: int | None = None
        self._checked_at = 0.0
        self._pending: set[asyncio.Task] = set()

    # -- start-up ------------------------------------------------------------------------------------------------

    def load(self, candidates: Iterable[registry.Candidate]) -> None:
        for candidate in candidates:
            self.register(candidate)
        for hook in ("kyosei_plugin_settings_defaults",):
            for name, result in self._startup(hook):
                self.defaults[name] = dict(result or {})

    def register(self, candidate: registry.Candidate) -> bool:
        info = candidate.info
        name = getattr(info, "name", None) or candidate.entry_name or repr(candidate.obj)
        if candidate.load_error:
            return self._refuse(name, candidate.source, candidate.load_error)
        problem = registry.info_problem(info)
        if problem:
            return self._refuse(name, candidate.source, problem)
        if not registry.is_compatible(info.api_versions):
            log.error("plugin refused", plugin=info.name, version=info.version, source=candidate.source,
                      declared=list(info.api_versions), supported=registry.supported_api_versions(),
                      reason="incompatible plugin API version")
            self.refused.append(Refusal(info.name, candidate.source, "incompatible plugin API version"))
            return False
        if info.name in self.plugins or self.pm.has_plugin(info.name):
            return self._refuse(info.name, candidate.source, "a plugin of the same name is already registered")
        try:
            self.pm.register(candidate.obj, name=info.name)
        except pluggy.PluginValidationError as exc:
            return self._refuse(info.name, candidate.source, f"invalid hook implementation: {exc}")
        wrappers = [impl for hook in self.pm.get_hookcallers(candidate.obj) or ()
                    for impl in hook.get_hookimpls()
                    if impl.plugin_name == info.name and (impl.hookwrapper or impl.wrapper)]
        if wrappers:
            self.pm.unregister(candidate.obj)
            return self._refuse(info.name, candidate.source, "hook wrappers are not part of the plugin API")
        try:
            self.pm.check_pending()  # an implementation whose hook has no spec (a typo, or a newer API)
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(candidate.obj)
            return self._refuse(info.name, candidate.source, f"implementation without a hook spec: {exc}")
        self.plugins[info.name] = LoadedPlugin(info, candidate.obj, candidate.source)
        log.info("plugin registered", plugin=info.name, version=info.version, source=candidate.source)
        return True

    def _refuse(self, name: str, source: str, reason: str) -> bool:
        log.error("plugin refused", plugin=name, source=source, reason=reason,
                  supported=registry.supported_api_versions())
        self.refused.append(Refusal(name, source, reason))
        return False

    def _startup(self, hook_name: str) -> list[tuple[str, Any]]:
        """(plugin, result) for a start-up hook over every registered plugin; failures logged and skipped."""
        results = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            version = self.plugins[impl.plugin_name].info.version
            result, failure = containment.call_startup(impl, hook_name, version)
            if failure:
                self.startup_failures.append(failure)
                log.error("plugin hook failed", plugin=failure.plugin, version=version, hook=hook_name,
                          kind=failure.kind, exc_type=failure.exc_type, location=failure.location, tenant=None)
                continue
            results.append((impl.plugin_name, result))
        return results

    def template_dirs(self) -> list[Path]:
        return [Path(p) for _, result in self._startup("kyosei_template_dirs") for p in result]

    def route_handlers(self, exception_handler: Callable | None = None) -> list:
        """One Router per plugin under ``/plugins/<name>``, answering only for tenants that enabled it.

        ``exception_handler`` (the app's handler for unexpected exceptions) renders the error page after the
        failure has been recorded for the tenant's admin.
        """
        from litestar import Router

        routers = []
        for name, handlers in self._startup("kyosei_route_handlers"):
            if not handlers:
                continue
            routers.append(Router(
                path=f"{URL_PREFIX}/{name}",
                route_handlers=list(handlers),
                guards=[self._enabled_guard(name)],
                exception_handlers={Exception: self._route_error_handler(name, exception_handler)},
                include_in_schema=False,
            ))
        return routers

    def _enabled_guard(self, name: str):
        from litestar.exceptions import NotFoundException

        async def plugin_enabled_for_tenant(connection, _handler) -> None:
            principal = connection.scope.get("user")
            tenant_id = getattr(principal, "tenant_id", None)
            if tenant_id is None or name not in await self.enabled_plugins(tenant_id):
                raise NotFoundException()

        return plugin_enabled_for_tenant

    def _route_error_handler(self, name: str, fallback: Callable | None):
        def handle(request, exc: Exception):
            principal = request.scope.get("user")
            tenant_id = getattr(principal, "tenant_id", None)
            failure = PluginFailure(name, self.plugins[name].info.version, "route", "exception",
                                    type(exc).__name__, containment._where(exc, getattr(self.plugins[name].obj,
                                                                                        "__file__", None)))
            self._schedule(self.record_failure(tenant_id, failure))
            if fallback is not None:
                return fallback(request, exc)
            from litestar import Response

            return Response("plugin error", status_code=500)

        return handle

    def _schedule(self, coro) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # -- database-backed state ------------------------------------------------------------------------------------

    def attach(self, sessions) -> None:
        """Give the host the app role's session factory (done in the app's lifespan)."""
        self.sessions = sessions
        self.invalidate()

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget cached enablement (one tenant, or all); the next call reads the database again."""
        if tenant_id is None:
            self._tenants.clear()
            self._callers.clear()
        else:
            self._tenants.pop(tenant_id, None)
            for key in [k for k in self._callers if k[0] == tenant_id]:
                del self._callers[key]
        self._checked_at = 0.0

    async def _check_generation(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.recheck_seconds:
            return
        async with self.sessions() as session:
            generation = (await session.execute(text("SELECT generation FROM plugin_generation WHERE id = 1"))).scalar()
        self._checked_at = now
        if generation != self._generation:
            self._generation = generation
            self._tenants.clear()
            self._callers.clear()

    async def tenant_plugins(self, tenant_id: str) -> TenantPlugins:
        if not self.plugins or self.sessions is None:
            return TenantPlugins(frozenset(), {})
        await self._check_generation()
        cached = self._tenants.get(tenant_id)
        if cached is not None:
            return cached
        with tenant_scope(tenant_id):
            async with self.sessions() as session, session.begin():
                rows = (await session.execute(
                    text("SELECT plugin_name, enabled, settings FROM tenant_plugin")
                )).all()
                approved = {(r.name, r.version) for r in (await session.execute(
                    text("SELECT name, version FROM plugin_version WHERE status = 'approved'")
                )).all()}
        enabled = frozenset(
            r.plugin_name for r in rows
            if r.enabled and r.plugin_name in self.plugins
            and ((r.plugin_name, self.plugins[r.plugin_name].info.version) in approved or tenant_id == SANDBOX_TENANT)
        )
        state = TenantPlugins(enabled, {r.plugin_name: dict(r.settings or {}) for r in rows},
                              {r.plugin_name: r.enabled for r in rows})
        self._tenants[tenant_id] = state
        return state

    async def enabled_plugins(self, tenant_id: str) -> frozenset[str]:
        """Names of the plugins that run for ``tenant_id``. Fails closed: a database error means none."""
        try:
            return (await self.tenant_plugins(tenant_id)).enabled
        except Exception as exc:
            log.warning("plugin enablement unavailable", tenant=tenant_id, exc_type=type(exc).__name__)
            return frozenset()

    async def settings_for(self, tenant_id: str, plugin: str) -> dict:
        """The plugin's settings for a tenant: its defaults with the tenant's stored values laid over them."""
        stored = (await self.tenant_plugins(tenant_id)).settings.get(plugin, {})
        return {**self.defaults.get(plugin, {}), **stored}

    # -- calling hooks --------------------------------------------------------------------------------------------

    async def _caller(self, tenant_id: str, hook_name: str) -> pluggy.HookCaller | None:
        if hook_name in STARTUP_HOOKS:
            raise ValueError(f"{hook_name} is a start-up hook; it is not called per tenant")
        getattr(self.pm.hook, hook_name)  # AttributeError for a hook that does not exist
        enabled = await self.enabled_plugins(tenant_id)
        if not enabled:
            return None
        cached = self._callers.get((tenant_id, hook_name))
        if cached is not None and cached[0] == enabled:
            return cached[1]
        removed = [p.obj for n, p in self.plugins.items() if n not in enabled]
        caller = self.pm.subset_hook_caller(hook_name, remove_plugins=removed)
        self._callers[(tenant_id, hook_name)] = (enabled, caller)
        return caller

    def _limiter(self, name: str) -> anyio.CapacityLimiter:
        # Created on first use, inside the running event loop.
        if name not in self._limiters:
            self._limiters[name] = anyio.CapacityLimiter(containment.THREADS_PER_PLUGIN)
        return self._limiters[name]

    async def call_each(self, tenant_id: str, hook_name: str, /, *, firstresult: bool = False,
                        **kwargs: Any) -> list[tuple[str, Any]]:
        """``(plugin name, result)`` of each of the tenant's plugins that answered, in pluggy's call order."""
        caller = await self._caller(tenant_id, hook_name)
        if caller is None:
            return []
        spec_args = caller.spec.argnames if caller.spec else ()
        if "tenant_id" in spec_args:
            kwargs["tenant_id"] = tenant_id
        missing = [a for a in spec_args if a not in kwargs]
        if missing:
            raise TypeError(f"{hook_name} needs the arguments {missing}")
        results = []
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last registered first
            settings = await self.settings_for(tenant_id, impl.plugin_name)
            result, failure = await containment.call_contained(
                impl, hook_name, kwargs, timeout=self.timeout, limiter=self._limiter(impl.plugin_name),
                settings=settings, version=self.plugins[impl.plugin_name].info.version,
            )
            if failure is not None:
                await self.record_failure(tenant_id, failure)
                continue
            if result is None:
                continue
            results.append((impl.plugin_name, result))
            if firstresult:
                break
        return results

    async def call(self, tenant_id: str, hook_name: str, /, **kwargs: Any) -> list:
        """Call a hook for one tenant: list results are concatenated, other results listed, ``None`` skipped."""
        flat: list = []
        for _, result in await self.call_each(tenant_id, hook_name, **kwargs):
            if isinstance(result, (list, tuple)):
                flat.extend(result)
            else:
                flat.append(result)
        return flat

    async def call_first(self, tenant_id: str, hook_name: str, /, **kwargs: Any) -> Any | None:
        """The first non-``None`` result (for ``firstresult`` hooks such as ``kyosei_check_eligibility``)."""
        results = await self.call_each(tenant_id, hook_name, firstresult=True, **kwargs)
        return results[0][1] if results else None

    # -- failures -------------------------------------------------------------------------------------------------

    async def record_failure(self, tenant_id: str | None, failure: PluginFailure) -> None:
        """Log a contained failure and keep it for the tenant's admin (never raises)."""
        log.error("plugin hook failed", plugin=failure.plugin, version=failure.version, hook=failure.hook,
                  tenant=tenant_id, kind=failure.kind, exc_type=failure.exc_type, location=failure.location)
        if tenant_id is None or self.sessions is None:
            return
        try:
            with tenant_scope(tenant_id):
                async with self.sessions() as session, session.begin():
                    await session.execute(text(
                        """
                        INSERT INTO plugin_error (tenant_id, id, plugin_name, plugin_version, hook, kind, exc_type,
                                                  location)
                        VALUES (:tenant, gen_random_uuid(), :plugin, :version, :hook, :kind, :exc_type, :location)
                        ON CONFLICT (tenant_id, plugin_name, plugin_version, hook, kind, exc_type, location)
                        DO UPDATE SET occurrences = plugin_error.occurrences + 1, last_at = now(),
                                      acknowledged_at = NULL
                        """
                    ), {"tenant": tenant_id, "plugin": failure.plugin, "version": failure.version,
                        "hook": failure.hook, "kind": failure.kind, "exc_type": failure.exc_type[:120],
                        "location": failure.location[:300]})
        except Exception as exc:  # the report is best effort; the page must still render
            log.warning("plugin failure not recorded", plugin=failure.plugin, tenant=tenant_id,
                        exc_type=type(exc).__name__)

    async def open_error_count(self, tenant_id: str) -> int:
        """Distinct failures of the tenant's plugins not yet acknowledged by its admin (the badge)."""
        if not self.plugins or self.sessions is None:
            return 0
        try:
            with tenant_scope(tenant_id):
                async with self.sessions() as session, session.begin():
                    return int((await session.execute(
                        text("SELECT count(*) FROM plugin_error WHERE acknowledged_at IS NULL")
                    )).scalar() or 0)
        except Exception as exc:
            log.warning("plugin error count unavailable", tenant=tenant_id, exc_type=type(exc).__name__)
            return 0

    async def drain(self) -> None:
        """Wait for failure reports scheduled from sync exception handlers (tests and shutdown)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


def build_host(bundled_modules: Iterable[str] = (), *, entry_points: bool = True,
               extra: Iterable[Any] = (), timeout: float = 2.0) -> PluginHost:
    """Discover and register every installed plugin: entry points, then bundled packages, then ``extra``
    (plugin modules or objects, for tests and the pytest fixture)."""
    host = PluginHost(timeout=timeout)
    candidates = []
    if entry_points:
        candidates += registry.entry_point_candidates()
    candidates += registry.import_candidates(list(bundled_modules))
    candidates += [registry.candidate_from_module(obj, "extra") for obj in extra]
    host.load(candidates)
    return host
