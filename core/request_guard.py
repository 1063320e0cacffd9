"""What a request may carry before any handler sees it: size, field count, read time, and bytes that are text.

One ASGI middleware, after the request id and the security headers, refuses in Japanese and never lets the
request reach a handler (so nothing is stored) — problem+json for API clients, the app's error page for a browser
(``Accept: text/html`` or htmx) — when:

- the query string, the path, a form field or a JSON body holds bytes that are not UTF-8 (``%FF``, the overlong
  ``%C0%AF``, an encoded surrogate ``%ED%A0%80``): **400**;
- a query parameter holds a control character (``%00`` …), or a form field or JSON string holds NUL (PostgreSQL
  cannot store it; other controls in bodies are each field's rule, core.text_rules): **422** with the field named,
  in the shape of ``core.problems.invalid_input``;
- the body is larger than ``max_body_bytes`` (declared by Content-Length or found while reading): **413**;
- the body does not arrive within ``body_timeout`` seconds (a client that declares 5 MB and sends 13 bytes): **408**;
- a form (urlencoded or multipart) has more than ``max_fields`` fields: **413**.

The body is read here once, within those limits, and handed on unchanged. The header read timeout is the server's
(``core.server``): a middleware only runs once the headers are in.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import msgspec
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JSON_NUL = re.compile(rb"\\u0000")
_BOUNDARY = re.compile(r"boundary=\"?([^\";]+)\"?", re.I)
_PART_NAME = re.compile(rb"content-disposition:[^\r\n]*?;\s*name=\"([^\"]*)\"(;\s*filename=)?", re.I)


@dataclass(frozen=True)
class RequestLimits:
    """The limits, from settings (``KYOSEI_MAX_BODY_BYTES`` …; see core/settings.py)."""

    max_body_bytes: int = 1_000_000
    max_fields: int = 500
    body_timeout: float = 15.0


class Refused(Exception):
    def __init__(self, status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(title)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


def _control_in(fields: list[str]) -> Refused:
    """Controls in named fields: the fields' own 422, in the shape of ``core.problems.invalid_input``."""
    return Refused(422, "入力内容に誤りがあります", "項目ごとのメッセージを確認してください。", [
        {"field": name, "message": "使用できない文字（制御文字）が含まれています。取り除いてください。"} for name in fields])


NOT_TEXT = "文字として読めないバイト列（UTF-8ではないデータ）が含まれています。文字コードをUTF-8にして送り直してください。"


def _text_of(raw: bytes, where: str, field: str = "body") -> str:
    """``raw`` as UTF-8 text, or 400 naming ``field`` (``body``, ``query`` or ``path``) like an unreadable body."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        detail = f"{where}に{NOT_TEXT}"
        raise Refused(400, "送信内容を文字として読めません", detail, [{"field": field, "message": detail}]) from None


def _pairs(encoded: bytes, where: str, field: str = "body") -> list[tuple[str, str]]:
    """``a=1&b=2`` (query string or urlencoded form) as text pairs; 400 when a byte sequence is not UTF-8."""
    pairs = []
    for part in encoded.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            pairs.append(tuple(_text_of(unquote_to_bytes(p.replace(b"+", b" ")), where, field) for p in (name, value)))
    return pairs  # type: ignore[return-value]


def check_query(raw_query: bytes, raw_path: bytes | None) -> None:
    """Every parameter name and value of the query string, and the path, are UTF-8 text without controls."""
    bad = [name for name, value in _pairs(raw_query, "検索条件（URLのパラメータ）", "query") if _CONTROL.search(name + value)]
    if bad:
        raise _control_in(bad)
    if raw_path is not None:
        path = _text_of(unquote_to_bytes(raw_path), "URL", "path")
        if _CONTROL.search(path):
            detail = "URLに制御文字（NULなど）が含まれています。"
            raise Refused(400, "URLに使えない文字があります", detail, [{"field": "path", "message": detail}])


def _too_many_fields(limit: int) -> Refused:
    return Refused(413, "入力項目が多すぎます", f"一度に送れる項目は{limit:,}個までです。")


def _nul_fields(value: object, path: str = "") -> list[str]:
    """Names (``members[1].name``) of the strings in a decoded JSON value that hold NUL."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _nul_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _nul_fields(v, f"{path}[{i}]")]
    return []


def check_body(content_type: str, body: bytes, limits: RequestLimits) -> None:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        if body.count(b"&") >= limits.max_fields:
            raise _too_many_fields(limits.max_fields)
        if bad := [name for name, value in _pairs(body, "入力内容") if "\x00" in name + value]:
            raise _control_in(bad)
    elif kind == "multipart/form-data":
        match = _BOUNDARY.search(content_type)
        if not match:
            detail = "フォームの区切り（boundary）がありません。"
            raise Refused(400, "送信内容を読めません", detail, [{"field": "body", "message": detail}])
        parts = body.split(b"--" + match.group(1).encode("latin-1"))[1:-1]
        if len(parts) > limits.max_fields:
            raise _too_many_fields(limits.max_fields)
        bad = []
        for part in parts:
            head, _, value = part.partition(b"\r\n\r\n")
            name = _PART_NAME.search(head)
            if name is None or name.group(2):  # files are bytes; their own readers decide
                continue
            field, text = _text_of(name.group(1), "入力内容"), _text_of(value.removesuffix(b"\r\n"), "入力内容")
            bad += [field] if "\x00" in field + text else []
        if bad:
            raise _control_in(bad)
    elif kind == "application/json" or kind.endswith("+json"):
        _text_of(body, "JSON")
        if _JSON_NUL.search(body):
            try:
                bad = _nul_fields(msgspec.json.decode(body))
            except (msgspec.DecodeError, RecursionError):
                return  # not JSON at all: the handler's reader answers 400 for the body
            if bad:
                raise _control_in(bad)


async def _read_body(receive: Receive, limits: RequestLimits) -> tuple[bytes, list[Message]]:
    """The whole body within the size and time limits; the messages as received, to hand on."""
    deadline = time.monotonic() + limits.body_timeout
    messages: list[Message] = []
    size = 0
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        try:
            message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.001))
        except TimeoutError:
            raise Refused(408, "送信に時間がかかりすぎました",
                          f"{limits.body_timeout:g}秒以内に送信が終わりませんでした。通信環境を確かめて、もう一度送ってください。") from None
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise _too_large(limits)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _too_large(limits: RequestLimits) -> Refused:
    return Refused(413, "送信内容が大きすぎます",
                   f"一度に送れるのは{limits.max_body_bytes / 1_000_000:g}MBまでです。内容を分けて送ってください。")


async def _answer(send: Send, refused: Refused, request_id: str | None) -> None:
    body = {"type": "about:blank", "title": refused.title, "status": refused.status, "detail": refused.detail}
    if refused.errors:
        body["errors"] = refused.errors
    if request_id:
        body["request_id"] = request_id
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(payload)).encode())]
    if refused.status in (408, 413):
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def request_guard_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        limits: RequestLimits = scope["app"].state.request_limits
        request_id = scope.get("state", {}).get("request_id")
        headers = dict(scope.get("headers") or [])
        try:
            check_query(scope.get("query_string", b""), scope.get("raw_path"))
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
                raise _too_large(limits)
            if scope["method"] in ("GET", "HEAD", "OPTIONS") and declared in (None, b"0"):
                await app(scope, receive, send)
                return
            body, messages = await _read_body(receive, limits)
            check_body(headers.get(b"content-type", b"").decode("latin-1"), body, limits)
        except Refused as refused:
            accept = headers.get(b"accept", b"")
            if b"text/html" in accept or headers.get(b"hx-request"):
                # a browser: the app's error page (ui/errors.py) shows the same Japanese text
                messages = [e["message"] for e in refused.errors or [] if e["message"] != refused.detail]
                raise HTTPException(status_code=refused.status, detail=" ".join([refused.detail, *messages]),
                                    headers={"Connection": "close"} if refused.status in (408, 413) else None)
            await _answer(send, refused, request_id)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await app(scope, replay, send)

    return middleware
