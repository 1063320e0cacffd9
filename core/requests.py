"""Outermost ASGI middleware: a request id for every request, and one canonical log line when it ends."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("kyosei.request")

# An incoming X-Request-ID is trusted only when it looks like an id, so nobody can inject text into our logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")
# Paths whose last part is a secret (a one-time survey link, ui/prefecture/survey.py): logged without it.
_SECRET_IN_PATH = re.compile(r"^(/survey-link/)[^/]+")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            # Path only: query strings can carry search terms (names), which must never reach a log.
            log.info(
                "request",
                method=scope["method"],
                path=_SECRET_IN_PATH.sub(r"\1[secret]", scope["path"]),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()

    return middleware


def head_as_get(scope: Scope, send: Send) -> tuple[Scope, Send]:
    """``HEAD`` wherever ``GET`` works (RFC 9110 §9.3.2): the request runs as GET and the body is dropped, so the
    status and headers (Content-Length, Content-Type …) are exactly the GET's. Handlers declare GET only.

    Called before routing (``core.app.KyoseiApp``): Litestar routes HEAD only to explicit ``@head`` handlers.
    """

    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return {**scope, "method": "GET"}, send_headers_only
