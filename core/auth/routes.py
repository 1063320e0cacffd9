"""Login, callback, tenant choice, logout and back-channel logout (OIDC authorization code flow with PKCE)."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

import structlog
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template
from typing import Annotated

from core.auth.middleware import session_cookie_name, tenant_status
from core.auth.oidc import (
    IdentityProvider,
    IdentityProviderUnavailable,
    InvalidToken,
    PkcePair,
    display_name_of,
    kana_name_of,
    organizations_of,
    stored_roles,
)
from core.auth.sessions import NewSession, SessionStore
from core.auth.staff_directory import record_sign_in
from core.database import utc_now
from core.problems import problem

log = structlog.get_logger("kyosei.auth")

LOGIN_COOKIE = "kyosei_login"

REFUSALS = {
    "no-organization": (
        "所属団体が登録されていません",
        "このアカウントはどの市町村にも所属していないため、共生を利用できません。所属先の管理者にお問い合わせください。",
    ),
    "not-tenant": (
        "所属団体は共生の利用団体ではありません",
        "所属する市町村はまだ共生の利用を開始していません。県の担当者にお問い合わせください。",
    ),
    "suspended": (
        "利用が停止されています",
        "所属する団体の共生の利用は現在停止されています。データは保持されています。県の担当者にお問い合わせください。",
    ),
    "login-failed": (
        "ログインできませんでした",
        "ログイン処理を完了できませんでした。お手数ですが、もう一度ログインしてください。",
    ),
}


def _safe_return_to(value: str | None) -> str:
    """Only same-site paths: an open redirect after login would be a phishing tool."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def _unavailable(request: Request) -> Response:
    log.warning("identity provider unavailable at login")
    if request.url.path.startswith("/api/"):
        return problem(503, "認証サーバーに接続できません", "Keycloak is not reachable.", request)
    return Template(
        "error.html",
        context={
            "status_code": 503,
            "title": "ただいま認証サーバーに接続できません",
            "message": "ログインに使う認証サーバー（Keycloak）が応答していません。しばらく待ってから、もう一度お試しください。"
            "ログイン済みの方はそのまま利用を続けられます。",
        },
        status_code=503,
    )


def _logged_out_locally() -> Response:
    return Template(
        "error.html",
        context={
            "status_code": 503,
            "principal": None,
            "logged_out": True,
            "title": "ログアウトしました（認証サーバーに接続できません）",
            "message": "共生からはログアウトしました。ただし認証サーバー（Keycloak）が応答していないため、"
            "認証サーバー側のログインは終了できていません。共用の端末では、ブラウザーをすべて閉じてください。",
        },
        status_code=503,
    )


def _cookie_kwargs(request: Request) -> dict:
    secure = request.app.state.settings.https
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}


class AuthController(Controller):
    path = "/auth"
    include_in_schema = False

    @get("/login")
    async def login(self, request: Request, next: FromQuery[str | None] = None) -> Response:
        idp: IdentityProvider = request.app.state.idp
        store: SessionStore = request.app.state.session_store
        settings = request.app.state.settings
        pkce = PkcePair.new()
        nonce = secrets.token_urlsafe(32)
        try:
            await idp.metadata(fresh=True)  # Keycloak must answer now, not just have answered once
        except IdentityProviderUnavailable:
            return _unavailable(request)
        state = await store.begin_login(nonce=nonce, code_verifier=pkce.verifier, return_to=_safe_return_to(next))
        url = await idp.authorization_url(
            redirect_uri=f"{settings.public_url}/auth/callback", state=state, nonce=nonce, code_challenge=pkce.challenge
        )
        response = Redirect(url)
        # Binds the attempt to this browser: a callback with someone else's state is refused (login CSRF).
        response.set_cookie(LOGIN_COOKIE, state, max_age=600, **_cookie_kwargs(request))
        return response

    @get("/callback")
    async def callback(
        self,
        request: Request,
        # "state" is a reserved parameter name in Litestar: read the query parameter under another name.
        oidc_state: Annotated[str | None, QueryParameter(name="state")] = None,
        code: FromQuery[str | None] = None,
        error: FromQuery[str | None] = None,
    ) -> Response:
        state = oidc_state
        idp: IdentityProvider = request.app.state.idp
        store: SessionStore = request.app.state.session_store
        settings = request.app.state.settings
        if error or not state or not code or request.cookies.get(LOGIN_COOKIE) != state:
            log.warning("login callback refused", reason=error or "state missing or not bound to this browser")
            return Redirect("/auth/refused?reason=login-failed")
        attempt = await store.take_login(state)
        if attempt is None:
            log.warning("login callback refused", reason="unknown or expired state")
            return Redirect("/auth/refused?reason=login-failed")
        try:
            tokens = await idp.exchange_code(
                code=code, code_verifier=attempt.code_verifier, redirect_uri=f"{settings.public_url}/auth/callback"
            )
            id_claims = await idp.validate_id_token(tokens.id_token or "", nonce=attempt.nonce)
            access_claims = await idp.validate_access_token(tokens.access_token)
        except IdentityProviderUnavailable:
            return _unavailable(request)
        except InvalidToken as exc:
            log.warning("login refused: token invalid", reason=exc.reason)
            return Redirect("/auth/refused?reason=login-failed")
        if access_claims["sub"] != id_claims["sub"]:
            return Redirect("/auth/refused?reason=login-failed")

        organizations = organizations_of(access_claims) or organizations_of(id_claims)
        active = [code for code in organizations if await tenant_status(request, code) == "active"]
        if not organizations or not active:
            reason = "no-organization" if not organizations else (
                "suspended" if any([await tenant_status(request, c) == "suspended" for c in organizations]) else "not-tenant"
            )
            log.warning("login refused", reason=reason, user=id_claims["sub"])
            return await _refusal(request, reason, id_token=tokens.id_token)

        tenant_id = active[0] if len(active) == 1 else None
        raw, _ = await store.create(
            NewSession(
                user_sub=id_claims["sub"],
                username=id_claims.get("preferred_username", id_claims["sub"]),
                display_name=display_name_of(id_claims),
                organizations=list(active),
                tenant_id=tenant_id,
                roles=stored_roles(access_claims, idp.client_id),
                keycloak_sid=id_claims.get("sid"),
                id_token=tokens.id_token or "",
                refresh_token=tokens.refresh_token,
                access_expires_at=utc_now() + dt.timedelta(seconds=tokens.expires_in),
            )
        )
        log.info("login", user=id_claims["sub"], organizations=len(active))
        if tenant_id is not None:  # a user of several municipalities is listed when they choose one
            await record_sign_in(request.app.state.engine, tenant_id, sub=id_claims["sub"],
                                 username=id_claims.get("preferred_username", id_claims["sub"]),
                                 display_name=display_name_of(id_claims), kana=kana_name_of(id_claims))
        response = Redirect(attempt.return_to if len(active) == 1 else "/auth/tenant")
        response.set_cookie(session_cookie_name(settings.https), raw, **_cookie_kwargs(request))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @get("/tenant")
    async def choose_tenant_page(self, request: Request) -> Response:
        principal = request.scope.get("user")
        if principal is None:
            return Redirect("/auth/login")
        from tenants.registry import find

        return Template(
            "auth/choose_tenant.html",
            context={
                "tenants": [{"tenant_id": c, "name": find(c).name} for c in principal.organizations],
                "principal": principal,
                "csrf_token": request.scope["state"].get("csrf_token"),
            },
        )

    @post("/tenant")
    async def choose_tenant(
        self,
        request: Request,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response:
        principal = request.scope.get("user")
        if principal is None or principal.via != "session":
            return Redirect("/auth/login")
        chosen = data.get("tenant_id", "")
        if chosen not in principal.organizations:
            log.warning("tenant choice refused: not a member", user=principal.sub)
            return problem(403, "この団体のデータにはアクセスできません", "Not a member of that organization.", request)
        if await tenant_status(request, chosen) != "active":
            return Redirect("/auth/refused?reason=suspended")
        await request.app.state.session_store.update(principal.session_id, tenant_id=chosen)
        await record_sign_in(request.app.state.engine, chosen, sub=principal.sub, username=principal.username,
                             display_name=principal.display_name)
        return Redirect("/")

    @post("/logout")
    async def logout(self, request: Request) -> Response:
        store: SessionStore = request.app.state.session_store
        idp: IdentityProvider = request.app.state.idp
        settings = request.app.state.settings
        principal = request.scope.get("user")
        raw = request.scope["state"].get("session_raw")
        id_token = None
        if raw:
            row = await store.load(raw)
            id_token = row.id_token if row else None
            if row is not None:
                await store.end_keycloak_session(row.keycloak_sid)
            await store.delete(raw)
            log.info("logout", user=principal.sub if principal else None)
        target = f"{settings.public_url}/"
        if id_token:
            try:
                await idp.metadata(fresh=True)  # else the browser would be sent to a Keycloak that is down
                target = await idp.end_session_url(id_token_hint=id_token, post_logout_redirect_uri=f"{settings.public_url}/")
            except IdentityProviderUnavailable:
                # The local session is gone either way; the page says so, and that the Keycloak login may live on.
                log.warning("logout: identity provider unavailable, Keycloak login not ended")
                target = "/auth/logged-out"
        response = Redirect(target)
        response.delete_cookie(session_cookie_name(settings.https), path="/")
        # The tab's storage and cache may hold pages with personal data (htmx history): the browser drops them now
        # (ui/static/session-end.js does the same from the page, for browsers that ignore this header).
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response

    @get("/logged-out")
    async def logged_out(self) -> Response:
        """Where logout lands when Keycloak did not answer: out of Kyosei, but Keycloak's login was not ended."""
        return _logged_out_locally()

    @post("/backchannel-logout", status_code=200)
    async def backchannel_logout(
        self,
        request: Request,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response:
        """Keycloak calls this when a login ends there (admin action, other client's logout, expiry)."""
        idp: IdentityProvider = request.app.state.idp
        try:
            claims = await idp.validate_logout_token(data.get("logout_token", ""))
        except InvalidToken as exc:
            log.warning("back-channel logout refused", reason=exc.reason)
            return problem(400, "ログアウト要求が不正です", "invalid logout token", request)
        except IdentityProviderUnavailable:
            return problem(503, "認証サーバーに接続できません", None, request)
        await request.app.state.session_store.end_keycloak_session(claims.get("sid"))
        ended = await request.app.state.session_store.delete_by_keycloak(sid=claims.get("sid"), sub=claims.get("sub"))
        log.info("back-channel logout", sessions_ended=ended)
        return Response(b"", status_code=200, headers={"Cache-Control": "no-store"})

    @get("/refused")
    async def refused(self, request: Request, reason: FromQuery[str] = "login-failed") -> Response:
        return await _refusal(request, reason)


async def _refusal(request: Request, reason: str, id_token: str | None = None) -> Response:
    """A clear refusal page; with the ID token at hand it offers to end the Keycloak login as well."""
    title, message = REFUSALS.get(reason, REFUSALS["login-failed"])
    settings = request.app.state.settings
    logout_url = None
    if id_token:
        try:
            logout_url = await request.app.state.idp.end_session_url(
                id_token_hint=id_token, post_logout_redirect_uri=f"{settings.public_url}/"
            )
        except IdentityProviderUnavailable:
            logout_url = None
    return Template(
        "auth/refused.html",
        context={"title": title, "message": message, "principal": None, "logout_url": logout_url, "reason": reason},
        status_code=403,
    )
