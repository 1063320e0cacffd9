"""Every unsafe route refuses a signed-in browser session that sends no CSRF token, or a wrong one: the routes
come from the app's own route table (plugin routes included), so a route added tomorrow is checked tomorrow. The
refusal is the middleware's (403, "CSRF token missing or invalid."), before the handler runs. The check can fail:
a route let past the CSRF check is named.
"""

from __future__ import annotations

import re

import pytest

from core.auth import middleware
from tests.sessions import login, open_session

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
REFUSAL = "CSRF token missing or invalid."
# Unsafe method+path pairs today are 137; a check that finds far fewer has lost the route table.
MIN_UNSAFE_ROUTES = 130
PARAM = re.compile(r"\{[^}]+\}")
SOME_ID = "00000000-0000-7000-8000-00000000c5cf"


def unsafe_routes(app) -> list[tuple[str, str]]:
    return sorted({(method, route.path) for route in app.routes for method in getattr(route, "methods", ())
                   if method in UNSAFE and not route.path.startswith(middleware.CSRF_EXEMPT)})


def unguarded(client, routes, token: str | None) -> list[str]:
    """The routes that did not answer the CSRF refusal to a request carrying ``token`` (None: no token at all)."""
    found = []
    for method, path in routes:
        url = PARAM.sub(lambda m: "2029" if m.group().endswith(":int}") else SOME_ID, path)
        if path.startswith("/api/"):
            headers = {"X-CSRF-Token": token} if token is not None else {}
            response = client.request(method, url, json={}, headers=headers, follow_redirects=False)
        else:
            data = {"csrf_token": token} if token is not None else {"name": "試験"}
            response = client.request(method, url, data=data, follow_redirects=False)
        if response.status_code != 403 or REFUSAL not in response.text:
            found.append(f"{method} {path} -> {response.status_code}")
    return found


@pytest.fixture()
def signed_in(client, database_urls):
    login(client, open_session(database_urls, "394017", ("staff", "coordinator", "tenant-admin", "auditor")))
    return client


def test_every_unsafe_route_refuses_a_request_without_the_token(app, signed_in):
    routes = unsafe_routes(app)
    assert len(routes) >= MIN_UNSAFE_ROUTES
    assert unguarded(signed_in, routes, None) == []


def test_every_unsafe_route_refuses_a_wrong_token(app, signed_in):
    assert unguarded(signed_in, unsafe_routes(app), "not-the-session-token") == []


def test_a_route_let_past_the_check_is_named(app, signed_in, monkeypatch):
    routes = [r for r in unsafe_routes(app) if r[1].startswith("/cases")]
    assert routes
    monkeypatch.setattr(middleware, "CSRF_EXEMPT", (*middleware.CSRF_EXEMPT, "/cases"))
    named = unguarded(signed_in, routes, None)
    assert any(n.startswith("POST /cases") for n in named), named
