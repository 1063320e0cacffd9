"""Bearer tokens against the real Keycloak: only a valid token for this realm and client passes."""

import base64
import json
import time

import httpx
import pytest

from tests.conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.keycloak]


def token_for(admin, username, scope="openid organization:*"):
    return admin.password_grant(username, DEMO_PASSWORD, scope=scope)["access_token"]


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def api(live_app, token, **headers):
    return httpx.get(f"{live_app}/api/registry/", headers={"Authorization": f"Bearer {token}", **headers})


def test_a_valid_token_passes(live_app, keycloak_admin):
    assert api(live_app, token_for(keycloak_admin, "nakatosa.yamamoto")).status_code == 200


def test_tampered_signature_is_refused(live_app, keycloak_admin):
    header, payload, signature = token_for(keycloak_admin, "nakatosa.yamamoto").split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["organization"] = ["392049"]
    response = api(live_app, f"{header}.{b64(forged)}.{signature}")
    assert response.status_code == 401


def test_alg_none_is_refused(live_app, keycloak_admin):
    _, payload, _ = token_for(keycloak_admin, "nakatosa.yamamoto").split(".")
    assert api(live_app, f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.").status_code == 401


def test_wrong_audience_is_refused(live_app, keycloak_admin):
    # The admin service account's own token: signed by the realm, but issued for kyosei-admin, not kyosei-web.
    assert api(live_app, keycloak_admin.access_token()).status_code == 401


def test_token_from_another_realm_is_refused(live_app, keycloak):
    master = httpx.post(
        f"{keycloak.base_url}/realms/master/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin-dev-password"},
    )
    assert master.status_code == 200, master.text
    assert api(live_app, master.json()["access_token"]).status_code == 401


def test_expired_token_is_refused(live_app, keycloak_admin):
    client = keycloak_admin.find_client("kyosei-test")
    keycloak_admin.request(
        "PUT", f"/clients/{client['id']}", json={**client, "attributes": {**client.get("attributes", {}), "access.token.lifespan": "1"}}
    )
    try:
        token = token_for(keycloak_admin, "nakatosa.yamamoto")
    finally:
        # Keycloak keeps an attribute a PUT leaves out: the lifespan is put back by name ("" is the realm's default),
        # or every later token of this client would live one second.
        before = (client.get("attributes") or {}).get("access.token.lifespan", "")
        keycloak_admin.request("PUT", f"/clients/{client['id']}", json={
            **client, "attributes": {**client.get("attributes", {}), "access.token.lifespan": before}})
    time.sleep(7)  # lifespan 1 s + 5 s leeway
    assert api(live_app, token).status_code == 401
    # and the client's tokens live as long as before again (a later test's token must not expire under it)
    claims = json.loads(base64.urlsafe_b64decode(token_for(keycloak_admin, "nakatosa.yamamoto").split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] > 60


def test_token_cannot_act_in_another_tenant_by_header(live_app, keycloak_admin):
    token = token_for(keycloak_admin, "nakatosa.yamamoto")
    response = api(live_app, token, **{"X-Kyosei-Tenant": "392049"})
    assert response.status_code == 403
    # A member of both may choose either.
    both = token_for(keycloak_admin, "multi.sato")
    assert api(live_app, both, **{"X-Kyosei-Tenant": "392049"}).status_code == 200
    assert api(live_app, both).status_code == 403  # must say which
