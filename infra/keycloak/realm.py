"""The ``kochi`` realm for development and tests, generated from the municipality registry CSV.

``python -m infra.keycloak.realm`` rewrites ``infra/keycloak/realm-kochi.json`` (committed). The realm holds:

- one organization per municipality plus the prefecture: name 中土佐町, alias 394017 (the 6-digit code),
  domain ``394017.kochi.invalid`` (reserved TLD, never resolves), attributes code/kind/kana/romaji;
- the confidential web client ``kyosei-web`` (authorization code + PKCE S256 only) and its client roles;
- the service-account client ``kyosei-admin`` used for onboarding (see admin.py);
- demo users, all with password ``kyosei-demo``, and their organization memberships (imported with the realm);
- **roles per municipality**: each organization has its own groups (Keycloak 26.6+ organization groups), one per
  role (``staff``, ``coordinator``, ``tenant-admin``, ``auditor``; the prefecture: ``prefecture-admin``,
  ``auditor``), each mapped to the ``kyosei-web`` client role of the same name. The web client's
  ``oidc-organization-group-membership-mapper`` (with ``addGroupRoleMappings``) puts, under each organization
  of the token's ``organization`` claim, that organization's groups and the roles they carry, so a role held in
  one municipality never shows in another (see docs/roles.md). Plugin roles (中土佐町's 包括化推進員A–E) are
  further organization groups created by the staff-management page when first given.

Every secret here is a local development value; production realms are managed elsewhere.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

REALM = "kochi"
WEB_CLIENT_ID = "kyosei-web"
WEB_CLIENT_SECRET = "kyosei-web-dev-secret"
ADMIN_CLIENT_ID = "kyosei-admin"
ADMIN_CLIENT_SECRET = "kyosei-admin-dev-secret"
DEMO_PASSWORD = "kyosei-demo"
PREFECTURE = {"code": "390003", "name": "高知県", "kana": "こうちけん", "romaji": "Kochi", "kind": "prefecture"}
ORG_DOMAIN_SUFFIX = "kochi.invalid"
BACKCHANNEL_LOGOUT_PATH = "/auth/backchannel-logout"

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CSV_PATH = PROJECT_ROOT / "tenants" / "data" / "kochi_municipalities.csv"
REALM_JSON = Path(__file__).with_name("realm-kochi.json")

# Stable ids, so organization ids and user subs are the same on every fresh import.
_NAMESPACE = uuid.UUID("6f0d1b8e-5a2c-4c1e-9d8a-4b6f2a0c7e31")

ROLES = {
    "staff": "職員",
    "coordinator": "包括化推進員・コーディネーター",
    "tenant-admin": "団体管理者",
    "prefecture-admin": "県管理者",
    "auditor": "監査担当",
    "vendor": "プラグイン事業者",
}

# The service account may create organizations and users, add members, map client roles, and register test
# clients. (realm-management roles; "manage-realm" covers the organization endpoints.)
ADMIN_SERVICE_ROLES = [
    "manage-realm",
    "view-realm",
    "manage-users",
    "view-users",
    "query-users",
    "query-groups",
    "manage-clients",
    "view-clients",
    "query-clients",
    "query-realms",
]

# Roles held through organization groups (per municipality); ``vendor`` is the one role held outside any
# municipality (a vendor is no member of an organization) and stays a plain client role.
MUNICIPAL_ROLES = ("staff", "coordinator", "tenant-admin", "auditor")
PREFECTURE_ROLES = ("prefecture-admin", "auditor")
GLOBAL_ROLES = ("vendor",)

# (username, family name, given name, organizations, kyosei-web roles in each of them; see DEMO_ROLES_PER_ORG)
DEMO_USERS: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("nakatosa.yamamoto", "山本", "花子", ("394017",), ("staff", "coordinator")),
    ("nakatosa.admin", "中土佐", "管理者", ("394017",), ("staff", "tenant-admin")),
    ("nakatosa.staff2", "中村", "健", ("394017",), ("staff",)),
    ("nankoku.tanaka", "田中", "美咲", ("392049",), ("staff", "coordinator")),
    ("nankoku.admin", "南国", "管理者", ("392049",), ("tenant-admin",)),
    ("kochi.suzuki", "鈴木", "一郎", ("392014",), ("staff",)),
    ("pref.admin", "高知", "県子", ("390003",), ("prefecture-admin",)),
    ("multi.sato", "佐藤", "誠", ("394017", "392049"), ("staff",)),  # tenant-admin in 中土佐町 only, below
    ("nobody.ito", "伊藤", "無所属", (), ("staff",)),
    ("vendor.kimura", "木村", "開発", ("390003",), ("vendor",)),  # vendors sit in 高知県 with the vendor role only
]

# Where a demo user's roles differ between their municipalities: multi.sato runs 中土佐町 and is staff in 南国市.
DEMO_ROLES_PER_ORG: dict[str, dict[str, tuple[str, ...]]] = {
    "multi.sato": {"394017": ("staff", "tenant-admin"), "392049": ("staff",)},
}


def demo_roles(username: str, code: str) -> tuple[str, ...]:
    """The roles ``username`` holds in organization ``code`` (empty when not a member)."""
    for name, _, _, orgs, roles in DEMO_USERS:
        if name == username and code in orgs:
            return DEMO_ROLES_PER_ORG.get(name, {}).get(code, roles)
    return ()


DEFAULT_SCOPES = ["basic", "acr", "web-origins", "profile", "email", "roles", "organization"]
OPTIONAL_SCOPES = ["offline_access", "address", "phone", "microprofile-jwt"]


def stable_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def load_municipalities(path: Path = CSV_PATH) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]
    if len(rows) != 34:
        raise ValueError(f"{path}: expected the 34 municipalities of Kochi, found {len(rows)}")
    return rows


def organization_roles(code: str) -> tuple[str, ...]:
    """The roles an organization has groups for (the prefecture's differ from a municipality's)."""
    return PREFECTURE_ROLES if code == PREFECTURE["code"] else MUNICIPAL_ROLES


def organization_groups(code: str) -> list[dict]:
    """The organization's role groups: one per role, carrying the ``kyosei-web`` client role of the same name."""
    return [{"id": organization_group_id(code, role), "name": role, "attributes": {"kyosei.role": [role]},
             "clientRoles": {WEB_CLIENT_ID: [role]}} for role in organization_roles(code)]


def organization_group_id(code: str, role: str) -> str:
    """Stable id of an organization's role group: the realm import names a member's groups by id."""
    return stable_id("organization-group", f"{code}/{role}")


def organization(entry: dict[str, str]) -> dict:
    code = entry["code"]
    return {
        "id": stable_id("organization", code),
        "name": entry["name"],
        "alias": code,
        "enabled": True,
        "description": f"{entry['name']}（{entry['romaji']}）",
        "domains": [{"name": f"{code}.{ORG_DOMAIN_SUFFIX}", "verified": False}],
        "attributes": {
            "code": [code],
            "kind": [entry["kind"]],
            "kana": [entry["kana"]],
            "romaji": [entry["romaji"]],
        },
        "groups": organization_groups(code),
    }


def audience_mapper(audience: str = WEB_CLIENT_ID, *, in_id_token: bool = False) -> dict:
    return {
        "name": f"audience {audience}",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "consentRequired": False,
        "config": {
            "included.client.audience": audience,
            "access.token.claim": "true",
            "id.token.claim": "true" if in_id_token else "false",
            "introspection.token.claim": "true",
        },
    }


def client_roles_mapper(client_id: str = WEB_CLIENT_ID, claim: str = "roles") -> dict:
    """``roles``: a flat list of the user's kyosei-web roles, in ID token, access token and userinfo."""
    return {
        "name": f"{client_id} roles as {claim}",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-usermodel-client-role-mapper",
        "consentRequired": False,
        "config": {
            "usermodel.clientRoleMapping.clientId": client_id,
            "claim.name": claim,
            "jsonType.label": "String",
            "multivalued": "true",
            "id.token.claim": "true",
            "access.token.claim": "true",
            "userinfo.token.claim": "true",
            "introspection.token.claim": "true",
        },
    }


def organization_roles_mapper() -> dict:
    """Each organization's groups and the roles they carry, under that organization in the ``organization`` claim:
    ``{"394017": {"groups": ["/staff"], "resource_access": {"kyosei-web": {"roles": ["staff"]}}}}``."""
    return {
        "name": "organization groups and roles",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-organization-group-membership-mapper",
        "consentRequired": False,
        "config": {
            "addGroupRoleMappings": "true",
            "access.token.claim": "true",
            "id.token.claim": "true",
            "introspection.token.claim": "true",
        },
    }


def web_client() -> dict:
    return {
        "clientId": WEB_CLIENT_ID,
        "name": "共生 Kyosei",
        "description": "Kyosei web application (authorization code flow with PKCE)",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": WEB_CLIENT_SECRET,
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "bearerOnly": False,
        "consentRequired": False,
        "fullScopeAllowed": True,
        "frontchannelLogout": False,
        # Keycloak ignores the port of http://127.0.0.1 and http://localhost redirect URIs when the registered
        # URI has none (RFC 8252 loopback rule), so these accept any test port. "*" is only allowed at the end.
        "redirectUris": ["http://127.0.0.1/*", "http://localhost/*"],
        "webOrigins": ["+"],
        "attributes": {
            "pkce.code.challenge.method": "S256",
            "post.logout.redirect.uris": "+",  # "+": the same patterns as redirectUris
            "backchannel.logout.session.required": "true",
            "backchannel.logout.revoke.offline.tokens": "false",
            # Absolute URL of the app's /auth/backchannel-logout; the port is only known at run time, so the app
            # (or a test) sets it through admin.KeycloakAdmin.set_backchannel_logout_url().
            "backchannel.logout.url": "",
            "use.refresh.tokens": "true",
            "client_credentials.use_refresh_token": "false",
            "display.on.consent.screen": "false",
        },
        "protocolMappers": [audience_mapper(), client_roles_mapper(), organization_roles_mapper()],
        "defaultClientScopes": DEFAULT_SCOPES,
        "optionalClientScopes": OPTIONAL_SCOPES,
    }


def admin_client() -> dict:
    return {
        "clientId": ADMIN_CLIENT_ID,
        "name": "Kyosei onboarding service account",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": ADMIN_CLIENT_SECRET,
        "standardFlowEnabled": False,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": True,
        "fullScopeAllowed": True,
        "frontchannelLogout": False,
        "redirectUris": [],
        "webOrigins": [],
        "attributes": {"client_credentials.use_refresh_token": "false"},
        "defaultClientScopes": ["basic", "acr", "roles", "profile"],
        "optionalClientScopes": [],
    }


def demo_user(username: str, family: str, given: str, orgs: tuple[str, ...], roles: tuple[str, ...]) -> dict:
    return {
        "id": stable_id("user", username),
        "username": username,
        "enabled": True,
        "email": f"{username}@example.jp",
        "emailVerified": True,
        "firstName": given,
        "lastName": family,
        "attributes": {"locale": ["ja"]},
        "credentials": [{"type": "password", "value": DEMO_PASSWORD, "temporary": False}],
        "requiredActions": [],
        # Users created through the admin API get the realm's default roles; give imported users the same.
        "realmRoles": [f"default-roles-{REALM}"],
        # Municipal roles come from organization groups; only a role held outside any organization stays here.
        "clientRoles": {WEB_CLIENT_ID: [r for r in roles if r in GLOBAL_ROLES or not orgs]},
    }


def build_realm(csv_path: Path = CSV_PATH) -> dict:
    municipalities = load_municipalities(csv_path)
    organizations = [organization(PREFECTURE)] + [organization(m) for m in municipalities]
    by_alias = {org["alias"]: org for org in organizations}
    for username, _, _, orgs, _ in DEMO_USERS:
        for code in orgs:
            by_alias[code].setdefault("members", []).append({
                "username": username, "membershipType": "UNMANAGED",
                # the member's organization groups, by id (Keycloak 26.7 imports them so, not by path); a global
                # role (vendor.kimura's ``vendor`` in 高知県, issue 20) has no organization group: it stays a client
                # role of the user (demo_user), and naming a group that does not exist stops the realm import
                "groups": [organization_group_id(code, role) for role in demo_roles(username, code)
                           if role not in GLOBAL_ROLES],
            })

    users = [demo_user(*entry) for entry in DEMO_USERS]
    users.append(
        {
            "id": stable_id("user", f"service-account-{ADMIN_CLIENT_ID}"),
            "username": f"service-account-{ADMIN_CLIENT_ID}",
            "enabled": True,
            "serviceAccountClientId": ADMIN_CLIENT_ID,
            "clientRoles": {"realm-management": ADMIN_SERVICE_ROLES},
        }
    )
    return {
        "id": REALM,
        "realm": REALM,
        "displayName": "高知県 共生（Kyosei）",
        "enabled": True,
        "sslRequired": "external",
        "registrationAllowed": False,
        "loginWithEmailAllowed": True,
        "duplicateEmailsAllowed": False,
        "resetPasswordAllowed": False,
        "editUsernameAllowed": False,
        "rememberMe": False,
        # Login rate limiting per user: after 5 failures the account waits 60 s, growing to at most 15 minutes.
        "bruteForceProtected": True,
        "permanentLockout": False,
        "failureFactor": 5,
        "waitIncrementSeconds": 60,
        "maxFailureWaitSeconds": 900,
        "maxDeltaTimeSeconds": 43200,
        "quickLoginCheckMilliSeconds": 1000,
        "minimumQuickLoginWaitSeconds": 60,
        "organizationsEnabled": True,
        "loginTheme": "kyosei",  # keycloak.v2 with an accessibility repair (infra/keycloak/themes/kyosei)
        "internationalizationEnabled": True,
        "supportedLocales": ["ja", "en"],
        "defaultLocale": "ja",
        "accessTokenLifespan": 300,
        "ssoSessionIdleTimeout": 1800,
        "ssoSessionMaxLifespan": 36000,
        "roles": {
            "client": {
                WEB_CLIENT_ID: [
                    {"name": name, "description": description, "clientRole": True}
                    for name, description in ROLES.items()
                ]
            }
        },
        "clients": [web_client(), admin_client()],
        "users": users,
        "organizations": organizations,
    }


def write_realm(path: Path = REALM_JSON, csv_path: Path = CSV_PATH) -> Path:
    text = json.dumps(build_realm(csv_path), ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_realm())
