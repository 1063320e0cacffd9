"""Security headers on every response: a strict Content-Security-Policy and friends, HSTS under https.

Scripts only from our own origin (htmx is served from /static), no plugins/objects, no <base> rewriting, no
framing. Forms may post to ourselves and be redirected on to Keycloak (logout), which form-action must allow.
Inline styles are allowed because htmx injects its indicator style; inline scripts are not.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(keycloak_origin: str | None) -> str:
    form_action = "'self'" + (f" {keycloak_origin}" if keycloak_origin else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"form-action {form_action}",
        ]
    )


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    cache: dict[str, list[tuple[bytes, bytes]]] = {}

    def headers_for(scope: Scope) -> list[tuple[bytes, bytes]]:
        if "headers" not in cache:
            settings = scope["app"].state.settings
            keycloak = settings.keycloak_url or f"http://127.0.0.1:{settings.keycloak_port}"
            headers = [
                (b"content-security-policy", content_security_policy(origin_of(keycloak)).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"same-origin"),
                (b"x-frame-options", b"DENY"),
                (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            ]
            if settings.https:
                headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
            cache["headers"] = headers
        return cache["headers"]

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        extra = headers_for(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", [])) + [(n, v) for n, v in extra if n not in present]
                if not scope["path"].startswith("/static/") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))  # personal pages never sit in any cache
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
