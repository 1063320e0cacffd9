"""Errors as people should see them: a Japanese page for a browser, problem+json for an API client.

A traceback never reaches the user. Unexpected exceptions are logged (path and method only: query strings and
bodies can carry names and search terms) and answered with 500 and the request id, which staff quote to support.

What an error says:
- 4xx ``HTTPException``: its ``detail`` when the raiser wrote one, else the Japanese default for the status
  (Litestar's English defaults such as "Not Found" are replaced).
- 503: the same, so a caller can be specific (``ServiceUnavailableException(detail="ただいま認証サーバーに
  接続できません")``).
- any other 5xx and every unexpected exception: only the Japanese default; their details are for the log.
"""

from __future__ import annotations

from html import escape
from http import HTTPStatus
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from core.problems import problem
from ui.labels import error_text
from ui.templating import shell_context

log = structlog.get_logger("kyosei.errors")

_HTML_TYPES = ["text/html", "application/xhtml+xml"]
_JSON_TYPES = ["application/json", "application/problem+json"]

# A bare page for when error.html itself cannot be rendered (no template engine, a broken template).
_FALLBACK_PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body><h1>{title}</h1><p>{message}</p>{request_id}<p><a href="/">ホームへ戻る</a></p></body></html>'
)


def wants_html(request: Request) -> bool:
    """A browser page unless the path is the API's or the client asked for JSON rather than HTML."""
    path = request.url.path
    if path == "/api" or path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    if not accept:
        return True
    try:
        best = request.accept.best_match(_HTML_TYPES + _JSON_TYPES, default="text/html")
    except Exception:  # a malformed Accept header is no reason to fail the error response itself
        return True
    return best in _HTML_TYPES


def _user_detail(exc: HTTPException) -> str | None:
    """The raiser's own words, when they are meant for the user (see the module docstring)."""
    status = exc.status_code
    if status >= 500 and status != 503:
        return None
    detail = (exc.detail or "").strip()
    try:
        default = HTTPStatus(status).phrase
    except ValueError:
        default = ""
    return None if not detail or detail == default else detail


def _field_errors(exc: HTTPException) -> list[dict[str, Any]] | None:
    if not isinstance(exc, ValidationException) or not isinstance(exc.extra, list):
        return None
    return [
        {k: e[k] for k in ("key", "message", "source") if k in e and e[k] is not None}
        for e in exc.extra
        if isinstance(e, dict)
    ] or None


def _render_page(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {
        **shell_context(request),
        "status_code": status,
        "title": title,
        "message": message,
        "errors": errors,
    }
    try:
        engine = request.app.template_engine
        if engine is None:
            raise LookupError("no template engine configured")
        body = engine.get_template("error.html").render(**context)
    except Exception:
        log.exception("error_page_render_failed", status=status, path=request.url.path)
        rid = context["request_id"]
        body = _FALLBACK_PAGE.format(
            title=escape(title),
            message=escape(message),
            request_id=f"<p>受付番号: <code>{escape(rid)}</code></p>" if rid else "",
        )
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=headers)


def respond(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    message: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error response in the form the client wants; title and message default to the status's Japanese text.

    Views may call it directly for an error they handle themselves (e.g. the 503 of an unreachable Keycloak).
    """
    text = error_text(status)
    title = title or text.title
    headers = dict(headers or {})
    vary = headers.pop("Vary", headers.pop("vary", ""))
    # The same URL answers HTML or JSON depending on Accept, so caches must key on it.
    headers["Vary"] = f"{vary}, Accept" if vary and "accept" not in vary.lower() else (vary or "Accept")
    if wants_html(request):
        return _render_page(request, status, title, message or text.message, errors=errors, headers=headers)
    return problem(status, title, message, request, errors=errors, headers=headers)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500 and status != 503:
        log.error(
            "http_error",
            status=status,
            method=request.method,
            path=request.url.path,
            exc_type=type(exc).__name__,
            exc_info=exc,
        )
    detail = _user_detail(exc)
    if isinstance(exc, ValidationException) and detail and detail.startswith("Validation failed for "):
        detail = None  # Litestar's own wording repeats the full URL, query string (search terms) included
    # exc.headers carries Allow (405), Retry-After (429, 503) and WWW-Authenticate (401): they must survive.
    return respond(request, status, message=detail, errors=_field_errors(exc), headers=dict(exc.headers or {}))


def unexpected_exception_handler(request: Request, exc: Exception) -> Response:
    log.exception(
        "unhandled_exception",
        method=request.method,
        path=request.url.path,
        exc_type=type(exc).__name__,
        exc_info=exc,
    )
    return respond(request, 500)


# SQLSTATEs that mean "the database cannot take this now", not "the program is wrong": the user gets a clear
# 503 and may retry; nothing was written because the transaction rolled back with the error.
_DATABASE_UNAVAILABLE = {
    "25006": ("データベースが読み取り専用になっています", "現在データベースは読み取り専用のため、保存できません。管理者にお問い合わせください。"),
    "53100": ("データベースの容量が不足しています", "データベースの容量が不足しているため、保存できませんでした。管理者にお問い合わせください。"),
    "53200": ("データベースのメモリが不足しています", None),
    "53300": ("データベースへの接続が混み合っています", "しばらく待ってから、もう一度お試しください。"),
    "57P01": ("データベースが再起動中です", "しばらく待ってから、もう一度お試しください。"),
    "57P02": ("データベースが再起動中です", "しばらく待ってから、もう一度お試しください。"),
    "57P03": ("データベースが起動中です", "しばらく待ってから、もう一度お試しください。"),
}
_RESTART_MESSAGE = "データベースに接続できません。しばらく待ってから、もう一度お試しください。"
# Whole classes: 08 connection exception, 53 insufficient resources (also 53000 and 53400, e.g. temp_file_limit).
_UNAVAILABLE_CLASSES = {
    "08": ("データベースに接続できません", None),
    "53": ("データベースの資源が不足しています", "データベースの資源が不足しているため、処理できませんでした。管理者にお問い合わせください。"),
}


# Two requests for the same thing at once (a double click, two staff on one record): the database let one through
# and refused the other at a unique key or as a serialization failure. The refused one's transaction rolled back,
# so nothing of it was written; the user is told to look at the result instead of meeting a server error.
_RACE_LOST = {"23505", "40001", "40P01"}  # unique_violation, serialization_failure, deadlock_detected
_RACE_TITLE = "同じ操作が同時に行われました"
_RACE_MESSAGE = "先に届いた操作のほうを保存しました。画面を開き直して、結果を確かめてください。"


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None), getattr(getattr(exc, "orig", None), "__cause__", None), exc.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def database_error_handler(request: Request, exc: Exception) -> Response:
    """Operational database failures (restart, read-only, disk full, lost connection) → 503, a request that lost a
    race with its twin → 409; never 500."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    state = _sqlstate(exc)
    known = _DATABASE_UNAVAILABLE.get(state or "") or _UNAVAILABLE_CLASSES.get((state or "")[:2])
    if known or isinstance(exc, (DisconnectionError, InterfaceError, OperationalError, OSError, TimeoutError)):
        title, message = known or ("データベースに接続できません", None)
        log.warning("database_unavailable", sqlstate=state, exc_type=type(exc).__name__, path=request.url.path)
        return respond(request, 503, title=title, message=message or _RESTART_MESSAGE, headers={"Retry-After": "5"})
    if state in _RACE_LOST:
        log.warning("database_race_lost", sqlstate=state, exc_type=type(exc).__name__, path=request.url.path)
        return respond(request, 409, title=_RACE_TITLE, message=_RACE_MESSAGE)
    return unexpected_exception_handler(request, exc)


def exception_handlers() -> ExceptionHandlersMap:
    """What ``Litestar(exception_handlers=...)`` takes."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    return {
        HTTPException: http_exception_handler,
        DBAPIError: database_error_handler,
        asyncpg.PostgresError: database_error_handler,
        asyncpg.InterfaceError: database_error_handler,
        ConnectionError: database_error_handler,
        Exception: unexpected_exception_handler,
    }
