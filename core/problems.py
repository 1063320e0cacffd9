"""RFC 9457 problem+json responses, with the human title in Japanese."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    request: Request | None = None,
    *,
    type_: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def refusal(request: Request, status: int, title: str, detail: str | None = None, *,
            errors: list[dict[str, Any]] | None = None, type_: str = "about:blank") -> Response:
    """A domain's refusal of one request, as problem+json with the request id.

    No ``instance``: the path names the object, and a refusal must not echo another tenant's id back.
    """
    response = problem(status, title, detail, type_=type_, errors=errors)
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id and isinstance(response.content, dict):
        response.content["request_id"] = request_id
    return response


def invalid_input(request: Request, errors: list[dict[str, Any]], malformed: bool) -> Response:
    """Field-level Japanese messages: 422, or 400 when the body itself could not be read."""
    return refusal(request, 400 if malformed else 422, "入力内容に誤りがあります", "項目ごとのメッセージを確認してください。",
                   errors=errors)
