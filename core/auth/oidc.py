"""The OpenID Connect side of Keycloak: discovery, keys, code exchange, refresh, and token validation.

Validation is strict and its parameters are fixed here, not taken from the token: RS256 only, exact issuer,
our client in the audience, expiry with 5 s leeway. An unknown ``kid`` refetches the JWKS, at most once every
30 seconds, so a flood of forged tokens cannot turn into a flood of requests to Keycloak.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

ALGORITHMS = ["RS256"]
LEEWAY = 5  # seconds of clock skew tolerated; Keycloak and Kyosei keep NTP time
JWKS_REFETCH_INTERVAL = 30.0
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class IdentityProviderUnavailable(RuntimeError):
    """Keycloak does not answer (or answers with a server error)."""


class InvalidToken(ValueError):
    """A token failed validation; ``reason`` is for the log, never shown in detail to a user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PkcePair:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> PkcePair:
        verifier = secrets.token_urlsafe(64)[:96]
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    id_token: str | None
    refresh_token: str | None
    expires_in: int


class IdentityProvider:
    """One Keycloak realm as seen by one OIDC client."""

    def __init__(self, base_url: str, realm: str, client_id: str, client_secret: str, http: httpx.AsyncClient):
        self.issuer = f"{base_url.rstrip('/')}/realms/{realm}"
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = http
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] = {}
        self._keys_fetched_at = 0.0
        self._keys_lock = asyncio.Lock()

    # -- endpoints ---------------------------------------------------------------------------------------------
    async def metadata(self, *, fresh: bool = False) -> dict[str, Any]:
        """The discovery document, cached. ``fresh=True`` fetches it again: before the app sends a browser to
        Keycloak, it checks that Keycloak answers now (the cached copy would send people to a dead address)."""
        if self._metadata is None or fresh:
            data = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if data.get("issuer") != self.issuer:
                raise IdentityProviderUnavailable(f"discovery names issuer {data.get('issuer')!r}, expected {self.issuer!r}")
            self._metadata = data
        return self._metadata

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url)
        except httpx.HTTPError as exc:
            raise IdentityProviderUnavailable(f"{type(exc).__name__} for {url}") from None
        if response.status_code >= 500 or response.status_code == 404:
            raise IdentityProviderUnavailable(f"HTTP {response.status_code} for {url}")
        return response.json()

    async def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str) -> str:
        meta = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile email organization:*",  # all memberships; Kyosei asks which one to act for
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "ui_locales": "ja",
        }
        return f"{meta['authorization_endpoint']}?{urlencode(query)}"

    async def end_session_url(self, *, id_token_hint: str, post_logout_redirect_uri: str) -> str:
        meta = await self.metadata()
        query = {
            "id_token_hint": id_token_hint,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": self.client_id,
        }
        return f"{meta['end_session_endpoint']}?{urlencode(query)}"

    async def _token_request(self, form: dict[str, str]) -> TokenSet:
        meta = await self.metadata()
        try:
            response = await self.http.post(
                meta["token_endpoint"], data=form, auth=(self.client_id, self.client_secret)
            )
        except httpx.HTTPError as exc:
            raise IdentityProviderUnavailable(f"{type(exc).__name__} at token endpoint") from None
        if response.status_code >= 500:
            raise IdentityProviderUnavailable(f"HTTP {response.status_code} at token endpoint")
        if response.status_code != 200:
            error = response.json().get("error", "unknown") if response.headers.get("content-type", "").startswith("application/json") else "unknown"
            raise InvalidToken(f"token endpoint refused: {error}")
        data = response.json()
        return TokenSet(
            access_token=data["access_token"],
            id_token=data.get("id_token"),
            refresh_token=data.get("refresh_token"),
            expires_in=int(data.get("expires_in", 300)),
        )

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        return await self._token_request(
            {"grant_type": "authorization_code", "code": code, "code_verifier": code_verifier, "redirect_uri": redirect_uri}
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    # -- keys ---------------------------------------------------------------------------------------------------
    async def _signing_key(self, kid: str | None) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        async with self._keys_lock:
            if kid in self._keys:
                return self._keys[kid]
            if time.monotonic() - self._keys_fetched_at < JWKS_REFETCH_INTERVAL and self._keys:
                raise InvalidToken("unknown key id (refetch rate-limited)")
            meta = await self.metadata()
            jwks = await self._get_json(meta["jwks_uri"])
            self._keys_fetched_at = time.monotonic()
            self._keys = {
                k["kid"]: jwt.PyJWK(k).key
                for k in jwks.get("keys", [])
                if k.get("use", "sig") == "sig" and k.get("alg", "RS256") in ALGORITHMS and k.get("kty") == "RSA"
            }
        if kid not in self._keys:
            raise InvalidToken("unknown key id")
        return self._keys[kid]

    async def _decode(self, token: str, *, audience: str | None, require: list[str]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} not allowed")
        key = await self._signing_key(header.get("kid"))
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": require, "verify_aud": audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None

    async def validate_id_token(self, token: str, *, nonce: str) -> dict[str, Any]:
        claims = await self._decode(token, audience=self.client_id, require=["exp", "iat", "iss", "aud", "sub", "nonce"])
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise InvalidToken("nonce mismatch")
        azp = claims.get("azp")
        if azp is not None and azp != self.client_id:
            raise InvalidToken("wrong authorized party")
        return claims

    async def validate_access_token(self, token: str) -> dict[str, Any]:
        claims = await self._decode(token, audience=self.client_id, require=["exp", "iat", "iss", "aud", "sub"])
        if claims.get("typ") not in (None, "Bearer"):
            raise InvalidToken(f"token type {claims.get('typ')!r} is not an access token")
        return claims

    async def validate_logout_token(self, token: str) -> dict[str, Any]:
        claims = await self._decode(token, audience=self.client_id, require=["iat", "iss", "aud", "jti"])
        if BACKCHANNEL_LOGOUT_EVENT not in (claims.get("events") or {}):
            raise InvalidToken("not a back-channel logout token")
        if "nonce" in claims:
            raise InvalidToken("logout token must not carry a nonce")
        if not claims.get("sid") and not claims.get("sub"):
            raise InvalidToken("logout token names neither sid nor sub")
        return claims


def organizations_of(claims: dict[str, Any]) -> tuple[str, ...]:
    """The 6-digit codes of the user's organizations: Keycloak sends a list of aliases, or a map keyed by alias."""
    raw = claims.get("organization") or ()
    aliases = raw.keys() if isinstance(raw, dict) else raw
    return tuple(sorted({a for a in aliases if isinstance(a, str) and len(a) == 6 and a.isdigit()}))


# The one role held outside any municipality (a plugin vendor belongs to no organization). Every other role is
# read from the organization the user acts for, never from the token's top level, so a role given in one
# municipality cannot apply in another (docs/roles.md).
ROLES_WITHOUT_ORGANIZATION = frozenset({"vendor"})


def _client_roles(container: Any, client_id: str) -> set[str]:
    if not isinstance(container, dict):
        return set()
    roles = ((container.get("resource_access") or {}).get(client_id) or {}).get("roles") or []
    return {r for r in roles if isinstance(r, str)}


def roles_by_organization(claims: dict[str, Any], client_id: str) -> dict[str, frozenset[str]]:
    """Roles per organization, from Keycloak's organization groups (``oidc-organization-group-membership-mapper``
    with ``addGroupRoleMappings``): the ``kyosei-web`` roles the groups carry plus the groups' own names (a plugin
    role such as ``coordinator_a`` is an organization group). Only top-level groups count."""
    raw = claims.get("organization")
    found: dict[str, frozenset[str]] = {}
    for alias in organizations_of(claims):
        entry = raw.get(alias) if isinstance(raw, dict) else None
        groups = {g.strip("/") for g in (entry or {}).get("groups") or [] if isinstance(g, str) and g.count("/") == 1}
        found[alias] = frozenset(_client_roles(entry, client_id) | groups)
    return found


def roles_of(claims: dict[str, Any], client_id: str, tenant_id: str | None = None) -> frozenset[str]:
    """The roles for acting in ``tenant_id``: that organization's roles plus the roles held outside any
    organization. Without a tenant only the latter."""
    outside = _client_roles(claims, client_id) & ROLES_WITHOUT_ORGANIZATION
    if tenant_id is None:
        return frozenset(outside)
    return frozenset(outside | roles_by_organization(claims, client_id).get(tenant_id, frozenset()))


def stored_roles(claims: dict[str, Any], client_id: str) -> list[str]:
    """The roles of every organization in one list for the session row: ``"394017:staff"``; a role held outside
    any organization as ``"*:vendor"``. ``roles_in`` reads it back for the organization the session is bound to."""
    out = [f"*:{r}" for r in sorted(_client_roles(claims, client_id) & ROLES_WITHOUT_ORGANIZATION)]
    for alias, roles in roles_by_organization(claims, client_id).items():
        out += [f"{alias}:{r}" for r in sorted(roles)]
    return out


def scoped_roles(tenant_id: str | None, roles) -> list[str]:
    """Roles held in one organization, in the session row's form (``stored_roles``): for tests and benchmarks
    that open a session without Keycloak."""
    return [f"{tenant_id or '*'}:{r}" for r in roles]


def roles_in(stored: list[str] | tuple[str, ...], tenant_id: str | None) -> frozenset[str]:
    """The roles of a stored list (``stored_roles``) that apply while bound to ``tenant_id``."""
    roles = set()
    for entry in stored:
        scope, _, role = entry.partition(":")
        if scope == "*" or (tenant_id is not None and scope == tenant_id):
            roles.add(role)
    return frozenset(roles)


def display_name_of(claims: dict[str, Any]) -> str:
    family, given = claims.get("family_name"), claims.get("given_name")
    if family or given:
        # Japanese order: family name first.
        return " ".join(part for part in (family, given) if part)
    return claims.get("name") or claims.get("preferred_username") or claims["sub"]


def kana_name_of(claims: dict[str, Any]) -> str | None:
    """The name's reading (かな), when the identity provider sends the OpenID Connect language-tagged claims
    (``family_name#ja-Kana-JP`` / ``given_name#ja-Kana-JP``, or ``name#…``; katakana or hiragana). None otherwise."""
    for script in ("ja-Kana-JP", "ja-Hira-JP"):
        parts = [claims.get(f"{part}#{script}") for part in ("family_name", "given_name")]
        parts = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
        if parts:
            return " ".join(parts)
        name = claims.get(f"name#{script}")
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None
