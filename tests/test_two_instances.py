"""Two app processes share one database: a browser logged in on one keeps its session on the other."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.database.embedded import free_port
from tests.conftest import keycloak_login

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]

KYOSEI = str(Path(sys.executable).parent / "kyosei")


@pytest.fixture()
def second_instance(database_urls, keycloak, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYOSEI_", "DATABASE_", "KEYCLOAK_"))}
    env.update(
        DATABASE_URL=database_urls.owner,
        DATABASE_APP_URL=database_urls.app,
        KEYCLOAK_URL=keycloak.base_url,
        KYOSEI_PORT=str(port),
        KYOSEI_DATA_DIR=str(tmp_path),
        LOG_FORMAT="json",
    )
    proc = subprocess.Popen([KYOSEI, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("second instance did not become ready")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_session_moves_between_two_app_processes(page, live_app, second_instance):
    keycloak_login(page, live_app, "nakatosa.yamamoto")
    assert "中土佐町" in page.inner_text("header")
    # Cookies are per host, not per port: the same browser session now asks the other process.
    page.goto(f"{second_instance}/")
    assert page.url.rstrip("/") == second_instance
    assert "中土佐町" in page.inner_text("header")
    assert "山本 花子" in page.inner_text("header")
    page.goto(f"{live_app}/")
    assert "山本 花子" in page.inner_text("header")
