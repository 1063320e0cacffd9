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
