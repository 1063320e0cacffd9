"""Fault drill: the real Keycloak stops while staff are using Kyosei, then comes back.

The drill runs its own Keycloak (not the session's shared one, which other tests keep using): same build, its own
ports and its own persistent H2 store in a temporary directory, so a restart keeps the realm, its signing keys and
the Keycloak login sessions, as ``make run``'s and a production Keycloak do. Start-up: about 20-40 s the first time
(realm import), 12-25 s for the restart.

What people must see while Keycloak is down:
- someone who starts to log in gets Kyosei's own Japanese 503 page, not the browser's "cannot connect" page (the
  app knew Keycloak's address from before, so without a check it would send the browser there);
- someone already logged in keeps working (the token refresh that falls due is put off, the session stays);
- someone who logs out is logged out of Kyosei and told that the Keycloak side could not be ended.
After Keycloak is back, logging in works again and the refresh that was put off goes through.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket

import pytest

from core.auth.sessions import hash_id
from infra.database.embedded import free_port
from infra.database.provision import DATABASE, connect, with_database
from tests.conftest import keycloak_login, run

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]

UNAVAILABLE = "認証サーバーに接続できません"


class RestartableKeycloak:
    """One Keycloak on fixed ports and a persistent directory, stopped and started again by the test."""

    def __init__(self, directory):
        self.http_port = free_port()
        self.management_port = free_port()
        self.directory = directory
        self.server = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        from infra.keycloak.server import KeycloakServer

        self.server = KeycloakServer(self.http_port, self.management_port, persistent_dir=self.directory,
                                     log_file=self.directory / "keycloak.log")
        self.server.start()
        self.server.wait_ready(timeout=240)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=1):
                return True
        except OSError:
            return False


@pytest.fixture(scope="module")
def own_keycloak(tmp_path_factory):
    keycloak = RestartableKeycloak(tmp_path_factory.mktemp("keycloak-drill"))
    keycloak.start()
    try:
        yield keycloak
    finally:
        keycloak.stop()


@pytest.fixture(scope="module")
def app_on_own_keycloak(own_keycloak, settings, database_urls):
    from core.app import create_app
    from tests.live import serve

    port = free_port()
    app_settings = dataclasses.replace(
        settings, keycloak_url=own_keycloak.base_url, public_url=f"http://127.0.0.1:{port}", port=port
    )
    with serve(create_app(app_settings, app_database_url=database_urls.app), port) as url:
        yield url


def superuser_sql(pg_server, sql: str, *args):
    async def go():
        conn = await connect(with_database(pg_server.superuser_url, DATABASE))
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            await conn.close()

    return run(go())


def session_cookie(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "kyosei_session")


def make_refresh_due(pg_server, raw: str) -> None:
    """The access token "expired" a minute ago: the next request must refresh it at Keycloak."""
    row = superuser_sql(pg_server, "UPDATE web_session SET access_expires_at = now() - interval '1 minute' "
                                   "WHERE id_hash = $1 RETURNING id_hash", hash_id(raw))
    assert row is not None


def access_expires_at(pg_server, raw: str) -> dt.datetime | None:
    row = superuser_sql(pg_server, "SELECT access_expires_at FROM web_session WHERE id_hash = $1", hash_id(raw))
    return row["access_expires_at"] if row else None


def test_keycloak_down_gives_a_clear_503_at_login_and_logged_in_staff_keep_working(
    browser, own_keycloak, app_on_own_keycloak, pg_server
):
    app = app_on_own_keycloak
    contexts = []

    def fresh_page():
        context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20000)
        return page

    try:
        # Two staff log in while Keycloak runs.
        yamamoto, nakamura = fresh_page(), fresh_page()
        keycloak_login(yamamoto, app, "nakatosa.yamamoto")
        keycloak_login(nakamura, app, "nakatosa.staff2")
        assert "山本 花子" in yamamoto.inner_text("header")
        assert "中村 健" in nakamura.inner_text("header")
        yamamoto_session, nakamura_session = session_cookie(yamamoto), session_cookie(nakamura)

        own_keycloak.stop()
        assert not own_keycloak.listening()

        # Starting a login: Kyosei's Japanese 503 page, the browser stays on Kyosei.
        newcomer = fresh_page()
        response = newcomer.goto(f"{app}/cases")
        assert response is not None and response.status == 503
        assert newcomer.url.startswith(f"{app}/auth/login")
        assert UNAVAILABLE in newcomer.inner_text("body")

        # Logged-in staff keep working, even when their token refresh falls due while Keycloak is away.
        make_refresh_due(pg_server, yamamoto_session)
        response = yamamoto.goto(f"{app}/")
        assert response is not None and response.status == 200
        assert "山本 花子" in yamamoto.inner_text("header")
        assert access_expires_at(pg_server, yamamoto_session) < dt.datetime.now(dt.UTC)  # put off, not lost

        # Logging out: out of Kyosei for sure, and told plainly that Keycloak could not be reached.
        nakamura.click("form[action='/auth/logout'] button")
        nakamura.wait_for_url(f"{app}/auth/logged-out")
        assert "ログアウトしました" in nakamura.inner_text("h1") and UNAVAILABLE in nakamura.inner_text("h1")
        assert "ブラウザーをすべて閉じてください" in nakamura.inner_text("body")
        assert access_expires_at(pg_server, nakamura_session) is None  # the session row is gone
        response = nakamura.goto(f"{app}/")
        assert response is not None and response.status == 503  # not logged in any more: the login is refused

        own_keycloak.start()

        # Logging in works again, through the real login page.
        keycloak_login(newcomer, app, "nakatosa.yamamoto")
        assert "山本 花子" in newcomer.inner_text("header")
        # The refresh that was put off now goes through at the restarted Keycloak, and the session carries on.
        response = yamamoto.goto(f"{app}/")
        assert response is not None and response.status == 200
        assert "山本 花子" in yamamoto.inner_text("header")
        assert access_expires_at(pg_server, yamamoto_session) > dt.datetime.now(dt.UTC)
    finally:
        for context in contexts:
            context.close()
