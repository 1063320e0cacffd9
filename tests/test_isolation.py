"""Isolation matrix: over every route of the app (plugin routes included), each role of tenant A, of tenant B, plugin
roles and the prefecture ask for, change and delete the *other* tenant's objects — consistent ones (a member of
that meeting, the consent of that case) named in the path, the query string and the body. Answers are 403/404 or a
refusal after the lookup, never the other tenant's data (its names, kana, case numbers, labels, ids); its rows are
unchanged and no row of the attacker now points at it. Routes come from the app's own route table, so a route
added tomorrow is covered tomorrow (with a floor, so a sweep that finds nothing cannot pass).
The same matrix catches a deliberately broken plugin route (tests/plugin_fixtures/leaky.py).
"""

from __future__ import annotations

import pytest

from tests import matrix
from tests.conftest import run
from tests.isolation import (BODIES, OBJECT_MAKERS, PREFECTURE_OWNED, detector_floor, is_tenantless, label,
                             person_kana, person_name, tenant_world)
from tests.matrix import PARAM, Attacker, Findings
from tests.sessions import login, open_session
from tests.wall import superuser_database_url

TENANT_A, TENANT_B, PREFECTURE = "394017", "392049", "390003"
CORE_ROLES = ("staff", "coordinator", "tenant-admin", "auditor", "vendor")
ALL_ROLES = ("staff", "coordinator", "tenant-admin", "auditor")
# Method+path pairs the app serves today: 244 (bundled plugins included); a sweep that finds fewer has lost part of its
# route table (lower this only when routes are removed on purpose).
MIN_ROUTES = 240


def _plugin_app(settings, database_urls, plugins):
    """The app with ``plugins`` (modules) registered beside the bundled ones and enabled for both tenants."""
    from core import app as composition
    from core.plugins import build_host, operator
    from plugins import bundled_plugin_modules

    host = build_host(bundled_plugin_modules(), entry_points=False, extra=plugins)
    for plugin in plugins:
        run(operator.approve(database_urls.owner, host.plugins[plugin.PLUGIN.name].info))
        for tenant in (TENANT_A, TENANT_B):
            run(operator.set_enabled(database_urls.owner, tenant, plugin.PLUGIN.name, True))
    return composition.create_app(settings, app_database_url=database_urls.app, plugin_host=host)


class NoOrganizations:
    """The identity directory the matrix runs with: Keycloak with no organisation in it (the matrix runs without a
    Keycloak server). Staff changes then stop at "this municipality has no organisation" (409) after the staff
    directory lookup ran; any other Keycloak call fails the request (500), which the matrix reports."""

    def find_organization(self, code: str) -> None:
        return None

    def close(self) -> None:
        pass


def _forget(database_urls, plugins):
    from core.plugins import operator

    for plugin in plugins:
        run(operator.forget(database_urls.owner, plugin.PLUGIN.name))


@pytest.fixture(scope="module")
def matrix_app(settings, database_urls):
    from tests.plugin_fixtures import isolation_probe

    app = _plugin_app(settings, database_urls, [isolation_probe])
    app.state.identity_directory = NoOrganizations()
    yield app
    _forget(database_urls, [isolation_probe])


@pytest.fixture(scope="module")
def worlds(database_urls, pg_server):
    # The prefecture's sweep posts its own forms with harmless values (PREFECTURE_OWNED), which may still change
    # the prefecture's own roadmap rows (a plan year of the non-tenant code): put them back for the tests after us.
    from tests.db import fetch

    su = superuser_database_url(pg_server.superuser_url)
    roadmap = fetch(su, "SELECT * FROM roadmap_plan")
    yield {tenant: tenant_world(database_urls, tenant) for tenant in (TENANT_A, TENANT_B)}
    fetch(su, "DELETE FROM roadmap_plan")
    for row in roadmap:
        columns = list(row.keys())
        fetch(su, f"INSERT INTO roadmap_plan ({', '.join(columns)}) VALUES "
                  f"({', '.join(f'${i + 1}' for i in range(len(columns)))})", *row.values())


def _plugin_roles(client, app, tenant: str) -> tuple[str, ...]:
    roles = client.blocking_portal.call(app.state.plugins.call, tenant, "kyosei_roles")
    return tuple(sorted({r.code for r in roles}))


def attackers(plugin_roles: tuple[str, ...]) -> list[Attacker]:
    found = [Attacker(f"{TENANT_A} {role}", TENANT_A, (role,), TENANT_B) for role in CORE_ROLES]
    found.append(Attacker(f"{TENANT_A} all roles", TENANT_A, ALL_ROLES, TENANT_B))
    if plugin_roles:
        found.append(Attacker(f"{TENANT_A} plugin roles", TENANT_A, plugin_roles, TENANT_B))
    found += [Attacker(f"{TENANT_B} {role}", TENANT_B, (role,), TENANT_A) for role in CORE_ROLES]
    found.append(Attacker(f"{TENANT_B} all roles", TENANT_B, ALL_ROLES, TENANT_A))
    found.append(Attacker(f"{PREFECTURE} prefecture-admin", PREFECTURE, ("prefecture-admin", "staff"), TENANT_B))
    return found


def run_matrix(app, client, database_urls, pg_server, worlds, attackers_, routes) -> Findings:
    su = superuser_database_url(pg_server.superuser_url)
    findings = Findings(routes=len(routes))
    rows: dict[str, dict] = {}  # each tenant's rows as last read: one attacker's "after" is the next one's "before"
    markers: dict[str, set[str]] = {}  # the foreign tenant's own values change only if something leaked in

    def current(tenant: str) -> dict:
        if tenant not in rows:
            rows[tenant] = run(matrix.tenant_rows(su, tenant))
        return rows[tenant]

    spy = matrix.LookupSpy(app)
    try:
        for attacker in attackers_:
            foreign = dict(worlds[attacker.foreign])
            own = worlds.get(attacker.tenant_id, {})
            if attacker.tenant_id == PREFECTURE:
                foreign.update(PREFECTURE_OWNED)
            before, own_before = current(attacker.foreign), current(attacker.tenant_id)
            if attacker.foreign not in markers:
                markers[attacker.foreign] = run(matrix.foreign_markers(su, attacker.foreign))
                # the detector knows the other tenant's person (name, kana) and labels, not just its ids
                expected = {person_name(attacker.foreign), person_kana(attacker.foreign), label(attacker.foreign, "拠点")}
                assert expected <= markers[attacker.foreign], expected - markers[attacker.foreign]
                floor = detector_floor(attacker.foreign, worlds[attacker.foreign])
                assert floor <= markers[attacker.foreign], floor - markers[attacker.foreign]
            session = login(client, open_session(database_urls, attacker.tenant_id, attacker.roles))
            matrix.sweep(client, spy, attacker, session.csrf, routes, own, foreign, markers[attacker.foreign], BODIES,
                         findings, own_paths=attacker.roles == ALL_ROLES and attacker.tenant_id == TENANT_A,
                         not_foreign=set(PREFECTURE_OWNED) if attacker.tenant_id == PREFECTURE else set())
            rows.clear()
            after, own_after = current(attacker.foreign), current(attacker.tenant_id)
            changed = sorted(t for t, d in matrix.digest(after).items() if matrix.digest(before).get(t) != d)
            if changed:
                findings.add(f"{attacker.label}: the other tenant's rows changed in {changed}")
            for line in matrix.cross_references(own_before, own_after, after):
                findings.add(f"{attacker.label}: a new row of its own points at the other tenant: {line}")
    finally:
        spy.close()
    return findings


def test_every_route_parameter_has_a_maker(matrix_app):
    missing = sorted({f"{path} {{{name}}}" for _, path in matrix.routes_of(matrix_app, is_tenantless)
                      for name in PARAM.findall(path) if name not in OBJECT_MAKERS})
    assert missing == [], "register these with @object_maker in tests/isolation.py (see its docstring)"


def test_the_matrix_finds_the_whole_route_table(matrix_app):
    routes = matrix.routes_of(matrix_app, is_tenantless)
    assert len(routes) >= MIN_ROUTES
    assert ("GET", "/plugins/isolation_probe/cases/{case_id:uuid}") in routes


def test_no_role_of_either_tenant_nor_the_prefecture_reaches_the_other_tenant(
        matrix_app, database_urls, pg_server, worlds):
    from litestar.testing import TestClient

    routes = matrix.routes_of(matrix_app, is_tenantless)
    assert len(routes) >= MIN_ROUTES
    with TestClient(app=matrix_app) as client:
        who = attackers(_plugin_roles(client, matrix_app, TENANT_A))
        findings, seconds = matrix.timed(run_matrix, matrix_app, client, database_urls, pg_server, worlds, who, routes)
    print(f"\nisolation matrix: {len(routes)} routes × {len(who)} principals × id placements "
          f"(path, query, body; own path + foreign query/body for {TENANT_A}'s all-roles user) = "
          f"{findings.requests} requests in {seconds:.1f} s")
    assert findings.problems == []


def test_the_matrix_catches_a_route_that_looks_past_the_wall(settings, database_urls, pg_server, worlds):
    """A test-only app with a broken plugin route (it finds a case in whichever tenant has it): the same matrix
    reports the wrong status, the leaked case number/summary/household label and the change to B's rows."""
    from litestar.testing import TestClient

    from tests.plugin_fixtures import leaky

    app = _plugin_app(settings, database_urls, [leaky])
    try:
        routes = [r for r in matrix.routes_of(app, is_tenantless) if r[1].startswith("/plugins/leaky/")]
        assert len(routes) == 4
        with TestClient(app=app) as client:
            findings = run_matrix(app, client, database_urls, pg_server, worlds,
                                  [Attacker(f"{TENANT_A} staff", TENANT_A, ("staff",), TENANT_B)], routes)
    finally:
        _forget(database_urls, [leaky])
    page, note = "GET /plugins/leaky/cases/{case_id:uuid} [path]", "POST /plugins/leaky/cases/{case_id:uuid}/note [path]"
    found = "\n".join(findings.problems)
    assert f"{page} -> 200 for the other tenant's object" in found
    assert f"{note} -> 200 for the other tenant's object" in found
    assert f"{page} shows the other tenant's" in found and "隔離392049" in found
    assert "the other tenant's rows changed in ['support_case']" in found
    assert ("POST /plugins/leaky/cases/{case_id:uuid}/checked [path] -> 400 before the foreign id reached the "
            "database; add a valid body (or query)") in found
    assert ("POST /plugins/leaky/cases/{case_id:uuid}/reviewed [path] -> 422 for the other tenant's object but 404 "
            "for an id that names nothing") in found


def test_the_matrix_catches_a_form_that_saves_a_link_to_the_other_tenant(
        settings, database_urls, pg_server, worlds, monkeypatch):
    """The community activity form's links (きっかけの拠点・事業, 元になった活動) are looked up through the wall before
    saving. With that lookup gone, the same matrix names the route (the tenant-scoped foreign keys then refuse the
    row: a 500 instead of the form's refusal). Without a valid body in BODIES it never got that far (422)."""
    from litestar.testing import TestClient

    from core.programs import service
    from tests.db import fetch

    async def no_lookup(session, values):
        return None

    monkeypatch.setattr(service, "_check_links", no_lookup)
    app = _plugin_app(settings, database_urls, [])
    route = ("POST", "/community/activities")
    assert route in matrix.routes_of(app, is_tenantless)
    try:
        with TestClient(app=app) as client:
            findings = run_matrix(app, client, database_urls, pg_server, worlds,
                                  [Attacker(f"{TENANT_A} all roles", TENANT_A, ALL_ROLES, TENANT_B)], [route])
    finally:
        fetch(superuser_database_url(pg_server.superuser_url),
              "DELETE FROM community_activity WHERE name = '越境テストの活動'")
    assert any(p.startswith(f"{TENANT_A} all roles: POST /community/activities") for p in findings.problems), \
        findings.problems


def test_a_pooled_connection_carries_no_tenant_after_a_request(app, client, database_urls):
    """set_config(..., true) is transaction-local: once a tenant's transaction ends, the connection forgets it."""
    from sqlalchemy import text

    from core.tenancy.context import tenant_scope

    login(client, open_session(database_urls, TENANT_A))
    assert client.get("/").status_code == 200

    async def use_then_inspect_the_pool():
        with tenant_scope(TENANT_A):
            async with app.state.sessions() as session, session.begin():
                inside = (await session.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
        # Check out every connection the pool holds at once (plain connections: no tenant hook runs).
        engine = app.state.engine
        connections = [await engine.connect() for _ in range(engine.pool.checkedin() or 1)]
        try:
            return inside, [
                (await c.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar() for c in connections
            ]
        finally:
            for c in connections:
                await c.close()

    inside, pooled = client.blocking_portal.call(use_then_inspect_the_pool)
    assert inside == TENANT_A
    assert pooled and all(value in (None, "") for value in pooled)
