"""A small synchronous client for the Keycloak admin REST API, authenticated as the ``kyosei-admin`` service account.

Onboarding (organizations, users, memberships, client roles), tenant suspension (organization ``enabled``), and
helpers for tests (a password-grant test client, the back-channel logout URL). Every ``ensure_*`` / ``add_*`` /
``grant_*`` call is idempotent: an existing object (HTTP 409) is looked up and returned, not an error.
"""

from __future__ import annotations

import time
from typing import Any, Iterable
from urllib.parse import quote

import httpx

from infra.keycloak.realm import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    DEFAULT_SCOPES,
    DEMO_USERS,
    ORG_DOMAIN_SUFFIX,
    REALM,
    WEB_CLIENT_ID,
    audience_mapper,
    client_roles_mapper,
    demo_roles,
    organization_groups,
    organization_roles_mapper,
)

TEST_CLIENT_ID = "kyosei-test"


class KeycloakAdminError(RuntimeError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class KeycloakAdmin:
    """Admin API of one realm. ``base_url`` is the server root, e.g. ``http://127.0.0.1:8180``."""

    def __init__(
        self,
        base_url: str,
        realm: str = REALM,
        client_id: str = ADMIN_CLIENT_ID,
        client_secret: str = ADMIN_CLIENT_SECRET,
        *,
        timeout: float = 30,
        http: httpx.Client | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.realm = realm
        self.client_id = client_id
        self.client_secret = client_secret
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout)
        self._token: str | None = None
        self._token_expires = 0.0
        self._client_uuids: dict[str, str] = {}

    # -- plumbing ----------------------------------------------------------------------------------------------
    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/realms/{self.realm}/protocol/openid-connect/token"

    @property
    def admin_root(self) -> str:
        return f"{self.base_url}/admin/realms/{self.realm}"

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> KeycloakAdmin:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def access_token(self) -> str:
        if self._token is None or time.monotonic() > self._token_expires:
            response = self.http.post(
                self.token_endpoint,
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            )
            if response.status_code != 200:
                raise KeycloakAdminError(
                    f"client credentials grant for {self.client_id} failed: {response.status_code} {response.text}",
                    response.status_code,
                )
            body = response.json()
            self._token = body["access_token"]
            self._token_expires = time.monotonic() + max(10, int(body.get("expires_in", 60)) - 30)
        return self._token

    def request(self, method: str, path: str, *, ok: Iterable[int] = (), **kwargs: Any) -> httpx.Response:
        """``path`` is relative to /admin/realms/<realm>. Raises on 4xx/5xx unless the status is in ``ok``."""
        url = f"{self.admin_root}{path}"
        extra_headers = kwargs.pop("headers", {})
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.access_token()}", **extra_headers}
            response = self.http.request(method, url, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: one fresh token, then give up
                continue
            break
        if response.status_code >= 400 and response.status_code not in ok:
            raise KeycloakAdminError(
                f"{method} {path}: {response.status_code} {response.text[:500]}", response.status_code
            )
        return response

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    @staticmethod
    def _created_id(response: httpx.Response) -> str | None:
        location = response.headers.get("Location")
        return location.rstrip("/").rsplit("/", 1)[-1] if location else None

    # -- organizations -----------------------------------------------------------------------------------------
    def organizations(self) -> list[dict]:
        return self._get("/organizations", first=0, max=1000, briefRepresentation="false")

    def find_organization(self, code: str) -> dict | None:
        """The organization whose alias is the 6-digit ``code``."""
        return next((org for org in self.organizations() if org.get("alias") == code), None)

    def get_organization(self, org_id: str) -> dict:
        return self._get(f"/organizations/{org_id}")

    def ensure_organization(
        self,
        code: str,
        name: str,
        *,
        kind: str | None = None,
        kana: str | None = None,
        romaji: str | None = None,
        enabled: bool = True,
    ) -> str:
        """Create the organization (alias = code) unless it exists; returns its id."""
        attributes = {"code": [code]}
        for key, value in (("kind", kind), ("kana", kana), ("romaji", romaji)):
            if value:
                attributes[key] = [value]
        rep = {
            "name": name,
            "alias": code,
            "enabled": enabled,
            "domains": [{"name": f"{code}.{ORG_DOMAIN_SUFFIX}", "verified": False}],
            "attributes": attributes,
        }
        response = self.request("POST", "/organizations", json=rep, ok=(409,))
        if response.status_code == 201 and self._created_id(response):
            return self._created_id(response)
        existing = self.find_organization(code)
        if existing is None:
            raise KeycloakAdminError(f"organization {code} {name}: {response.status_code} {response.text}")
        return existing["id"]

    def _set_organization_enabled(self, org_id: str, enabled: bool) -> None:
        rep = self.get_organization(org_id)
        if rep.get("enabled") == enabled:
            return
        rep["enabled"] = enabled
        self.request("PUT", f"/organizations/{org_id}", json=rep)

    def disable_organization(self, org_id: str) -> None:
        """Tenant suspension: a disabled organization is left out of the ``organization`` token claim."""
        self._set_organization_enabled(org_id, False)

    def enable_organization(self, org_id: str) -> None:
        self._set_organization_enabled(org_id, True)

    def add_member(self, org_id: str, user_id: str) -> None:
        """Add an existing user as an (unmanaged) member; already a member is fine."""
        self.request("POST", f"/organizations/{org_id}/members", json=user_id, ok=(409,))

    def remove_member(self, org_id: str, user_id: str) -> None:
        self.request("DELETE", f"/organizations/{org_id}/members/{user_id}", ok=(404,))

    def members(self, org_id: str) -> list[dict]:
        return self._get(f"/organizations/{org_id}/members", first=0, max=1000)

    def user_organizations(self, user_id: str) -> list[dict]:
        return self._get(f"/organizations/members/{user_id}/organizations")

    # -- organization groups: the roles of one municipality (Keycloak 26.6+) -----------------------------------
    def organization_groups(self, org_id: str) -> list[dict]:
        return self._get(f"/organizations/{org_id}/groups", first=0, max=1000, briefRepresentation="false")

    def ensure_organization_group(self, org_id: str, name: str, client_role: str,
                                  client_id: str = WEB_CLIENT_ID) -> str:
        """The organization's group ``name`` carrying ``client_role`` of ``client_id`` (created when missing)."""
        existing = next((g for g in self.organization_groups(org_id) if g.get("name") == name), None)
        if existing is None:
            response = self.request("POST", f"/organizations/{org_id}/groups",
                                    json={"name": name, "attributes": {"kyosei.role": [name]}}, ok=(409,))
            group_id = self._created_id(response) if response.status_code == 201 else None
            if group_id is None:
                group_id = next(g["id"] for g in self.organization_groups(org_id) if g.get("name") == name)
            have: set[str] = set()
        else:
            group_id = existing["id"]
            have = set((existing.get("clientRoles") or {}).get(client_id, []))
        if client_role not in have:
            uuid = self.client_uuid(client_id)
            role = self._get(f"/clients/{uuid}/roles/{quote(client_role, safe='')}")
            self.request("POST", f"/organizations/{org_id}/groups/{group_id}/role-mappings/clients/{uuid}",
                         json=[role])
        return group_id

    def ensure_role_groups(self, org_id: str, code: str) -> dict[str, str]:
        """The organization's role groups as in the realm file (staff, coordinator, tenant-admin, auditor …)."""
        return {g["name"]: self.ensure_organization_group(org_id, g["name"], g["clientRoles"][WEB_CLIENT_ID][0])
                for g in organization_groups(code)}

    def organization_group_members(self, org_id: str, group_id: str) -> list[dict]:
        return self._get(f"/organizations/{org_id}/groups/{group_id}/members", first=0, max=1000)

    def member_groups(self, org_id: str, user_id: str) -> set[str]:
        """Names of the organization's groups ``user_id`` belongs to (that is: their roles there)."""
        return {g["name"] for g in self._get(f"/organizations/{org_id}/members/{user_id}/groups")}

    def join_organization_group(self, org_id: str, group_id: str, user_id: str) -> None:
        self.request("PUT", f"/organizations/{org_id}/groups/{group_id}/members/{user_id}", ok=(409,))

    def leave_organization_group(self, org_id: str, group_id: str, user_id: str) -> None:
        self.request("DELETE", f"/organizations/{org_id}/groups/{group_id}/members/{user_id}", ok=(404,))

    def set_user_enabled(self, user_id: str, enabled: bool) -> None:
        """Retire (disable) or reinstate a user: a disabled user cannot log in; history keeps their id."""
        rep = self._get(f"/users/{user_id}")
        if rep.get("enabled") != enabled:
            rep["enabled"] = enabled
            self.request("PUT", f"/users/{user_id}", json=rep)

    # -- users -------------------------------------------------------------------------------------------------
    def find_user(self, username: str) -> dict | None:
        users = self._get("/users", username=username, exact="true")
        return next((u for u in users if u.get("username") == username.lower()), None)

    def ensure_user(
        self,
        username: str,
        email: str,
        first: str,
        last: str,
        password: str | None = None,
        required_actions: list[str] | None = None,
        *,
        enabled: bool = True,
        email_verified: bool = True,
    ) -> str:
        """Create the user unless it exists; set ``password`` (not temporary) when given. Returns the user id.

        Without a password, pass e.g. ``required_actions=["UPDATE_PASSWORD"]`` (or send an execute-actions
        e-mail) so the person sets one at first login.
        """
        rep: dict[str, Any] = {
            "username": username,
            "email": email,
            "firstName": first,
            "lastName": last,
            "enabled": enabled,
            "emailVerified": email_verified,
            "requiredActions": list(required_actions or []),
        }
        response = self.request("POST", "/users", json=rep, ok=(409,))
        user_id = self._created_id(response) if response.status_code == 201 else None
        if user_id is None:
            existing = self.find_user(username)
            if existing is None:
                raise KeycloakAdminError(f"user {username}: {response.status_code} {response.text}", response.status_code)
            user_id = existing["id"]
        if password is not None:
            self.set_password(user_id, password)
        return user_id

    def set_password(self, user_id: str, password: str, temporary: bool = False) -> None:
        self.request(
            "PUT", f"/users/{user_id}/reset-password",
            json={"type": "password", "value": password, "temporary": temporary},
        )

    def delete_user(self, user_id: str) -> None:
        self.request("DELETE", f"/users/{user_id}", ok=(404,))

    def logout_user(self, user_id: str) -> None:
        """End all of the user's Keycloak sessions (sends back-channel logout to clients that have a URL)."""
        self.request("POST", f"/users/{user_id}/logout")

    # -- clients and roles -------------------------------------------------------------------------------------
    def find_client(self, client_id: str) -> dict | None:
        clients = self._get("/clients", clientId=client_id)
        return next((c for c in clients if c.get("clientId") == client_id), None)

    def client_uuid(self, client_id: str) -> str:
        if client_id not in self._client_uuids:
            client = self.find_client(client_id)
            if client is None:
                raise KeycloakAdminError(f"no client {client_id!r} in realm {self.realm}", 404)
            self._client_uuids[client_id] = client["id"]
        return self._client_uuids[client_id]

    def grant_client_roles(self, user_id: str, client_id: str = WEB_CLIENT_ID, roles: Iterable[str] = ()) -> None:
        uuid = self.client_uuid(client_id)
        reps = [self._get(f"/clients/{uuid}/roles/{quote(role, safe='')}") for role in roles]
        if reps:
            self.request("POST", f"/users/{user_id}/role-mappings/clients/{uuid}", json=reps)

    def revoke_client_roles(self, user_id: str, client_id: str = WEB_CLIENT_ID, roles: Iterable[str] = ()) -> None:
        uuid = self.client_uuid(client_id)
        reps = [self._get(f"/clients/{uuid}/roles/{quote(role, safe='')}") for role in roles]
        if reps:
            self.request("DELETE", f"/users/{user_id}/role-mappings/clients/{uuid}", json=reps)

    def client_roles_of(self, user_id: str, client_id: str = WEB_CLIENT_ID) -> set[str]:
        uuid = self.client_uuid(client_id)
        return {r["name"] for r in self._get(f"/users/{user_id}/role-mappings/clients/{uuid}")}

    def set_backchannel_logout_url(self, url: str, client_id: str = WEB_CLIENT_ID) -> None:
        """Point the client's OIDC back-channel logout at the app (absolute URL, e.g. http://127.0.0.1:8000/auth/backchannel-logout)."""
        uuid = self.client_uuid(client_id)
        rep = self._get(f"/clients/{uuid}")
        rep.setdefault("attributes", {})["backchannel.logout.url"] = url
        rep["attributes"]["backchannel.logout.session.required"] = "true"
        self.request("PUT", f"/clients/{uuid}", json=rep)

    def add_test_client_with_password_grant(self, client_id: str = TEST_CLIENT_ID, secret: str | None = None) -> str:
        """A client for tests that may use the password grant (never in the committed realm).

        Public when ``secret`` is None. Same audience mapper (access *and* ID token carry ``aud`` kyosei-web),
        same ``roles`` mapper and default scopes (``organization`` included) as kyosei-web. Returns its id.
        """
        rep = {
            "clientId": client_id,
            "name": "Kyosei tests (password grant)",
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": secret is None,
            "standardFlowEnabled": False,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": True,
            "serviceAccountsEnabled": False,
            "fullScopeAllowed": True,
            "frontchannelLogout": False,
            "redirectUris": [],
            "webOrigins": [],
            "attributes": {"use.refresh.tokens": "true"},
            "protocolMappers": [audience_mapper(WEB_CLIENT_ID, in_id_token=True), client_roles_mapper(WEB_CLIENT_ID),
                                organization_roles_mapper()],
        }
        if secret is not None:
            rep["clientAuthenticatorType"] = "client-secret"
            rep["secret"] = secret
        response = self.request("POST", "/clients", json=rep, ok=(409,))
        uuid = self._created_id(response) if response.status_code == 201 else None
        uuid = uuid or self.client_uuid(client_id)
        self._client_uuids[client_id] = uuid
        self._make_default_scopes(uuid, DEFAULT_SCOPES)
        return uuid

    def _make_default_scopes(self, uuid: str, names: Iterable[str]) -> None:
        # A new client gets the realm's optional scopes (``organization`` among them) as optional; Keycloak
        # ignores a PUT to default-client-scopes for a scope already linked as optional, so unlink it first.
        scopes = {s["name"]: s["id"] for s in self._get("/client-scopes")}
        default = {s["name"] for s in self._get(f"/clients/{uuid}/default-client-scopes")}
        optional = {s["name"] for s in self._get(f"/clients/{uuid}/optional-client-scopes")}
        for name in names:
            if name not in scopes or name in default:
                continue
            if name in optional:
                self.request("DELETE", f"/clients/{uuid}/optional-client-scopes/{scopes[name]}")
            self.request("PUT", f"/clients/{uuid}/default-client-scopes/{scopes[name]}")

    def delete_client(self, client_id: str) -> None:
        client = self.find_client(client_id)
        if client:
            self.request("DELETE", f"/clients/{client['id']}", ok=(404,))
        self._client_uuids.pop(client_id, None)

    # -- tokens for tests --------------------------------------------------------------------------------------
    def password_grant(
        self,
        username: str,
        password: str,
        client_id: str = TEST_CLIENT_ID,
        secret: str | None = None,
        scope: str = "openid",
    ) -> dict:
        """Tokens for a user through a password-grant client (see add_test_client_with_password_grant)."""
        data = {"grant_type": "password", "username": username, "password": password, "scope": scope}
        auth = None
        if secret is None:
            data["client_id"] = client_id
        else:
            auth = (client_id, secret)
        response = self.http.post(self.token_endpoint, data=data, auth=auth)
        if response.status_code != 200:
            raise KeycloakAdminError(
                f"password grant for {username} via {client_id}: {response.status_code} {response.text}",
                response.status_code,
            )
        return response.json()


def seed_demo_memberships(admin: KeycloakAdmin) -> int:
    """Apply the demo users' memberships and their roles in each organization (organization groups, which the
    realm import does not fill). Idempotent; returns how many memberships or group memberships were added."""
    orgs = {org["alias"]: org["id"] for org in admin.organizations()}
    added = 0
    groups: dict[str, dict[str, str]] = {}
    for username, _, _, codes, _ in DEMO_USERS:
        if not codes:
            continue
        user = admin.find_user(username)
        if user is None:
            raise KeycloakAdminError(f"demo user {username} is missing from realm {admin.realm}", 404)
        have = {o["alias"] for o in admin.user_organizations(user["id"])}
        for code in codes:
            if code not in have:
                admin.add_member(orgs[code], user["id"])
                added += 1
            if code not in groups:  # a realm imported before organization groups existed gets them now
                groups[code] = admin.ensure_role_groups(orgs[code], code)
            held = admin.member_groups(orgs[code], user["id"])
            for role in demo_roles(username, code):
                if role not in held and role in groups[code]:
                    admin.join_organization_group(orgs[code], groups[code][role], user["id"])
                    added += 1
    return added


def move_client_roles_into_organization_groups(admin: KeycloakAdmin, codes: Iterable[str] | None = None) -> int:
    """Upgrade a realm whose municipal roles were realm-wide ``kyosei-web`` client roles (before roles per
    municipality): every member of each organization gets, in that organization's role groups, the roles they held
    realm-wide (what they had in effect everywhere), then the realm-wide roles are taken away (``vendor`` stays).
    Only the organizations of ``codes`` when given. Idempotent; returns how many group memberships were added."""
    from infra.keycloak.realm import GLOBAL_ROLES, organization_groups as role_groups

    added = 0
    held_by_user: dict[str, set[str]] = {}
    only = set(codes) if codes is not None else None
    for org in admin.organizations():
        code = org.get("alias", "")
        if only is not None and code not in only:
            continue
        groups = admin.ensure_role_groups(org["id"], code)
        wanted_names = {g["name"] for g in role_groups(code)}
        for member in admin.members(org["id"]):
            uid = member["id"]
            if uid not in held_by_user:
                held_by_user[uid] = admin.client_roles_of(uid) - set(GLOBAL_ROLES)
            have = admin.member_groups(org["id"], uid)
            for role in sorted((held_by_user[uid] & wanted_names) - have):
                admin.join_organization_group(org["id"], groups[role], uid)
                added += 1
    for uid, roles in held_by_user.items():
        if roles:
            admin.revoke_client_roles(uid, roles=sorted(roles))
    return added
