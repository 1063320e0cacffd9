"""Token validation rules that the real server cannot be made to break (a wrong issuer signed with a good key).

The validator is fed a locally generated key through an in-memory transport; the end-to-end token tests against
the real Keycloak are in tests/test_keycloak_tokens.py.
"""

import asyncio
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core.auth.oidc import IdentityProvider, InvalidToken

BASE = "http://idp.test"
ISSUER = f"{BASE}/realms/kochi"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
JWK.update(kid="k1", use="sig", alg="RS256")


def transport(calls):
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/certs",
                                             "authorization_endpoint": f"{ISSUER}/auth", "token_endpoint": f"{ISSUER}/token",
                                             "end_session_endpoint": f"{ISSUER}/logout"})
        return httpx.Response(200, json={"keys": [JWK]})

    return httpx.MockTransport(handle)


def token(**overrides):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "kyosei-web", "sub": "u1", "iat": now, "exp": now + 300, "typ": "Bearer", **overrides}
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})


def validate(tok, calls=None):
    async def go():
        async with httpx.AsyncClient(transport=transport(calls if calls is not None else [])) as http:
            return await IdentityProvider(BASE, "kochi", "kyosei-web", "secret", http).validate_access_token(tok)

    return asyncio.run(go())


def test_a_good_token_validates():
    assert validate(token())["sub"] == "u1"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "http://idp.test/realms/other"}, "wrong issuer"),
        ({"aud": "someone-else"}, "wrong audience"),
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"typ": "Refresh"}, "not an access token"),
    ],
)
def test_bad_claims_are_refused(overrides, reason):
    with pytest.raises(InvalidToken) as excinfo:
        validate(token(**overrides))
    assert reason in excinfo.value.reason


def test_unknown_key_refetches_the_jwks_at_most_once_per_interval():
    calls = []

    async def go():
        async with httpx.AsyncClient(transport=transport(calls)) as http:
            idp = IdentityProvider(BASE, "kochi", "kyosei-web", "secret", http)
            await idp.validate_access_token(token())
            unknown = jwt.encode({"iss": ISSUER}, KEY, algorithm="RS256", headers={"kid": "nope"})
            for _ in range(5):
                with pytest.raises(InvalidToken):
                    await idp.validate_access_token(unknown)

    asyncio.run(go())
    assert sum(1 for c in calls if c.endswith("/certs")) == 1


# -- forgeries a real Keycloak cannot be made to produce, against the real verifier --------------------------
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
BACKCHANNEL = "http://schemas.openid.net/event/backchannel-logout"


def id_token(**overrides):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "kyosei-web", "azp": "kyosei-web", "sub": "u1", "iat": now, "exp": now + 300,
              "nonce": "n-1", **overrides}
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})


def logout_token(key=KEY, algorithm="RS256", **overrides):
    claims = {"iss": ISSUER, "aud": "kyosei-web", "iat": int(time.time()), "jti": "j1", "sid": "s1",
              "events": {BACKCHANNEL: {}}, **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm,
                      headers={"kid": "k1"})


def call(method, *args, **kwargs):
    async def go():
        async with httpx.AsyncClient(transport=transport([])) as http:
            idp = IdentityProvider(BASE, "kochi", "kyosei-web", "secret", http)
            return await getattr(idp, method)(*args, **kwargs)

    return asyncio.run(go())


def _public_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization

    return KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _hs256_with_public_key(claims: dict) -> str:
    """The classic key-confusion forgery: HMAC keyed with the published RSA public key (PyJWT refuses to do this
    itself, so the signature is computed by hand)."""
    import base64
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(_public_pem(), signing_input.encode(), hashlib.sha256).digest())}"


def test_a_good_id_token_and_logout_token_validate():
    assert call("validate_id_token", id_token(), nonce="n-1")["sub"] == "u1"
    assert call("validate_logout_token", logout_token())["sid"] == "s1"


@pytest.mark.parametrize(
    ("forged", "reason"),
    [
        (lambda: id_token(nonce="n-other"), "nonce mismatch"),
        (lambda: jwt.encode({"iss": ISSUER, "aud": "kyosei-web", "sub": "u1", "iat": int(time.time()),
                             "exp": int(time.time()) + 300}, KEY, algorithm="RS256", headers={"kid": "k1"}),
         "MissingRequiredClaimError"),
        (lambda: id_token(azp="another-client", aud=["kyosei-web", "another-client"]), "wrong authorized party"),
        (lambda: id_token(iss="http://idp.test/realms/master"), "wrong issuer"),
        (lambda: jwt.encode({"iss": ISSUER, "aud": "kyosei-web", "sub": "u1", "nonce": "n-1", "iat": int(time.time()),
                             "exp": int(time.time()) + 300}, OTHER_KEY, algorithm="RS256", headers={"kid": "k1"}),
         "bad signature"),
        (lambda: _hs256_with_public_key({"iss": ISSUER, "aud": "kyosei-web", "sub": "u1", "nonce": "n-1",
                                         "iat": int(time.time()), "exp": int(time.time()) + 300}),
         "algorithm 'HS256' not allowed"),
    ],
    ids=["wrong nonce", "no nonce", "wrong azp", "wrong issuer, valid key", "re-signed under known kid",
         "HS256 with the public key"],
)
def test_forged_id_tokens_are_refused(forged, reason):
    with pytest.raises(InvalidToken) as excinfo:
        call("validate_id_token", forged(), nonce="n-1")
    assert excinfo.value.reason == reason


@pytest.mark.parametrize(
    ("forged", "reason"),
    [
        (lambda: logout_token(key=OTHER_KEY), "bad signature"),
        (lambda: logout_token(events=None), "not a back-channel logout token"),
        (lambda: logout_token(nonce="n-1"), "logout token must not carry a nonce"),
        (lambda: logout_token(sid=None), "logout token names neither sid nor sub"),
        (lambda: logout_token(iss="http://idp.test/realms/master"), "wrong issuer"),
        (lambda: logout_token(aud="another-client"), "wrong audience"),
        (lambda: _hs256_with_public_key({"iss": ISSUER, "aud": "kyosei-web", "iat": int(time.time()), "jti": "j",
                                         "sid": "s1", "events": {BACKCHANNEL: {}}}), "algorithm 'HS256' not allowed"),
    ],
    ids=["another key under a known kid", "no logout event", "carries a nonce", "names no session", "wrong issuer",
         "wrong audience", "HS256 with the public key"],
)
def test_forged_logout_tokens_are_refused(forged, reason):
    with pytest.raises(InvalidToken) as excinfo:
        call("validate_logout_token", forged())
    assert excinfo.value.reason == reason
