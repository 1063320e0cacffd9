"""Authentication, tenant binding and CSRF for every request.

Order of business: find out who is asking (bearer token or session cookie), decide which tenant they act for
(from the token's organizations or the session, never from the URL or form), bind that tenant for the database
layer and the logs, check the CSRF token on unsafe cookie-authenticated requests, and turn away anyone who is
not logged in from everything but the public paths.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from urllib.parse import quote

import structlog
from litestar import Request
from litestar.response import Redirect, Response
from litestar.types import ASGIApp, Receive, Scope, Send

from core.auth.oidc import (
    IdentityProvider,
    IdentityProviderUnavailable,
    InvalidToken,
    organizations_of,
    roles_in,
    roles_of,
    stored_roles,
)
from core.auth.principal import Principal
from core.audit.trail import bind_actor
from core.auth.sessions import SessionStore
from core.database import utc_now
from core.problems import problem
from core.tenancy.context import bind_tenant

log = structlog.get_logger("kyosei.auth")

SESSION_COOKIE = "kyosei_session"
TENANT_HEADER = "x-kyosei-tenant"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# /survey-link/: a municipality without an account answers the prefecture's 実態調査 (ui/prefecture/survey.py)
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/static/", "/auth/", "/api/schema", "/favicon.ico", "/survey-link/")
# Answered without looking at the session at all (no database round trip): they show nothing personal.
SESSIONLESS_PREFIXES = ("/healthz", "/readyz", "/static/", "/favicon.ico")
CSRF_EXEMPT = ("/auth/backchannel-logout",)  # server-to-server, authenticated by a signed logout token
REFRESH_MARGIN = dt.timedelta(seconds=60)


class TenantRefused(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def session_cookie_name(secure: bool) -> str:
    # The __Host- prefix pins the cookie to our host and path "/" and requires Secure: only possible under https.
    return f"__Host-{SESSION_COOKIE}" if secure else SESSION_COOKIE


async def tenant_status(request: Request, tenant_id: str) -> str | None:
    from sqlalchemy import text

    async with request.app.state.control_engine.connect() as conn:
        return (
            await conn.execute(text("SELECT status FROM tenant WHERE tenant_id = :t"), {"t": tenant_id})
        ).scalar_one_or_none()


@functools.lru_cache(maxsize=64)  # the registry is fixed at start-up; every request of a tenant asks the same
def _tenant_name(code: str | None) -> str | None:
    from tenants.registry import InvalidLocalGovernmentCode, find

    if code is None:
        return None
    try:
        return find(code).name
    except InvalidLocalGovernmentCode:
        return code


def _is_public(path: str) -> bool:
    return path == "/auth" or path.startswith(PUBLIC_PREFIXES)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _from_bearer(request: Request, token: str) -> Principal:
    idp: IdentityProvider = request.app.state.idp
    claims = await idp.validate_access_token(token)
    # A token outlives its Keycloak session by up to its lifespan; a logged-out session's tokens stop at once.
    if await request.app.state.session_store.keycloak_session_ended(claims.get("sid")):
        raise InvalidToken("the Keycloak session of this token was logged out")
    organizations = organizations_of(claims)
    asked = request.headers.get(TENANT_HEADER)
    if asked is not None:
        if asked not in organizations:
            raise TenantRefused("tenant header names an organization the user does not belong to")
        tenant_id = asked
    elif len(organizations) == 1:
        tenant_id = organizations[0]
    elif not organizations:
        raise TenantRefused("user belongs to no municipality")
    else:
        raise TenantRefused("user belongs to several organizations: name one in X-Kyosei-Tenant")
    if await tenant_status(request, tenant_id) != "active":
        raise TenantRefused("tenant is not active")
    return Principal(
        sub=claims["sub"],
        username=claims.get("preferred_username", claims["sub"]),
        display_name=claims.get("name") or claims.get("preferred_username", ""),
        tenant_id=tenant_id,
        tenant_name=_tenant_name(tenant_id),
        roles=roles_of(claims, idp.client_id, tenant_id),
        organizations=organizations,
        via="bearer",
    )


async def _refresh_if_due(request: Request, store: SessionStore, raw: str, row) -> bool | list[str]:
    """Refresh the Keycloak tokens shortly before they expire. False when Keycloak says the login has ended; the
    roles read from the new token after a refresh; True when nothing changed."""
    if row.refresh_token is None or row.access_expires_at - utc_now() > REFRESH_MARGIN:
        return True
    idp: IdentityProvider = request.app.state.idp
    try:
        tokens = await idp.refresh(row.refresh_token)
    except IdentityProviderUnavailable:
        return True  # Keycloak is down: the local session keeps working until its own timeouts
    except InvalidToken:
        return False  # revoked or ended in Keycloak
    values = {}
    try:  # roles given or taken in Keycloak (staff management) apply from the next refresh, within minutes
        values["roles"] = stored_roles(await idp.validate_access_token(tokens.access_token), idp.client_id)
    except InvalidToken:
        return False
    await store.update(
        raw,
        refresh_token=tokens.refresh_token or row.refresh_token,
        id_token=tokens.id_token or row.id_token,
        access_expires_at=utc_now() + dt.timedelta(seconds=tokens.expires_in),
        **values,
    )
    return values["roles"]


def authentication_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if scope["path"].startswith(SESSIONLESS_PREFIXES) and scope["method"] in ("GET", "HEAD"):
            scope["user"] = None
            scope.setdefault("state", {}).update(csrf_token=None, session_raw=None)
            bind_tenant(None)
            bind_actor(None)
            await app(scope, receive, send)
            return
        request: Request = Request(scope, receive)
        path = request.url.path
        settings = request.app.state.settings
        store: SessionStore = request.app.state.session_store
        principal: Principal | None = None
        raw_session: str | None = None
        csrf_token: str | None = None
        row = None  # the web session, when the request came with a live session cookie
        clear_cookie = False

        async def respond(response: Response) -> None:
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)

        authorization = request.headers.get("authorization", "")
        try:
            if authorization.lower().startswith("bearer "):
                principal = await _from_bearer(request, authorization[7:].strip())
            else:
                raw_session = request.cookies.get(session_cookie_name(settings.https))
                row = await store.load(raw_session) if raw_session else None
                if raw_session and row is None:
                    clear_cookie, raw_session = True, None
                refreshed = await _refresh_if_due(request, store, raw_session, row) if row is not None else True
                if refreshed is False:
                    await store.delete(raw_session)
                    row, raw_session, clear_cookie = None, None, True
                if row is not None:
                    # the tenant's status came with the session row (one query, see SessionStore.load)
                    if row.tenant_id and row.tenant_status != "active":
                        await store.delete(raw_session)
                        log.warning("session ended: tenant not active", tenant=row.tenant_id, user=row.user_sub)
                        await respond(Redirect("/auth/refused?reason=suspended"))
                        return
                    csrf_token = row.csrf_token
                    principal = Principal(
                        sub=row.user_sub,
                        username=row.username,
                        display_name=row.display_name,
                        tenant_id=row.tenant_id,
                        tenant_name=_tenant_name(row.tenant_id),
                        roles=roles_in(refreshed if isinstance(refreshed, list) else row.roles, row.tenant_id),
                        organizations=tuple(row.organizations),
                        via="session",
                        session_id=raw_session,
                    )
                    asked = request.headers.get(TENANT_HEADER)
                    if asked is not None and asked != row.tenant_id:
                        raise TenantRefused("tenant header differs from the session's tenant")
        except InvalidToken as exc:
            log.warning("bearer token refused", reason=exc.reason, path=path)
            await respond(
                problem(401, "認証に失敗しました", "The access token is not valid.", request,
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            )
            return
        except IdentityProviderUnavailable:
            log.warning("identity provider unavailable while validating a token", path=path)
            await respond(problem(503, "認証サーバーに接続できません", "Keycloak is not reachable.", request))
            return
        except TenantRefused as exc:
            log.warning("tenant refused", reason=exc.reason, path=path,
                        user=principal.sub if principal else None)
            await respond(problem(403, "この団体のデータにはアクセスできません", exc.reason, request))
            return

        scope["user"] = principal
        scope.setdefault("state", {})["csrf_token"] = csrf_token
        scope["state"]["session_raw"] = raw_session
        if raw_session is not None and row is not None:
            scope["state"]["flashes_pending"] = row.flashes_pending
        bind_tenant(principal.tenant_id if principal else None)
        bind_actor(principal.sub if principal else None)
        if principal is not None:
            structlog.contextvars.bind_contextvars(tenant=principal.tenant_id, user=principal.sub)

        if request.method in UNSAFE_METHODS and principal is not None and principal.via == "session" \
                and not path.startswith(CSRF_EXEMPT):
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                sent = (await request.form()).get(CSRF_FIELD)
            if not sent or not secrets.compare_digest(str(sent), csrf_token or ""):
                log.warning("csrf token missing or wrong", path=path, user=principal.sub)
                await respond(problem(403, "画面の有効期限が切れました。もう一度操作してください", "CSRF token missing or invalid.", request))
                return

        if not _is_public(path):
            if principal is None:
                await respond(_login_required(request, clear_cookie, settings.https))
                return
            if principal.tenant_id is None:
                await respond(Redirect("/auth/tenant") if not _is_api(request) else
                              problem(403, "利用する団体を選択してください", "Choose a tenant first.", request))
                return

        if clear_cookie:
            async def send_clearing(message):
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", _expired_cookie(settings.https).encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await app(scope, receive, send_clearing)
            return
        await app(scope, receive, send)

    return middleware


def _expired_cookie(secure: bool) -> str:
    attrs = "; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
    return f"{session_cookie_name(secure)}={attrs}"


def _login_required(request: Request, clear_cookie: bool, secure: bool) -> Response:
    if _is_api(request):
        response = problem(401, "ログインが必要です", "Authentication required.", request,
                           headers={"WWW-Authenticate": "Bearer"})
    elif request.headers.get("hx-request"):
        response = Response("", status_code=401, headers={"HX-Redirect": "/auth/login"})
    else:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = Redirect(f"/auth/login?next={quote(target, safe='')}")
    if clear_cookie:
        response.headers["set-cookie"] = _expired_cookie(secure)
    return response
