"""Every response carries the security headers a browser needs to contain an injected script."""

import dataclasses

from litestar.testing import TestClient

from core.app import create_app
from tests.sessions import login, open_session


def test_pages_carry_a_strict_csp_and_no_store(client, database_urls):
    login(client, open_session(database_urls))
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
        assert directive in csp
    assert "form-action 'self' http://127.0.0.1:" in csp  # logout continues to Keycloak
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain http in tests


def test_hsts_under_https(settings, database_urls):
    https = dataclasses.replace(settings, public_url="https://kyosei.example.jp")
    with TestClient(app=create_app(https, app_database_url=database_urls.app)) as client:
        response = client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_errors_carry_the_headers_too(client):
    response = client.get("/api/registry/")
    assert response.status_code == 401
    assert "object-src 'none'" in response.headers["content-security-policy"]
