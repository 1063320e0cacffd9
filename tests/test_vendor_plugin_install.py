"""A vendor's plugin, installed with pip as its own distribution, is found by its entry point and runs only for
the municipality that enabled it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from core.plugins import operator, registry
from tests.conftest import PROJECT_ROOT, run
from tests.sessions import login, open_session

EXAMPLE = PROJECT_ROOT / "tests" / "vendor_plugin_example"
NAKATOSA, NANKOKU = "394017", "392049"


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   capture_output=True, timeout=120)


@pytest.fixture()
def installed_example(database_urls):
    pip("install", "--no-deps", "--no-build-isolation", str(EXAMPLE))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        pip("uninstall", "-y", "kyosei-example-vendor")
        importlib.invalidate_caches()
        sys.modules.pop("kyosei_example_vendor", None)
        run(operator.forget(database_urls.owner, "example_vendor"))


def test_a_pip_installed_vendor_plugin_works_for_the_tenant_that_enabled_it_only(
        installed_example, settings, database_urls):
    from litestar.testing import TestClient

    from core.app import build_plugin_host, create_app

    found = {c.info.name: c for c in registry.entry_point_candidates() if c.info}
    assert found["example_vendor"].source == "entry point kyosei-example-vendor"

    host = build_plugin_host()  # what create_app does by default: entry points + bundled plugins
    assert "example_vendor" in host.plugins
    run(operator.approve(database_urls.owner, host.plugins["example_vendor"].info))
    run(operator.set_enabled(database_urls.owner, NAKATOSA, "example_vendor", True))
    app = create_app(settings, app_database_url=database_urls.app)

    with TestClient(app=app) as client:
        login(client, open_session(database_urls, NAKATOSA, ("staff",)))
        assert "見守り記録" in client.get("/").text
        page = client.get("/plugins/example_vendor/")
        assert page.status_code == 200 and "中土佐町で有効です" in page.text
    with TestClient(app=app) as client:
        login(client, open_session(database_urls, NANKOKU, ("staff", "tenant-admin")))
        assert "見守り記録" not in client.get("/").text
        assert client.get("/plugins/example_vendor/").status_code == 404


@pytest.mark.slow
def test_the_vendor_runs_its_own_tests_with_the_kyosei_fixture(installed_example):
    """The SDK fixture (core.plugins.testing) outside Kyosei's suite: its own PostgreSQL, the plugin enabled."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=EXAMPLE,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


@pytest.mark.slow
def test_the_cli_approves_enables_lists_and_disables_an_installed_plugin(installed_example, database_urls):
    import os
    from pathlib import Path

    from tests.db import fetch

    kyosei = str(Path(sys.executable).parent / "kyosei")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYOSEI_", "DATABASE_", "KEYCLOAK_"))}
    env.update(DATABASE_URL=database_urls.owner, DATABASE_APP_URL=database_urls.app, LOG_LEVEL="error")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([kyosei, "plugins", *args], env=env, capture_output=True, text=True, timeout=120)

    refused = cli("enable", NAKATOSA, "example_vendor")
    assert refused.returncode != 0 and "not approved" in refused.stderr
    assert cli("approve", "example_vendor", "0.1.0").returncode == 0
    assert cli("enable", NAKATOSA, "example_vendor").returncode == 0
    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if l.startswith("example_vendor"))
    assert "approved" in line and "vendor=sample-vendor" in line and "tenants: 394017" in line
    assert cli("disable", NAKATOSA, "example_vendor").returncode == 0
    assert "tenants: -" in cli("list").stdout
    # The owner wrote the tenant row with the tenant bound (FORCEd RLS): it is there, disabled.
    rows = fetch(database_urls.owner, "SELECT count(*) AS n FROM tenant_plugin")  # no tenant bound: sees none
    assert rows[0]["n"] == 0
    assert cli("enable", "999999", "example_vendor").returncode != 0
