"""Login and logout negatives against the real Keycloak and the real app: a callback with a bad or replayed
``state``, an ID token checked against the wrong nonce, tokens signed by Keycloak's realm but with the wrong issuer,
Keycloak's tokens re-signed with another key under its real ``kid`` or as HS256 keyed with its public key, forged
back-channel logout tokens (the user's session must survive them), and the brute-force lockout itself.
Forgeries a real server cannot produce (a wrong ``azp``) are in tests/test_oidc_validation.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.auth.oidc import IdentityProvider, InvalidToken, PkcePair
from tests.conftest import DEMO_PASSWORD
from tests.sessions import open_session

pytestmark = [pytest.mark.slow, pytest.mark.keycloak]

USER = "nakatosa.yamamoto"
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _keycloak_login(start_url: str, username: str = USER, password: str = DEMO_PASSWORD) -> httpx.URL:
    """Through Keycloak's own login pages (username, then password) without a browser; returns where Keycloak
    redirects back to (the redirect_uri with ``code`` and ``state``), without following it. Keycloak marks its
    cookies Secure (a browser trusts 127.0.0.1 anyway; httpx would not send them over http), so they are sent by
    hand."""
    with httpx.Client(follow_redirects=True, timeout=20) as http:
        page = http.get(start_url)
        for form in ({"username": username}, {"username": username, "password": password}):
            action = html.unescape(FORM_ACTION.search(page.text).group(1))
            cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies.jar)
            page = http.post(action, data=form, follow_redirects=False, headers={"Cookie": cookies})
            if page.status_code in (302, 303):
                break
        assert page.status_code in (302, 303), page.text[:500]
        return httpx.URL(page.headers["location"])


def _begin_app_login(live_app: str) -> tuple[str, str]:
    """The app's own /auth/login: (Keycloak authorization URL, the state bound to this browser's cookie)."""
    response = httpx.get(f"{live_app}/auth/login", follow_redirects=False)
    assert response.status_code in (302, 303)
    return response.headers["location"], response.cookies["kyosei_login"]


def _callback(live_app: str, query: dict, login_cookie: str | None) -> httpx.Response:
    cookies = {"kyosei_login": login_cookie} if login_cookie else {}
    return httpx.get(f"{live_app}/auth/callback", params=query, cookies=cookies, follow_redirects=False)


def _refused(response: httpx.Response) -> bool:
    return (response.status_code in (302, 303) and response.headers["location"].startswith("/auth/refused")
            and "kyosei_session" not in response.cookies)


# -- state --------------------------------------------------------------------------------------------------
def test_a_callback_with_a_state_not_bound_to_this_browser_is_refused(live_app):
    _, state = _begin_app_login(live_app)
    assert _refused(_callback(live_app, {"state": state, "code": "x"}, None))  # someone else's browser
    assert _refused(_callback(live_app, {"state": state, "code": "x"}, "another-state"))
    forged = secrets.token_urlsafe(32)  # bound to the cookie, but never issued by the app
    assert _refused(_callback(live_app, {"state": forged, "code": "x"}, forged))


def test_a_replayed_callback_is_refused(live_app):
    authorize, state = _begin_app_login(live_app)
    back = _keycloak_login(authorize)
    query = dict(back.params)
    assert query["state"] == state
    first = _callback(live_app, query, state)
    assert first.status_code in (302, 303) and "kyosei_session" in first.cookies  # the real login works
    replay = _callback(live_app, query, state)
    assert _refused(replay)


# -- nonce (a real login through our verifier) ---------------------------------------------------------------
def test_an_id_token_from_a_real_login_is_refused_for_another_nonce(live_app, keycloak, settings):
    async def login_then_validate():
        async with httpx.AsyncClient(timeout=20) as http:
            idp = IdentityProvider(keycloak.base_url, settings.keycloak_realm, settings.oidc_client_id,
                                   settings.oidc_client_secret, http)
            pkce, nonce, redirect = PkcePair.new(), secrets.token_urlsafe(16), f"{live_app}/auth/callback"
            url = await idp.authorization_url(redirect_uri=redirect, state="s", nonce=nonce,
                                              code_challenge=pkce.challenge)
            back = await asyncio.to_thread(_keycloak_login, url)
            tokens = await idp.exchange_code(code=back.params["code"], code_verifier=pkce.verifier, redirect_uri=redirect)
            good = await idp.validate_id_token(tokens.id_token, nonce=nonce)
            with pytest.raises(InvalidToken) as excinfo:
                await idp.validate_id_token(tokens.id_token, nonce=secrets.token_urlsafe(16))
            return good, excinfo.value.reason

    good, reason = asyncio.run(login_then_validate())
    assert good["preferred_username"] == USER
    assert reason == "nonce mismatch"


# -- bearer tokens: Keycloak's own tokens, bent ----------------------------------------------------------------
def _api(live_app: str, token: str) -> int:
    return httpx.get(f"{live_app}/api/registry/", headers={"Authorization": f"Bearer {token}"}).status_code


def _realm_public_pem(keycloak, kid: str) -> bytes:
    jwks = httpx.get(f"{keycloak.base_url}/realms/kochi/protocol/openid-connect/certs").json()
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _hs256(claims: dict, kid: str, secret: bytes) -> str:
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def test_keycloak_tokens_re_signed_or_key_confused_are_refused(live_app, keycloak, keycloak_admin):
    token = keycloak_admin.password_grant(USER, DEMO_PASSWORD, scope="openid organization:*")["access_token"]
    assert _api(live_app, token) == 200  # the genuine token passes
    kid, claims = jwt.get_unverified_header(token)["kid"], _claims(token)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    re_signed = jwt.encode(claims, other, algorithm="RS256", headers={"kid": kid})
    assert _api(live_app, re_signed) == 401
    assert _api(live_app, _hs256(claims, kid, _realm_public_pem(keycloak, kid))) == 401


def test_a_token_the_realm_signed_for_another_issuer_is_refused(live_app, keycloak, keycloak_admin):
    """With a front-end URL set on the realm, Keycloak signs with the realm's real key a token whose ``iss`` is not
    the issuer the app trusts; the app must refuse it although the signature verifies."""
    attributes = dict(keycloak_admin.request("GET", "").json().get("attributes") or {})
    keycloak_admin.request("PUT", "", json={"attributes": {**attributes, "frontendUrl": "http://kochi-idp.invalid"}})
    try:
        token = keycloak_admin.password_grant(USER, DEMO_PASSWORD, scope="openid organization:*")["access_token"]
    finally:
        keycloak_admin.request("PUT", "", json={"attributes": {**attributes, "frontendUrl": ""}})
    assert _claims(token)["iss"] == "http://kochi-idp.invalid/realms/kochi"
    kid = jwt.get_unverified_header(token)["kid"]
    jwt.decode(token, _realm_public_pem(keycloak, kid), algorithms=["RS256"],  # the realm's own, valid signature
               options={"verify_aud": False, "verify_iss": False, "verify_exp": False})  # the signature is the point
    assert _api(live_app, token) == 401


# -- back-channel logout -----------------------------------------------------------------------------------------
def test_forged_back_channel_logout_tokens_end_no_session(live_app, keycloak, keycloak_admin, database_urls):
    tokens = keycloak_admin.password_grant(USER, DEMO_PASSWORD, scope="openid organization:*")
    claims = _claims(tokens["id_token"])
    session = open_session(database_urls, "394017", ("staff",), sub=claims["sub"])
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    logout = {"iss": claims["iss"], "aud": "kyosei-web", "iat": int(time.time()), "jti": secrets.token_hex(8),
              "sub": claims["sub"], "events": {LOGOUT_EVENT: {}}}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forgeries = {
        "another key under the realm's kid": jwt.encode(logout, other, algorithm="RS256", headers={"kid": kid}),
        "HS256 keyed with the realm's public key": _hs256(logout, kid, _realm_public_pem(keycloak, kid)),
        "a genuine access token (no logout event)": tokens["access_token"],
        "a genuine ID token (carries no logout event)": tokens["id_token"],
        "unsigned": ".".join([_b64(b'{"alg":"none"}'), _b64(json.dumps(logout).encode()), ""]),
    }

    def still_logged_in() -> bool:
        page = httpx.get(f"{live_app}/", cookies={"kyosei_session": session.raw}, follow_redirects=False)
        return page.status_code == 200

    assert still_logged_in()
    for name, forged in forgeries.items():
        response = httpx.post(f"{live_app}/auth/backchannel-logout", data={"logout_token": forged})
        assert response.status_code == 400, name
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert still_logged_in(), f"{name} ended the session"


# -- lockout -------------------------------------------------------------------------------------------------------
def test_wrong_passwords_lock_the_account_and_the_lock_is_what_refuses(keycloak_admin):
    """After repeated failures (realm.py: 5, or fewer in quick succession) the right password is refused too,
    Keycloak's attack detection reports the user disabled, and once an administrator clears it the same password
    works again."""
    from infra.keycloak.admin import KeycloakAdminError

    username = "lockout.target"
    user_id = keycloak_admin.ensure_user(username, "lockout@example.jp", "試験", "施錠", password=DEMO_PASSWORD)
    status = f"/attack-detection/brute-force/users/{user_id}"
    keycloak_admin.request("DELETE", status)
    assert "access_token" in keycloak_admin.password_grant(username, DEMO_PASSWORD)
    for _ in range(5):
        with pytest.raises(KeycloakAdminError) as wrong:
            keycloak_admin.password_grant(username, "wrong-password")
        assert wrong.value.status == 400 and "invalid_grant" in str(wrong.value)
    detection = keycloak_admin.request("GET", status).json()
    # Locked: failures in quick succession (realm.py quickLoginCheckMilliSeconds) lock even before the 5th.
    assert detection["disabled"] is True and detection["numFailures"] >= 1
    with pytest.raises(KeycloakAdminError) as locked:
        keycloak_admin.password_grant(username, DEMO_PASSWORD)
    # Keycloak answers exactly as for a wrong password (no hint to the attacker): what refuses is the lock, as the
    # attack-detection status above and the same password working once it is cleared (below) show.
    assert locked.value.status == 400 and "invalid_grant" in str(locked.value)
    keycloak_admin.request("DELETE", status)
    assert "access_token" in keycloak_admin.password_grant(username, DEMO_PASSWORD)
